package dev.invconv;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PaddingTest {

    @Test
    void nativeModesMatchTheCApi() {
        assertEquals(0, Padding.VALID.nativeMode());
        assertEquals(1, Padding.SAME.nativeMode());
        assertEquals(2, Padding.FULL.nativeMode());
        assertEquals(3, Padding.explicit(1, 2, 3, 4).nativeMode());
    }

    @Test
    void sameWithAnEvenKernelAndStrideTwoPadsAfter() {
        // SPEC §3.1: input 9x8, k=4, s=2 → pads top 1, left 1, bottom 2, right 1 and output 5x4.
        assertEquals(Padding.explicit(1, 1, 2, 1), Padding.SAME.resolve(9, 8, 4, 4, 2, 2, 1, 1));
        Conv2dParams conv = new Conv2dParams(4, 5, 4, 4, 2, 2, 1, 1, 1, Padding.SAME, Activation.NONE);
        assertEquals(Shape.nchw(1, 5, 5, 4), conv.outputShape(Shape.nchw(1, 4, 9, 8)));
    }

    @ParameterizedTest(name = "{0} in={1} k={2} s={3} d={4} → {5},{6}")
    @CsvSource({
        // mode, in, kernel, stride, dilation, before, after
        "SAME, 3, 3, 1, 1, 1, 1",   // odd kernels are centred
        "SAME, 3, 2, 1, 1, 0, 1",   // an even kernel's extra padding goes after (seed_same_3x3_k2)
        "SAME, 56, 7, 2, 1, 2, 3",
        "SAME, 6, 1, 4, 1, 0, 0",   // (out−1)·s + eff − in < 0 clamps to 0
        "SAME, 10, 3, 1, 2, 2, 2",  // dilation widens the kernel to 5
        "FULL, 5, 7, 1, 1, 6, 6",
        "FULL, 5, 3, 2, 2, 4, 4",
        "VALID, 5, 3, 2, 2, 0, 0",
    })
    void resolvesPerAxis(String mode, long in, long kernel, long stride, long dilation, long before, long after) {
        Padding padding = switch (mode) {
            case "SAME" -> Padding.SAME;
            case "FULL" -> Padding.FULL;
            default -> Padding.VALID;
        };
        Padding.Explicit vertical = padding.resolve(in, 1, kernel, 1, stride, 1, dilation, 1);
        assertEquals(before, vertical.top());
        assertEquals(after, vertical.bottom());
        Padding.Explicit horizontal = padding.resolve(1, in, 1, kernel, 1, stride, 1, dilation);
        assertEquals(before, horizontal.left());
        assertEquals(after, horizontal.right());
    }

    /** SAME's defining property over a grid of geometries: out = ceil(in / s), after − before ∈ {0, 1}. */
    @Test
    void sameGivesCeilOfInputOverStride() {
        for (long in = 1; in <= 20; in++) {
            for (long k = 1; k <= 7; k++) {
                for (long s = 1; s <= 4; s++) {
                    for (long d = 1; d <= 3; d++) {
                        Padding.Explicit pads = Padding.SAME.resolve(in, in, k, k, s, s, d, d);
                        long difference = pads.bottom() - pads.top();
                        assertTrue(difference == 0 || difference == 1, pads.toString());
                        Conv2dParams conv = new Conv2dParams(1, 1, k, k, s, s, d, d, 1, Padding.SAME, Activation.NONE);
                        long out = conv.outputShape(Shape.nchw(1, 1, in, in)).h();
                        assertEquals((in + s - 1) / s, out, "in=" + in + " k=" + k + " s=" + s + " d=" + d);
                    }
                }
            }
        }
    }

    @Test
    void explicitPadsAreTakenAsGiven() {
        Padding.Explicit pads = Padding.explicit(2, 0, 1, 3);
        assertSame(pads, pads.resolve(17, 14, 5, 3, 2, 1, 1, 2));
        assertEquals(2, pads.top());
        assertEquals(0, pads.left());
        assertEquals(1, pads.bottom());
        assertEquals(3, pads.right());
    }

    @Test
    void rejectsNegativePads() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Padding.explicit(-1, 0, 0, 0));
        assertEquals("padding: pad_top=-1 must be >= 0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Padding.explicit(0, 0, 0, -2));
        assertEquals("padding: pad_right=-2 must be >= 0", e.getMessage());
    }

    @Test
    void resolveChecksTheGeometry() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Padding.SAME.resolve(9, 8, 3, 3, 0, 1, 1, 1));
        assertEquals("padding: stride_h=0 must be >= 1", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Padding.explicit(0, 0, 0, 0).resolve(9, 8, 3, 0, 1, 1, 1, 1));
        assertEquals("padding: kernel_w=0 must be >= 1", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Padding.FULL.resolve(9, 8, 3, 3, 1, 1, Long.MAX_VALUE, 1));
        assertTrue(e.getMessage().contains("overflows"), e.getMessage());
    }
}
