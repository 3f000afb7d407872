package dev.invconv;

import java.lang.foreign.Arena;
import java.util.Random;

/**
 * Test data for the native-operator tests: seeded random values (uniform or small integers,
 * STYLE §12), tensors built from arrays in logical NCHW order whatever their layout, and the
 * way back.
 *
 * <p>Data comes from a {@link Random} seeded per case, never from the thread count or the
 * order tests run in, so a failure message's seed reproduces it.
 */
public final class RandomTensors {

    private RandomTensors() {}

    /** {@code count} floats uniform in {@code [-amplitude, amplitude)}. */
    public static float[] uniform(Random random, long count, float amplitude) {
        float[] values = new float[Math.toIntExact(count)];
        for (int i = 0; i < values.length; i++) {
            values[i] = (random.nextFloat() * 2 - 1) * amplitude;
        }
        return values;
    }

    /** {@code count} floats uniform in {@code [low, high)}. */
    public static float[] between(Random random, long count, float low, float high) {
        float[] values = new float[Math.toIntExact(count)];
        for (int i = 0; i < values.length; i++) {
            values[i] = low + random.nextFloat() * (high - low);
        }
        return values;
    }

    /**
     * {@code count} integer-valued floats in {@code [-bound, bound]}: products and sums of a
     * few hundred of them are exact in float32, so an fp32 convolution over them is exact.
     */
    public static float[] integers(Random random, long count, int bound) {
        float[] values = new float[Math.toIntExact(count)];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextInt(2 * bound + 1) - bound;
        }
        return values;
    }

    /** A tensor of {@code arena} in {@code layout} holding {@code nchw} (given in logical NCHW order). */
    public static Tensor tensor(Arena arena, Shape shape, Layout layout, float[] nchw) {
        Tensor tensor = Tensor.of(arena, shape, nchw);
        return layout == Layout.NCHW ? tensor : tensor.toLayout(arena, layout);
    }

    /**
     * A tensor of {@code arena} whose every element is NaN, so that an output element the
     * operator forgets to write fails any comparison.
     */
    public static Tensor poisoned(Arena arena, Shape shape, Layout layout) {
        Tensor tensor = Tensor.allocate(arena, shape, layout);
        tensor.segment().fill((byte) 0xFF); // 0xFFFFFFFF is a NaN
        return tensor;
    }

    /** The elements of {@code tensor} in logical NCHW order. */
    public static float[] toNchw(Tensor tensor) {
        if (tensor.layout() == Layout.NCHW) {
            return tensor.toArray();
        }
        try (Arena arena = Arena.ofConfined()) {
            return tensor.toLayout(arena, Layout.NCHW).toArray();
        }
    }
}
