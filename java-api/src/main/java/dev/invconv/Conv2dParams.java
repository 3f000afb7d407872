package dev.invconv;

/**
 * The hyper-parameters of a 2-D convolution, field for field those of the C API's
 * {@code ic_conv2d_params_t} (SPEC §3.1):
 * <pre>
 * y[n,o,i,j] = act(bias[o] + Σ_{c ∈ group(o), kh, kw} w[o,c,kh,kw] · x[n, c, i·sh − pt + kh·dh, j·sw − pl + kw·dw])
 * </pre>
 * (cross-correlation; out-of-range {@code x} reads as 0). Weights are in PyTorch order
 * {@code [outChannels, inChannels / groups, kernelH, kernelW]}, bias {@code [outChannels]}.
 * Depthwise ({@code groups == inChannels}) and pointwise (1×1) convolutions are special cases.
 *
 * @param inChannels  input channels
 * @param outChannels output channels
 * @param kernelH     kernel height
 * @param kernelW     kernel width
 * @param strideH     vertical stride, >= 1
 * @param strideW     horizontal stride, >= 1
 * @param dilationH   vertical spacing of kernel taps; 1 means none
 * @param dilationW   horizontal spacing of kernel taps; 1 means none
 * @param groups      channel groups convolved separately; must divide both channel counts
 * @param padding     how the input is padded
 * @param activation  the activation applied to the output
 */
public record Conv2dParams(long inChannels, long outChannels, long kernelH, long kernelW,
                           long strideH, long strideW, long dilationH, long dilationW, long groups,
                           Padding padding, Activation activation) {

    private static final String OP = "conv2d";

    /**
     * Validates the parameters.
     *
     * @throws IllegalArgumentException naming the first invalid parameter and its value, e.g.
     *                                  "conv2d: groups=3 does not divide in_channels=8"
     * @throws NullPointerException     if padding or activation is null
     */
    public Conv2dParams {
        Checks.atLeast(OP, "in_channels", inChannels, 1);
        Checks.atLeast(OP, "out_channels", outChannels, 1);
        Checks.atLeast(OP, "kernel_h", kernelH, 1);
        Checks.atLeast(OP, "kernel_w", kernelW, 1);
        Checks.atLeast(OP, "stride_h", strideH, 1);
        Checks.atLeast(OP, "stride_w", strideW, 1);
        Checks.atLeast(OP, "dilation_h", dilationH, 1);
        Checks.atLeast(OP, "dilation_w", dilationW, 1);
        Checks.atLeast(OP, "groups", groups, 1);
        if (inChannels % groups != 0) {
            throw new IllegalArgumentException(OP + ": groups=" + groups + " does not divide in_channels=" + inChannels);
        }
        if (outChannels % groups != 0) {
            throw new IllegalArgumentException(OP + ": groups=" + groups + " does not divide out_channels=" + outChannels);
        }
        Checks.notNull(OP, "padding", padding);
        Checks.notNull(OP, "activation", activation);
        Checks.effectiveKernel(OP, "h", kernelH, dilationH);
        Checks.effectiveKernel(OP, "w", kernelW, dilationW);
        Checks.product(OP, "the weights", outChannels, inChannels / groups, kernelH, kernelW, Float.BYTES);
    }

    /**
     * The output shape for an input of shape {@code input}:
     * {@code out = floor((in + before + after − ((k − 1)·d + 1)) / s) + 1} per axis.
     *
     * @throws IllegalArgumentException if the input does not have {@code inChannels} channels, or
     *                                  is too small for the kernel (an output size below 1)
     */
    public Shape outputShape(Shape input) {
        Checks.inputChannels(OP, input, "in_channels", inChannels);
        return Checks.slidingOutput(OP, input, outChannels, kernelH, kernelW, strideH, strideW,
                dilationH, dilationW, padding);
    }

    /** The actual pads for an input of {@code inH × inW} (see {@link Padding#resolve}). */
    public Padding.Explicit pads(long inH, long inW) {
        return padding.resolve(inH, inW, kernelH, kernelW, strideH, strideW, dilationH, dilationW);
    }

    /** The weight shape in PyTorch order, {@code [outChannels, inChannels / groups, kernelH, kernelW]}. */
    public Shape weightShape() {
        return new Shape(outChannels, inChannels / groups, kernelH, kernelW);
    }

    /** Whether every input channel has its own kernels: {@code groups == inChannels}. */
    public boolean isDepthwise() {
        return groups == inChannels;
    }

    /**
     * Whether this is a 1×1 convolution with stride 1 and no padding: a matrix product over
     * (the channels of each group at) every pixel.
     */
    public boolean isPointwise() {
        // VALID, SAME and FULL all pad a 1×1 kernel with stride 1 by nothing.
        boolean unpadded = !(padding instanceof Padding.Explicit pads) || pads.equals(Padding.explicit(0, 0, 0, 0));
        return kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && unpadded;
    }

    /**
     * The output channels per input channel of a depthwise convolution,
     * {@code outChannels / inChannels}.
     *
     * @throws IllegalStateException if the convolution is not depthwise
     */
    public long depthMultiplier() {
        if (!isDepthwise()) {
            throw new IllegalStateException(OP + ": not depthwise (groups=" + groups + ", in_channels="
                    + inChannels + "), so it has no depth multiplier");
        }
        return outChannels / inChannels;
    }
}
