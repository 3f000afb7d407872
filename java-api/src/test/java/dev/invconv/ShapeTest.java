package dev.invconv;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShapeTest {

    @Test
    void describesItselfLikePyTorch() {
        Shape shape = Shape.nchw(1, 64, 56, 56);
        assertEquals("[1, 64, 56, 56]", shape.toString());
        assertEquals(1L * 64 * 56 * 56, shape.elementCount());
        assertEquals(4L * 64 * 56 * 56, shape.byteSize());
        assertEquals(new Shape(1, 64, 56, 56), shape);
        assertArrayEquals(new long[] {1, 64, 56, 56}, shape.toArray());
        assertEquals(shape, Shape.of(1, 64, 56, 56));
    }

    @ParameterizedTest
    @CsvSource({
        "0, 1, 1, 1, 'shape: n=0 must be >= 1'",
        "1, 0, 1, 1, 'shape: c=0 must be >= 1'",
        "1, 1, -3, 1, 'shape: h=-3 must be >= 1'",
        "1, 1, 1, 0, 'shape: w=0 must be >= 1'",
    })
    void rejectsDimensionsBelowOne(long n, long c, long h, long w, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Shape.nchw(n, c, h, w));
        assertEquals(message, e.getMessage());
    }

    @Test
    void rejectsByteSizeOverflow() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Shape.nchw(1 << 20, 1 << 20, 1 << 20, 2));
        assertTrue(e.getMessage().contains("[1048576, 1048576, 1048576, 2]"), e.getMessage());
        assertTrue(e.getMessage().contains("overflows"), e.getMessage());
        // The largest element count whose byte size still fits is accepted.
        assertEquals(Long.MAX_VALUE / 4, Shape.nchw(Long.MAX_VALUE / 4, 1, 1, 1).elementCount());
    }

    @Test
    void ofNeedsFourDimensions() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Shape.of(1, 2, 3));
        assertEquals("shape: expected 4 dimensions N, C, H, W but got 3: [1, 2, 3]", e.getMessage());
    }
}
