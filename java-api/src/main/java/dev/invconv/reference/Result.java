package dev.invconv.reference;

import dev.invconv.Layout;
import dev.invconv.Shape;
import dev.invconv.Tensor;

import java.lang.foreign.Arena;
import java.util.Objects;

/**
 * The float64 output of a reference operator.
 *
 * @param shape     the output shape
 * @param values    the outputs, in logical NCHW order whatever the input layout (not copied)
 * @param magnitude for each output, the sum of the absolute values of the products and
 *                  addends behind it (SPEC §3), which scales the tolerance of a float32
 *                  implementation; same order (not copied)
 */
public record Result(Shape shape, double[] values, double[] magnitude) {

    /**
     * Checks that the arrays match the shape.
     *
     * @throws IllegalArgumentException if an array length differs from the element count
     */
    public Result {
        Objects.requireNonNull(shape, "shape");
        if (values.length != shape.elementCount() || magnitude.length != shape.elementCount()) {
            throw new IllegalArgumentException("result " + shape + ": " + values.length + " values and "
                    + magnitude.length + " magnitudes for " + shape.elementCount() + " elements");
        }
    }

    /** The outputs rounded to float32, in logical NCHW order. */
    public float[] toFloatArray() {
        float[] rounded = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            rounded[i] = (float) values[i];
        }
        return rounded;
    }

    /** The outputs rounded to float32 in a new tensor of {@code arena} with the given layout. */
    public Tensor toTensor(Arena arena, Layout layout) {
        Tensor out = Tensor.allocate(arena, shape, layout);
        writeTo(out);
        return out;
    }

    /**
     * Writes the outputs, rounded to float32, into {@code out} (any layout).
     *
     * @throws IllegalArgumentException if {@code out} has another shape
     */
    public void writeTo(Tensor out) {
        if (!out.shape().equals(shape)) {
            throw new IllegalArgumentException("result " + shape + " does not fit tensor " + out.shape());
        }
        Nchw.write(out, toFloatArray());
    }
}
