package dev.invconv.reference;

import dev.invconv.Layout;
import dev.invconv.Shape;
import dev.invconv.Tensor;

import java.lang.foreign.Arena;

/**
 * Moves tensors in and out of Java arrays in logical NCHW order, whatever their layout: the
 * reference operators index plain arrays, which keeps their loops readable.
 */
final class Nchw {

    private Nchw() {}

    /** The elements of {@code tensor} as doubles, in NCHW order. */
    static double[] read(Tensor tensor) {
        float[] values = floats(tensor);
        double[] widened = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            widened[i] = values[i];
        }
        return widened;
    }

    /** Writes {@code values}, in NCHW order, into {@code tensor}. */
    static void write(Tensor tensor, float[] values) {
        if (tensor.layout() == Layout.NCHW) {
            tensor.copyFrom(values);
            return;
        }
        try (Arena arena = Arena.ofConfined()) {
            Tensor nchw = Tensor.of(arena, tensor.shape(), values);
            Tensor converted = nchw.toLayout(arena, tensor.layout());
            tensor.segment().copyFrom(converted.segment());
        }
    }

    /** The element count of {@code shape} as an array length. */
    static int length(String op, Shape shape) {
        if (shape.elementCount() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(op + ": shape " + shape
                    + " is too large for the reference implementation, which uses Java arrays");
        }
        return (int) shape.elementCount();
    }

    /** @throws IllegalArgumentException if {@code values} does not have {@code expected} elements */
    static void requireLength(String op, String name, float[] values, long expected, Object shape) {
        if (values.length != expected) {
            throw new IllegalArgumentException(op + ": " + name + " has " + values.length + " elements but "
                    + shape + " needs " + expected);
        }
    }

    private static float[] floats(Tensor tensor) {
        tensor.checkAlive();
        length("reference", tensor.shape());
        if (tensor.layout() == Layout.NCHW) {
            return tensor.toArray();
        }
        try (Arena arena = Arena.ofConfined()) {
            return tensor.toLayout(arena, Layout.NCHW).toArray();
        }
    }
}
