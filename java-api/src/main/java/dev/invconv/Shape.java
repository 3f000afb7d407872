package dev.invconv;

import java.util.Arrays;

/**
 * The logical shape {@code N, C, H, W} of a 4-D tensor (batch, channels, height, width),
 * whatever its {@link Layout}. Every dimension is at least 1 and the float32 byte size of the
 * whole tensor fits in a {@code long}, so {@link #elementCount()} and {@link #byteSize()}
 * never overflow.
 *
 * @param n batch size
 * @param c channels
 * @param h height
 * @param w width
 */
public record Shape(long n, long c, long h, long w) {

    /** @throws IllegalArgumentException naming the dimension that is below 1, or on overflow */
    public Shape {
        requirePositive("n", n);
        requirePositive("c", c);
        requirePositive("h", h);
        requirePositive("w", w);
        try {
            Math.multiplyExact(Math.multiplyExact(Math.multiplyExact(Math.multiplyExact(n, c), h), w),
                    (long) Float.BYTES);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("shape " + format(n, c, h, w)
                    + ": the float32 byte size overflows a 64-bit long", e);
        }
    }

    /** The shape with logical dimensions {@code N, C, H, W} (in any layout). */
    public static Shape nchw(long n, long c, long h, long w) {
        return new Shape(n, c, h, w);
    }

    /**
     * The shape of four dimensions in {@code N, C, H, W} order, such as a safetensors shape.
     *
     * @throws IllegalArgumentException if {@code dims} does not have exactly four elements
     */
    public static Shape of(long... dims) {
        if (dims.length != 4) {
            throw new IllegalArgumentException("shape: expected 4 dimensions N, C, H, W but got "
                    + dims.length + ": " + Arrays.toString(dims));
        }
        return new Shape(dims[0], dims[1], dims[2], dims[3]);
    }

    /** The dimensions as {@code {n, c, h, w}}. */
    public long[] toArray() {
        return new long[] {n, c, h, w};
    }

    /** The number of elements, {@code n·c·h·w}. */
    public long elementCount() {
        return n * c * h * w;
    }

    /** The size in bytes of a dense float32 tensor of this shape. */
    public long byteSize() {
        return elementCount() * Float.BYTES;
    }

    /** {@code [n, c, h, w]}, e.g. {@code [1, 64, 56, 56]}. */
    @Override
    public String toString() {
        return format(n, c, h, w);
    }

    private static void requirePositive(String name, long value) {
        if (value < 1) {
            throw new IllegalArgumentException("shape: " + name + "=" + value + " must be >= 1");
        }
    }

    private static String format(long n, long c, long h, long w) {
        return "[" + n + ", " + c + ", " + h + ", " + w + "]";
    }
}
