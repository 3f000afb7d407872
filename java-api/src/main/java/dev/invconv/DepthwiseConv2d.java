package dev.invconv;

import java.lang.foreign.MemorySegment;

/**
 * Depthwise convolution: every input channel convolved with its own {@code multiplier} kernels
 * ({@code groups == channels}, {@code outChannels = channels · multiplier}). Builds a
 * {@link Conv2d}, which the native library runs with its depthwise kernel.
 *
 * <pre>{@code
 * Conv2d dw = DepthwiseConv2d.builder(32, 3).padding(Padding.SAME).build(weights, bias);
 * }</pre>
 */
public final class DepthwiseConv2d {

    private DepthwiseConv2d() {}

    public static Builder builder(long channels, long kernelSize) {
        return new Builder(channels, kernelSize, kernelSize);
    }

    public static Builder builder(long channels, long kernelH, long kernelW) {
        return new Builder(channels, kernelH, kernelW);
    }

    /** Collects the hyper-parameters; {@link #build} validates them and the weights. */
    public static final class Builder extends ConvOptions<Builder> {
        private final long channels;
        private final long kernelH;
        private final long kernelW;
        private long multiplier = 1;

        Builder(long channels, long kernelH, long kernelW) {
            this.channels = channels;
            this.kernelH = kernelH;
            this.kernelW = kernelW;
        }

        /** Output channels per input channel (TensorFlow's depth_multiplier); default 1. */
        public Builder multiplier(long multiplier) {
            this.multiplier = multiplier;
            return this;
        }

        /** The validated hyper-parameters, as a grouped convolution. */
        public Conv2dParams params() {
            if (multiplier < 1) {
                throw new IllegalArgumentException("depthwise_conv2d: multiplier=" + multiplier + " must be >= 1");
            }
            return new Conv2dParams(channels, Math.multiplyExact(channels, multiplier), kernelH, kernelW,
                    strideH, strideW, dilationH, dilationW, channels, padding, activation);
        }

        /**
         * @param weights {@code [channels · multiplier, 1, kernelH, kernelW]}, PyTorch order
         * @param bias    {@code [channels · multiplier]}, or null for none
         */
        public Conv2d build(float[] weights, float[] bias) {
            return Conv2d.create("depthwise_conv2d", params(), FloatData.of(weights), FloatData.of(bias));
        }

        public Conv2d build(MemorySegment weights, MemorySegment bias) {
            return Conv2d.create("depthwise_conv2d", params(), FloatData.of(weights), FloatData.of(bias));
        }
    }
}
