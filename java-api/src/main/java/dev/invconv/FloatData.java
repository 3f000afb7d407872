package dev.invconv;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Float32 parameter data handed to an operator's build: a Java array or a segment (such as a
 * memory-mapped safetensors slice, passed to native code without a copy).
 */
sealed interface FloatData {

    /** The number of floats. */
    long count();

    /** Native memory holding the floats: the segment itself if off-heap, else a copy in {@code arena}. */
    MemorySegment toNative(Arena arena);

    static FloatData of(float[] values) {
        return values == null ? null : new Array(values);
    }

    static FloatData of(MemorySegment values) {
        return values == null ? null : new Segment(values);
    }

    /** Native memory of nullable data, NULL when absent. */
    static MemorySegment toNative(Arena arena, FloatData data) {
        return data == null ? MemorySegment.NULL : data.toNative(arena);
    }

    /**
     * Checks that {@code data} holds the {@code shape}'s number of floats; absent data is an error
     * unless {@code optional}.
     */
    static void require(String op, String role, FloatData data, long expected, String shape, boolean optional) {
        if (data == null) {
            if (optional) {
                return;
            }
            throw new NullPointerException(op + ": " + role + " is null");
        }
        if (data.count() != expected) {
            throw new IllegalArgumentException(op + ": " + role + " has " + data.count()
                    + " elements but " + shape + " needs " + expected);
        }
    }

    record Array(float[] values) implements FloatData {
        @Override
        public long count() {
            return values.length;
        }

        @Override
        public MemorySegment toNative(Arena arena) {
            return arena.allocateFrom(ValueLayout.JAVA_FLOAT, values);
        }
    }

    record Segment(MemorySegment values) implements FloatData {
        public Segment {
            if (values.byteSize() % Float.BYTES != 0) {
                throw new IllegalArgumentException("a float32 segment of " + values.byteSize()
                        + " bytes is not a whole number of floats");
            }
        }

        @Override
        public long count() {
            return values.byteSize() / Float.BYTES;
        }

        @Override
        public MemorySegment toNative(Arena arena) {
            if (values.isNative()) {
                return values;
            }
            MemorySegment copy = arena.allocate(values.byteSize(), 64);
            copy.copyFrom(values);
            return copy;
        }
    }
}
