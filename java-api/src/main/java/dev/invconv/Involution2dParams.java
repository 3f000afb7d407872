package dev.invconv;

/**
 * The hyper-parameters of the full involution module of the official code (kernel generation
 * and aggregation), field for field those of the C API's {@code ic_involution2d_params_t}
 * (SPEC §3.2):
 * <pre>
 * X' = stride > 1 ? AvgPool(stride, stride)(X) : X
 * T  = ReLU(BN(W0 * X'))     W0: [channels / reductionRatio, channels, 1, 1], no bias
 * Wk = W1 * T + b1           W1: [K·K·G, channels / reductionRatio, 1, 1], b1: [K·K·G]
 * Y  = aggregate(X, Wk)      see {@link InvolutionParams}
 * </pre>
 * BN is in inference form with {@code bnEpsilon}. For {@code stride > 1} the input height and
 * width must be multiples of the stride, so that the pooled size equals the output size.
 *
 * @param channels       input and output channels
 * @param kernelSize     {@code K}, odd
 * @param stride         stride of the aggregation and of the average pooling
 * @param dilation       spacing of kernel taps; 1 in the official code
 * @param groupChannels  channels sharing one kernel; official default 16
 * @param reductionRatio channel reduction of the kernel generator; official default 4
 * @param bnEpsilon      the BatchNorm epsilon; PyTorch default 1e-5
 */
public record Involution2dParams(long channels, long kernelSize, long stride, long dilation,
                                 long groupChannels, long reductionRatio, double bnEpsilon) {

    private static final String OP = "involution2d";

    /** The official defaults: dilation 1, 16 channels per group, reduction 4, BN epsilon 1e-5. */
    public static Involution2dParams of(long channels, long kernelSize, long stride) {
        return new Involution2dParams(channels, kernelSize, stride, 1, 16, 4, 1e-5);
    }

    /**
     * Validates the parameters.
     *
     * @throws IllegalArgumentException naming the first invalid parameter, e.g.
     *                                  "involution2d: channels=24 is not a multiple of group_channels=16"
     */
    public Involution2dParams {
        Checks.involution(OP, channels, kernelSize, stride, dilation, groupChannels);
        Checks.atLeast(OP, "reduction_ratio", reductionRatio, 1);
        if (channels / reductionRatio < 1) {
            throw new IllegalArgumentException(OP + ": channels=" + channels + " / reduction_ratio="
                    + reductionRatio + " leaves no reduced channels");
        }
        if (!(bnEpsilon >= 0) || Double.isInfinite(bnEpsilon)) {
            throw new IllegalArgumentException(OP + ": bn_epsilon=" + bnEpsilon + " must be finite and >= 0");
        }
        Checks.product(OP, "the span weights", kernelSize, kernelSize, channels / groupChannels,
                channels / reductionRatio, Float.BYTES);
        Checks.product(OP, "the reduce weights", channels / reductionRatio, channels, Float.BYTES);
    }

    /** The aggregation part, with the kernels this module generates. */
    public InvolutionParams aggregation() {
        return new InvolutionParams(channels, kernelSize, stride, dilation, groupChannels);
    }

    /** The number of kernel groups {@code G = channels / groupChannels}. */
    public long groups() {
        return channels / groupChannels;
    }

    /** The channels of the kernel generator, {@code channels / reductionRatio} (floor, as the official code). */
    public long reducedChannels() {
        return channels / reductionRatio;
    }

    /** The generated kernel channels, {@code K·K·G}. */
    public long spanChannels() {
        return kernelSize * kernelSize * groups();
    }

    /** The shape of {@code conv1.conv.weight}, {@code [channels / reductionRatio, channels, 1, 1]}. */
    public Shape reduceWeightShape() {
        return new Shape(reducedChannels(), channels, 1, 1);
    }

    /** The shape of {@code conv2.conv.weight}, {@code [K·K·G, channels / reductionRatio, 1, 1]}. */
    public Shape spanWeightShape() {
        return new Shape(spanChannels(), reducedChannels(), 1, 1);
    }

    /**
     * The output shape for an input of shape {@code input}: as the aggregation's,
     * {@code floor((in − 1) / stride) + 1}.
     *
     * @throws IllegalArgumentException if the input does not have {@code channels} channels, or for
     *                                  {@code stride > 1} its height or width is not a multiple of
     *                                  the stride
     */
    public Shape outputShape(Shape input) {
        Checks.inputChannels(OP, input, "channels", channels);
        requireMultipleOfStride("in_h", input.h());
        requireMultipleOfStride("in_w", input.w());
        return aggregation().outputShape(input);
    }

    /**
     * The official code pools with floor and aggregates with ceil; where they differ it would
     * silently misalign kernels and pixels, so we refuse.
     */
    private void requireMultipleOfStride(String name, long size) {
        if (stride > 1 && size % stride != 0) {
            throw new IllegalArgumentException(OP + ": " + name + "=" + size + " is not a multiple of stride="
                    + stride + " (the pooled size " + size / stride + " would differ from the output size "
                    + ((size - 1) / stride + 1) + ")");
        }
    }
}
