package dev.invconv.conformance;

import dev.invconv.Layout;
import dev.invconv.Shape;
import dev.invconv.Tensor;
import dev.invconv.reference.Tolerance;

import java.lang.foreign.Arena;
import java.util.Map;

/**
 * What every test vector holds besides its operator's parameters: the input, the float64
 * expected output and, for operators (not modules), the magnitude behind each output.
 * Arrays are in logical NCHW order and are not copied.
 *
 * @param name        the vector's file name without {@code .safetensors}
 * @param metadata    the file's {@code __metadata__}
 * @param inputShape  the input's shape
 * @param input       the input (F32)
 * @param outputShape the output's shape
 * @param expected    the expected output (F64)
 * @param magnitude   the magnitudes (F64), or null for module cases
 */
public record CaseData(String name, Map<String, String> metadata, Shape inputShape, float[] input,
                       Shape outputShape, double[] expected, double[] magnitude) {

    /** The input as a new tensor of {@code arena} in the given layout. */
    public Tensor input(Arena arena, Layout layout) {
        Tensor nchw = Tensor.of(arena, inputShape, input);
        return layout == Layout.NCHW ? nchw : nchw.toLayout(arena, layout);
    }

    /**
     * Compares float32 outputs (logical NCHW order) with the expected ones, by the operator
     * rule when the vector has magnitudes, else by the module rule (SPEC §8).
     */
    public Tolerance.Report check(float[] actual) {
        return magnitude == null ? Tolerance.checkModule(actual, expected) : Tolerance.check(actual, expected, magnitude);
    }

    /** As {@link #check(float[])}, for float64 outputs such as the plain-Java reference's. */
    public Tolerance.Report check(double[] actual) {
        return magnitude == null ? Tolerance.checkModule(actual, expected) : Tolerance.check(actual, expected, magnitude);
    }
}
