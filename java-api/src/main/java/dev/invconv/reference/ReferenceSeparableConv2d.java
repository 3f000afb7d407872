package dev.invconv.reference;

import dev.invconv.SeparableConv2dParams;
import dev.invconv.Tensor;

import java.util.Objects;

/**
 * Plain-Java float64 depthwise-separable convolution: {@link ReferenceConv2d} with the
 * depthwise params, then with the pointwise params.
 *
 * <p>The intermediate depthwise result stays in double, unrounded: the reference is the exact
 * composition, and a float32 implementation's rounding of the intermediate is covered by the
 * magnitude. That magnitude propagates through both parts, as in the test vectors: a pointwise
 * output's is {@code Σ_c |w_pw[o,c]| · m_dw[c] + |b_pw[o]|}, where {@code m_dw} is the depthwise
 * output's magnitude ({@code Σ |w_dw·x| + |b_dw|}); it is the sum of the absolute values of all
 * the products {@code w_pw·w_dw·x} and biases behind the output.
 */
public final class ReferenceSeparableConv2d {

    private ReferenceSeparableConv2d() {}

    /**
     * Runs the separable convolution.
     *
     * @param input     any layout
     * @param dwWeights {@code [inChannels · depthMultiplier, 1, kernelH, kernelW]}
     * @param dwBias    {@code [inChannels · depthMultiplier]}, or null
     * @param pwWeights {@code [outChannels, inChannels · depthMultiplier, 1, 1]}
     * @param pwBias    {@code [outChannels]}, or null
     * @throws IllegalArgumentException if a shape or array length does not match the params
     */
    public static Result run(SeparableConv2dParams params, Tensor input, float[] dwWeights, float[] dwBias,
                             float[] pwWeights, float[] pwBias) {
        Objects.requireNonNull(params, "params");
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(dwWeights, "dwWeights");
        Objects.requireNonNull(pwWeights, "pwWeights");
        params.outputShape(input.shape()); // reports a bad input under this operator's name
        Result depthwise = ReferenceConv2d.conv2d(params.depthwise(), input.shape(), Nchw.read(input), null,
                dwWeights, dwBias, null);
        return ReferenceConv2d.conv2d(params.pointwise(), depthwise.shape(), depthwise.values(),
                depthwise.magnitude(), pwWeights, pwBias, null);
    }
}
