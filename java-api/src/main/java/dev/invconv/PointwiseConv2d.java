package dev.invconv;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Pointwise (1×1, stride 1, no padding) convolution: a matrix product over channels at every
 * pixel. Builds a {@link Conv2d}, which the native library runs with its pointwise kernel.
 *
 * <pre>{@code
 * Conv2d pw = PointwiseConv2d.builder(256, 64).relu().build(weights, bias);
 * }</pre>
 */
public final class PointwiseConv2d {

    private PointwiseConv2d() {}

    public static Builder builder(long inChannels, long outChannels) {
        return new Builder(inChannels, outChannels);
    }

    /** Collects the hyper-parameters; {@link #build} validates them and the weights. */
    public static final class Builder {
        private final long inChannels;
        private final long outChannels;
        private long groups = 1;
        private Activation activation = Activation.NONE;

        Builder(long inChannels, long outChannels) {
            this.inChannels = inChannels;
            this.outChannels = outChannels;
        }

        public Builder groups(long groups) {
            this.groups = groups;
            return this;
        }

        public Builder activation(Activation activation) {
            this.activation = Objects.requireNonNull(activation, "activation");
            return this;
        }

        public Builder relu() {
            return activation(Activation.RELU);
        }

        /** The validated hyper-parameters. */
        public Conv2dParams params() {
            return new Conv2dParams(inChannels, outChannels, 1, 1, 1, 1, 1, 1, groups, Padding.VALID, activation);
        }

        /**
         * @param weights {@code [outChannels, inChannels / groups, 1, 1]}, PyTorch order
         * @param bias    {@code [outChannels]}, or null for none
         */
        public Conv2d build(float[] weights, float[] bias) {
            return Conv2d.create("pointwise_conv2d", params(), FloatData.of(weights), FloatData.of(bias));
        }

        public Conv2d build(MemorySegment weights, MemorySegment bias) {
            return Conv2d.create("pointwise_conv2d", params(), FloatData.of(weights), FloatData.of(bias));
        }
    }
}
