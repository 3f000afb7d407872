package dev.invconv;

import java.util.Objects;

/**
 * The options every sliding-window builder shares: stride, dilation, padding and the fused
 * activation. Defaults follow PyTorch: stride 1, dilation 1, no padding, no activation.
 *
 * @param <B> the concrete builder, returned by each setter for chaining
 */
public abstract sealed class ConvOptions<B extends ConvOptions<B>>
        permits Conv2d.Builder, DepthwiseConv2d.Builder, SeparableConv2d.Builder {

    long strideH = 1;
    long strideW = 1;
    long dilationH = 1;
    long dilationW = 1;
    Padding padding = Padding.VALID;
    Activation activation = Activation.NONE;

    ConvOptions() {}

    @SuppressWarnings("unchecked")
    private B self() {
        return (B) this;
    }

    public B stride(long stride) {
        return stride(stride, stride);
    }

    public B stride(long strideH, long strideW) {
        this.strideH = strideH;
        this.strideW = strideW;
        return self();
    }

    /** Spacing between kernel taps; 1 means none. */
    public B dilation(long dilation) {
        return dilation(dilation, dilation);
    }

    public B dilation(long dilationH, long dilationW) {
        this.dilationH = dilationH;
        this.dilationW = dilationW;
        return self();
    }

    /** {@link Padding#VALID} (the default, PyTorch's padding=0), SAME, FULL or explicit pads. */
    public B padding(Padding padding) {
        this.padding = Objects.requireNonNull(padding, "padding");
        return self();
    }

    /** The activation fused after the bias (and residual). */
    public B activation(Activation activation) {
        this.activation = Objects.requireNonNull(activation, "activation");
        return self();
    }

    /** Shorthand for {@code activation(Activation.RELU)}. */
    public B relu() {
        return activation(Activation.RELU);
    }
}
