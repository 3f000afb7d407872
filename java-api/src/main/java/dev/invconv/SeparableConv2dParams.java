package dev.invconv;

/**
 * The hyper-parameters of a depthwise-separable convolution, field for field those of the
 * C API's {@code ic_separable_conv2d_params_t}: a depthwise convolution
 * ({@code groups = inChannels}, {@code inChannels · depthMultiplier} outputs, its own bias and
 * {@code depthwiseActivation}) followed by a pointwise 1×1 convolution to {@code outChannels}
 * (its own bias and {@code activation}). Stride, dilation and padding belong to the depthwise
 * part; see {@link #depthwise()} and {@link #pointwise()}.
 *
 * @param inChannels          input channels
 * @param depthMultiplier     depthwise outputs per input channel
 * @param outChannels         output channels of the pointwise part
 * @param kernelH             depthwise kernel height
 * @param kernelW             depthwise kernel width
 * @param strideH             vertical stride of the depthwise part
 * @param strideW             horizontal stride of the depthwise part
 * @param dilationH           vertical dilation of the depthwise part; 1 means none
 * @param dilationW           horizontal dilation of the depthwise part; 1 means none
 * @param padding             padding of the depthwise part
 * @param depthwiseActivation activation after the depthwise part
 * @param activation          activation after the pointwise part
 */
public record SeparableConv2dParams(long inChannels, long depthMultiplier, long outChannels,
                                    long kernelH, long kernelW, long strideH, long strideW,
                                    long dilationH, long dilationW, Padding padding,
                                    Activation depthwiseActivation, Activation activation) {

    private static final String OP = "separable_conv2d";

    /**
     * Validates the parameters.
     *
     * @throws IllegalArgumentException naming the first invalid parameter and its value
     * @throws NullPointerException     if padding or an activation is null
     */
    public SeparableConv2dParams {
        Checks.atLeast(OP, "in_channels", inChannels, 1);
        Checks.atLeast(OP, "depth_multiplier", depthMultiplier, 1);
        Checks.atLeast(OP, "out_channels", outChannels, 1);
        Checks.atLeast(OP, "kernel_h", kernelH, 1);
        Checks.atLeast(OP, "kernel_w", kernelW, 1);
        Checks.atLeast(OP, "stride_h", strideH, 1);
        Checks.atLeast(OP, "stride_w", strideW, 1);
        Checks.atLeast(OP, "dilation_h", dilationH, 1);
        Checks.atLeast(OP, "dilation_w", dilationW, 1);
        Checks.notNull(OP, "padding", padding);
        Checks.notNull(OP, "depthwise_activation", depthwiseActivation);
        Checks.notNull(OP, "activation", activation);
        Checks.effectiveKernel(OP, "h", kernelH, dilationH);
        Checks.effectiveKernel(OP, "w", kernelW, dilationW);
        long middle = Checks.product(OP, "the depthwise output channels", inChannels, depthMultiplier);
        Checks.product(OP, "the depthwise weights", middle, kernelH, kernelW, Float.BYTES);
        Checks.product(OP, "the pointwise weights", outChannels, middle, Float.BYTES);
    }

    /** The depthwise output channels, {@code inChannels · depthMultiplier}. */
    public long depthwiseChannels() {
        return inChannels * depthMultiplier;
    }

    /** The depthwise part: weights {@code [inChannels · depthMultiplier, 1, kernelH, kernelW]}. */
    public Conv2dParams depthwise() {
        return new Conv2dParams(inChannels, depthwiseChannels(), kernelH, kernelW, strideH, strideW,
                dilationH, dilationW, inChannels, padding, depthwiseActivation);
    }

    /** The pointwise part: weights {@code [outChannels, inChannels · depthMultiplier, 1, 1]}. */
    public Conv2dParams pointwise() {
        return new Conv2dParams(depthwiseChannels(), outChannels, 1, 1, 1, 1, 1, 1, 1,
                Padding.VALID, activation);
    }

    /**
     * The output shape for an input of shape {@code input}: the depthwise part's spatial size,
     * {@code outChannels} channels.
     *
     * @throws IllegalArgumentException if the input does not have {@code inChannels} channels or
     *                                  is too small for the kernel
     */
    public Shape outputShape(Shape input) {
        Checks.inputChannels(OP, input, "in_channels", inChannels);
        return Checks.slidingOutput(OP, input, outChannels, kernelH, kernelW, strideH, strideW,
                dilationH, dilationW, padding);
    }
}
