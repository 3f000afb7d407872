package dev.invconv;

import dev.invconv.bindings.ic_separable_conv2d_params;
import dev.invconv.bindings.invconv_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Depthwise-separable convolution: a depthwise convolution (with its own bias and activation)
 * followed by a pointwise one, computed as one operator so the depthwise result need not make
 * a round trip through memory. See {@link SeparableConv2dParams}.
 *
 * <pre>{@code
 * try (SeparableConv2d sep = SeparableConv2d.builder(32, 64, 3).stride(2).padding(Padding.SAME)
 *         .depthwiseActivation(Activation.RELU).relu().build(dwWeights, dwBias, pwWeights, pwBias)) {
 *     Tensor y = sep.apply(x, arena);
 * }
 * }</pre>
 */
public final class SeparableConv2d extends NativeOperator {

    private final SeparableConv2dParams params;

    private SeparableConv2d(SeparableConv2dParams params, FloatData dwWeights, FloatData dwBias,
                            FloatData pwWeights, FloatData pwBias) {
        super("separable_conv2d", (scratch, out) -> {
            MemorySegment p = nativeParams(scratch, params);
            MemorySegment dw = dwWeights.toNative(scratch);
            MemorySegment db = FloatData.toNative(scratch, dwBias);
            MemorySegment pw = pwWeights.toNative(scratch);
            MemorySegment pb = FloatData.toNative(scratch, pwBias);
            return invconv_h.ic_separable_conv2d_create(p, dw, dw.byteSize(), db, db.byteSize(),
                    pw, pw.byteSize(), pb, pb.byteSize(), out);
        }, invconv_h::ic_separable_conv2d_destroy, invconv_h::ic_separable_conv2d_kernel_name);
        this.params = params;
    }

    /** A builder for {@code inChannels → outChannels} with a square depthwise kernel. */
    public static Builder builder(long inChannels, long outChannels, long kernelSize) {
        return new Builder(inChannels, outChannels, kernelSize, kernelSize);
    }

    public static Builder builder(long inChannels, long outChannels, long kernelH, long kernelW) {
        return new Builder(inChannels, outChannels, kernelH, kernelW);
    }

    /** Creates the operator from validated parameters; weights as in {@link Builder#build}. */
    public static SeparableConv2d create(SeparableConv2dParams params, float[] depthwiseWeights,
                                         float[] depthwiseBias, float[] pointwiseWeights, float[] pointwiseBias) {
        return create(params, FloatData.of(depthwiseWeights), FloatData.of(depthwiseBias),
                FloatData.of(pointwiseWeights), FloatData.of(pointwiseBias));
    }

    public SeparableConv2dParams params() {
        return params;
    }

    public Shape outputShape(Shape input) {
        return params.outputShape(input);
    }

    /** Computes the output into a new tensor of {@code arena}, in the input's layout. */
    public Tensor apply(Tensor input, Arena arena) {
        Tensor out = Tensor.allocate(arena, outputShape(input.shape()), input.layout());
        apply(input, out, Context.shared());
        return out;
    }

    public void apply(Tensor input, Tensor out) {
        apply(input, out, Context.shared());
    }

    public void apply(Tensor input, Tensor out, Context context) {
        Objects.requireNonNull(context, "context");
        MemorySegment self = handle();
        Layout layout = input == null ? null : input.layout();
        MemorySegment src = argument("input", input, layout);
        MemorySegment dst = argument("out", out, layout);
        Shape in = input.shape();
        checkOutputShape("out", out, params.outputShape(in));
        checkNoOverlap("input", src, dst);
        Status.check(invconv_h.ic_separable_conv2d_run(self, context.handle(), layout.nativeValue(),
                in.n(), in.h(), in.w(), src, src.byteSize(), dst, dst.byteSize()));
    }

    private static SeparableConv2d create(SeparableConv2dParams p, FloatData dw, FloatData db,
                                          FloatData pw, FloatData pb) {
        String op = "separable_conv2d";
        Conv2dParams depthwise = p.depthwise();
        Conv2dParams pointwise = p.pointwise();
        FloatData.require(op, "depthwise weights", dw, depthwise.weightShape().elementCount(),
                depthwise.weightShape().toString(), false);
        FloatData.require(op, "depthwise bias", db, depthwise.outChannels(),
                "[" + depthwise.outChannels() + "]", true);
        FloatData.require(op, "pointwise weights", pw, pointwise.weightShape().elementCount(),
                pointwise.weightShape().toString(), false);
        FloatData.require(op, "pointwise bias", pb, pointwise.outChannels(),
                "[" + pointwise.outChannels() + "]", true);
        return new SeparableConv2d(p, dw, db, pw, pb);
    }

    @Override
    public String toString() {
        return "SeparableConv2d" + params;
    }

    private static MemorySegment nativeParams(Arena arena, SeparableConv2dParams p) {
        MemorySegment s = ic_separable_conv2d_params.allocate(arena);
        ic_separable_conv2d_params.datatype(s, invconv_h.IC_DATATYPE_F32());
        ic_separable_conv2d_params.padding(s, p.padding().nativeMode());
        ic_separable_conv2d_params.depthwise_activation(s, p.depthwiseActivation().nativeValue());
        ic_separable_conv2d_params.activation(s, p.activation().nativeValue());
        ic_separable_conv2d_params.in_channels(s, p.inChannels());
        ic_separable_conv2d_params.depth_multiplier(s, p.depthMultiplier());
        ic_separable_conv2d_params.out_channels(s, p.outChannels());
        ic_separable_conv2d_params.kernel_h(s, p.kernelH());
        ic_separable_conv2d_params.kernel_w(s, p.kernelW());
        ic_separable_conv2d_params.stride_h(s, p.strideH());
        ic_separable_conv2d_params.stride_w(s, p.strideW());
        ic_separable_conv2d_params.dilation_h(s, p.dilationH());
        ic_separable_conv2d_params.dilation_w(s, p.dilationW());
        if (p.padding() instanceof Padding.Explicit e) {
            ic_separable_conv2d_params.pad_top(s, e.top());
            ic_separable_conv2d_params.pad_left(s, e.left());
            ic_separable_conv2d_params.pad_bottom(s, e.bottom());
            ic_separable_conv2d_params.pad_right(s, e.right());
        }
        return s;
    }

    /** Collects the hyper-parameters; {@link #build} validates them and the weights. */
    public static final class Builder extends ConvOptions<Builder> {
        private final long inChannels;
        private final long outChannels;
        private final long kernelH;
        private final long kernelW;
        private long multiplier = 1;
        private Activation depthwiseActivation = Activation.NONE;

        Builder(long inChannels, long outChannels, long kernelH, long kernelW) {
            this.inChannels = inChannels;
            this.outChannels = outChannels;
            this.kernelH = kernelH;
            this.kernelW = kernelW;
        }

        /** Depthwise output channels per input channel; default 1. */
        public Builder multiplier(long multiplier) {
            this.multiplier = multiplier;
            return this;
        }

        /** The activation between the depthwise and the pointwise part; default none. */
        public Builder depthwiseActivation(Activation activation) {
            this.depthwiseActivation = Objects.requireNonNull(activation, "depthwiseActivation");
            return this;
        }

        public SeparableConv2dParams params() {
            return new SeparableConv2dParams(inChannels, multiplier, outChannels, kernelH, kernelW,
                    strideH, strideW, dilationH, dilationW, padding, depthwiseActivation, activation);
        }

        /**
         * @param depthwiseWeights {@code [inChannels · multiplier, 1, kernelH, kernelW]}
         * @param depthwiseBias    {@code [inChannels · multiplier]} or null
         * @param pointwiseWeights {@code [outChannels, inChannels · multiplier, 1, 1]}
         * @param pointwiseBias    {@code [outChannels]} or null
         */
        public SeparableConv2d build(float[] depthwiseWeights, float[] depthwiseBias,
                                     float[] pointwiseWeights, float[] pointwiseBias) {
            return SeparableConv2d.create(params(), depthwiseWeights, depthwiseBias, pointwiseWeights,
                    pointwiseBias);
        }

        public SeparableConv2d build(MemorySegment depthwiseWeights, MemorySegment depthwiseBias,
                                     MemorySegment pointwiseWeights, MemorySegment pointwiseBias) {
            return SeparableConv2d.create(params(), FloatData.of(depthwiseWeights), FloatData.of(depthwiseBias),
                    FloatData.of(pointwiseWeights), FloatData.of(pointwiseBias));
        }
    }
}
