package dev.invconv;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@link Invconv#allocateActivations}: the native memory a network keeps its activations in. */
class ActivationMemoryTest {

    private static final long MB = 1 << 20;

    @ParameterizedTest
    @ValueSource(longs = {1, 63, 4096, MB - 1, MB, 3 * MB + 5})
    void zeroedAlignedAndUsableToTheLastByte(long bytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = Invconv.allocateActivations(arena, bytes);
            assertEquals(bytes, memory.byteSize());
            assertEquals(0, memory.address() % Tensor.ALIGNMENT, "64-byte aligned");
            assertEquals(-1, memory.mismatch(MemorySegment.ofArray(new byte[(int) bytes])), "zeroed");
            memory.set(ValueLayout.JAVA_BYTE, bytes - 1, (byte) 7);
            assertEquals(7, memory.get(ValueLayout.JAVA_BYTE, bytes - 1));
        }
    }

    @Test
    void freedWithItsArena() {
        MemorySegment memory;
        try (Arena arena = Arena.ofConfined()) {
            memory = Invconv.allocateActivations(arena, 2 * MB);
            memory.set(ValueLayout.JAVA_FLOAT, 0, 1f);
        }
        assertThrows(IllegalStateException.class, () -> memory.get(ValueLayout.JAVA_FLOAT, 0));
    }

    @Test
    void badRequestsAreClearErrors() {
        try (Arena arena = Arena.ofConfined()) {
            IllegalArgumentException zero =
                    assertThrows(IllegalArgumentException.class, () -> Invconv.allocateActivations(arena, 0));
            assertTrue(zero.getMessage().contains("bytes=0"), zero.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Invconv.allocateActivations(arena, -8));
            OutOfMemoryError huge =
                    assertThrows(OutOfMemoryError.class, () -> Invconv.allocateActivations(arena, Long.MAX_VALUE));
            assertTrue(huge.getMessage().contains("out of memory"), huge.getMessage());
        }
        Arena closed = Arena.ofConfined();
        closed.close();
        assertThrows(IllegalStateException.class, () -> Invconv.allocateActivations(closed, 64));
        assertThrows(NullPointerException.class, () -> Invconv.allocateActivations(null, 64));
    }

    /**
     * Where the kernel offers transparent huge pages, a large buffer lies in them, also after the
     * JVM wrote and freed native memory of its own (a 2 MB aligned block from malloc, advised,
     * then got none here: malloc handed back memory already in 4 KB pages).
     */
    @Test
    void largeBuffersLieInHugePages() throws IOException {
        Path mode = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");
        assumeTrue(Files.isReadable(mode) && !Files.readString(mode).contains("[never]"),
                "this kernel offers no transparent huge pages");
        for (long size : new long[] {16 * MB, 12 * MB, 8 * MB, 24 * MB}) {
            try (Arena churn = Arena.ofConfined()) {
                churn.allocate(size).fill((byte) 1); // the JDK's arenas take it from malloc
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = Invconv.allocateActivations(arena, 6 * MB);
            long kb = hugePagesKbAt(memory.address() + 3 * MB);
            assertTrue(kb >= 4096, "a 6 MB buffer lies in " + kb + " kB of huge pages (at least 4096 expected)");
        }
    }

    /** AnonHugePages (kB) of the mapping that holds {@code address}, from /proc/self/smaps; -1 if none. */
    private static long hugePagesKbAt(long address) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc/self/smaps"));
        boolean inside = false;
        for (String line : lines) {
            int dash = line.indexOf('-');
            int space = line.indexOf(' ');
            if (dash > 0 && space > dash && line.substring(0, dash).matches("[0-9a-f]+")) {
                long lo = Long.parseUnsignedLong(line.substring(0, dash), 16);
                long hi = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
                inside = Long.compareUnsigned(address, lo) >= 0 && Long.compareUnsigned(address, hi) < 0;
            } else if (inside && line.startsWith("AnonHugePages:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }
}
