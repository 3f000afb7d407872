package dev.invconv;

import dev.invconv.bindings.ic_conv2d_params;
import dev.invconv.bindings.invconv_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A 2-D convolution (cross-correlation, as in every DL framework) with stride, dilation,
 * groups, bias, padding and a fused activation; see {@link Conv2dParams} for the exact
 * semantics. Depthwise and pointwise convolutions are Conv2d too, built with
 * {@link DepthwiseConv2d} and {@link PointwiseConv2d}; the native library gives them their own
 * kernels.
 *
 * <pre>{@code
 * try (Arena arena = Arena.ofConfined();
 *      Conv2d conv = Conv2d.builder(64, 64, 3).padding(Padding.SAME).relu().build(weights, bias)) {
 *     Tensor y = conv.apply(x, arena);
 * }
 * }</pre>
 *
 * <p>Immutable after build and safe to share between threads. Weights are copied (and packed)
 * at build time.
 */
public final class Conv2d extends NativeOperator {

    /**
     * How the operator may compute its convolution; every choice computes the same function
     * within SPEC §3's error bound.
     */
    public enum Algorithm {
        /** The direct, depthwise and pointwise kernels (the default). */
        DIRECT,
        /**
         * Winograd F(4×4, 3×3) where it pays, the direct kernels elsewhere (the C API's
         * {@code IC_CONV2D_WINOGRAD}): 3×3 convolutions of stride 1, dilation 1, one group and
         * at most 1 of padding per side (VALID, SAME) keep their weights transformed as well
         * (4× the direct weights), and runs whose output has at least 16 tiles of 4×4 pixels
         * (14×14 and up) do a quarter of the multiply-adds — 0.64 → 0.20–0.23 ms for 64→64 at
         * 56×56 on 2 threads here with NHWC tensors, 0.30–0.32 ms with NCHW ones (transposed to
         * NHWC and back inside the run). The results differ from the direct kernels' in
         * the last bits (a largest error of ~1.6e-6 of the products' magnitude against ~1e-7)
         * and stay bit-identical for any thread count.
         */
        WINOGRAD
    }

    private final Conv2dParams params;
    private final Algorithm algorithm;

    private Conv2d(Conv2dParams params, Algorithm algorithm, FloatData weights, FloatData bias) {
        super("conv2d", (scratch, out) -> {
            MemorySegment p = nativeParams(scratch, params, algorithm);
            MemorySegment w = weights.toNative(scratch);
            MemorySegment b = FloatData.toNative(scratch, bias);
            return invconv_h.ic_conv2d_create(p, w, w.byteSize(), b, b.byteSize(), out);
        }, invconv_h::ic_conv2d_destroy, invconv_h::ic_conv2d_kernel_name);
        this.params = params;
        this.algorithm = algorithm;
    }

    /**
     * Creates a convolution from validated parameters (see {@link Builder#params()}).
     *
     * @param weights {@code params.weightShape()}, PyTorch order
     * @param bias    {@code [outChannels]}, or null for none
     */
    public static Conv2d create(Conv2dParams params, float[] weights, float[] bias) {
        return create(params, weights, bias, Algorithm.DIRECT);
    }

    /** As {@link #create(Conv2dParams, float[], float[])}, with a choice of {@link Algorithm}. */
    public static Conv2d create(Conv2dParams params, float[] weights, float[] bias, Algorithm algorithm) {
        return create("conv2d", params, algorithm, FloatData.of(weights), FloatData.of(bias));
    }

    /** As {@link #create(Conv2dParams, float[], float[])}, from float32 segments. */
    public static Conv2d create(Conv2dParams params, MemorySegment weights, MemorySegment bias) {
        return create(params, weights, bias, Algorithm.DIRECT);
    }

    /** As {@link #create(Conv2dParams, MemorySegment, MemorySegment)}, with a choice of {@link Algorithm}. */
    public static Conv2d create(Conv2dParams params, MemorySegment weights, MemorySegment bias,
                                Algorithm algorithm) {
        return create("conv2d", params, algorithm, FloatData.of(weights), FloatData.of(bias));
    }

    /** Checks weights and bias against the params, then creates the native operator. */
    static Conv2d create(String op, Conv2dParams params, FloatData weights, FloatData bias) {
        return create(op, params, Algorithm.DIRECT, weights, bias);
    }

    private static Conv2d create(String op, Conv2dParams params, Algorithm algorithm, FloatData weights,
                                 FloatData bias) {
        Objects.requireNonNull(params, "params");
        Checks.notNull(op, "algorithm", algorithm);
        Shape w = params.weightShape();
        FloatData.require(op, "weights", weights, w.elementCount(), w.toString(), false);
        FloatData.require(op, "bias", bias, params.outChannels(), "[" + params.outChannels() + "]", true);
        return new Conv2d(params, algorithm, weights, bias);
    }

    /** A builder for {@code inChannels → outChannels} with a square {@code kernelSize} kernel. */
    public static Builder builder(long inChannels, long outChannels, long kernelSize) {
        return new Builder(inChannels, outChannels, kernelSize, kernelSize);
    }

    /** A builder for {@code inChannels → outChannels} with a {@code kernelH × kernelW} kernel. */
    public static Builder builder(long inChannels, long outChannels, long kernelH, long kernelW) {
        return new Builder(inChannels, outChannels, kernelH, kernelW);
    }

    /** The operator's hyper-parameters. */
    public Conv2dParams params() {
        return params;
    }

    /** The algorithm it was created with ({@link #kernelName()} tells which kernels that gave). */
    public Algorithm algorithm() {
        return algorithm;
    }

    /** The shape of the output for an input of the given shape; throws if the input does not fit. */
    public Shape outputShape(Shape input) {
        return params.outputShape(input);
    }

    /** Computes the output into a new tensor of {@code arena}, in the input's layout. */
    public Tensor apply(Tensor input, Arena arena) {
        Tensor out = Tensor.allocate(arena, outputShape(input.shape()), input.layout());
        apply(input, null, out, Context.shared());
        return out;
    }

    /** Computes the output into {@code out}, which must have the output's shape and the input's layout. */
    public void apply(Tensor input, Tensor out) {
        apply(input, null, out, Context.shared());
    }

    /**
     * Computes {@code out = act(conv(input) + bias + residual)}: the last convolution of a
     * residual block with its shortcut fused. {@code residual} has the output's shape (it may
     * be {@code out} itself) or is null; {@code context} chooses the worker threads.
     */
    public void apply(Tensor input, Tensor residual, Tensor out, Context context) {
        Objects.requireNonNull(context, "context");
        MemorySegment self = handle();
        Layout layout = input == null ? null : input.layout();
        MemorySegment src = argument("input", input, layout);
        MemorySegment dst = argument("out", out, layout);
        Shape in = input.shape();
        checkOutputShape("out", out, params.outputShape(in));
        checkNoOverlap("input", src, dst);
        MemorySegment res = MemorySegment.NULL;
        if (residual != null) {
            res = argument("residual", residual, layout);
            checkOutputShape("residual", residual, out.shape());
            // In place (residual == out) is fine: each output reads only its own residual element.
            if (res.address() != dst.address()) {
                checkNoOverlap("residual", res, dst);
            }
        }
        Status.check(invconv_h.ic_conv2d_run(self, context.handle(), layout.nativeValue(),
                in.n(), in.h(), in.w(), src, src.byteSize(), res, res.byteSize(), dst, dst.byteSize()));
    }

    /**
     * Whether {@link #applyPooled} runs on inputs of {@code input}'s shape: it does for
     * convolutions on the direct path (the stems of ResNet, VGG and RedNet), not for pointwise
     * and depthwise ones, nor where {@link Algorithm#WINOGRAD} takes Winograd kernels; run
     * {@link #apply} and then the pool for those.
     *
     * @throws IllegalArgumentException if the input does not fit, or the pool's channels are
     *                                  not this convolution's output channels
     */
    public boolean poolsInOnePass(Pool2d pool, Shape input) {
        Objects.requireNonNull(pool, "pool");
        Objects.requireNonNull(input, "input");
        Shape out = params.outputShape(input);
        checkPoolChannels(pool);
        pool.outputShape(out);
        int status = invconv_h.ic_conv2d_pool2d_check(handle(), pool.handle(), input.h(), input.w());
        if (status == invconv_h.IC_STATUS_UNSUPPORTED()) {
            return false;
        }
        Status.check(status);
        return true;
    }

    /** As {@link #applyPooled(Pool2d, Tensor, Tensor, Context)}, into a new tensor of {@code arena}. */
    public Tensor applyPooled(Pool2d pool, Tensor input, Arena arena) {
        Objects.requireNonNull(pool, "pool");
        checkPoolChannels(pool);
        Tensor out = Tensor.allocate(arena, pool.outputShape(outputShape(input.shape())), input.layout());
        applyPooled(pool, input, out, Context.shared());
        return out;
    }

    /**
     * Computes {@code out = pool(conv(input))} in one pass: each task pools the convolution rows
     * it has just computed while they are in its core's cache, so the convolution's output never
     * goes to memory (ResNet-50's stem: 3.2 MB written and read back otherwise). Bit for bit
     * what {@link #apply} and then {@link Pool2d#apply} give.
     *
     * @throws UnsupportedOperationException where {@link #poolsInOnePass} says no
     */
    public void applyPooled(Pool2d pool, Tensor input, Tensor out, Context context) {
        Objects.requireNonNull(pool, "pool");
        Objects.requireNonNull(context, "context");
        MemorySegment self = handle();
        MemorySegment poolHandle = pool.handle();
        Layout layout = input == null ? null : input.layout();
        MemorySegment src = argument("input", input, layout);
        MemorySegment dst = argument("out", out, layout);
        Shape in = input.shape();
        checkPoolChannels(pool);
        checkOutputShape("out", out, pool.outputShape(params.outputShape(in)));
        checkNoOverlap("input", src, dst);
        Status.check(invconv_h.ic_conv2d_pool2d_run(self, poolHandle, context.handle(), layout.nativeValue(),
                in.n(), in.h(), in.w(), src, src.byteSize(), dst, dst.byteSize()));
    }

    private void checkPoolChannels(Pool2d pool) {
        if (pool.params().channels() != params.outChannels()) {
            throw new IllegalArgumentException("conv2d: the pool has " + pool.params().channels()
                    + " channels but the convolution gives " + params.outChannels());
        }
    }

    @Override
    public String toString() {
        return "Conv2d" + params + (algorithm == Algorithm.DIRECT ? "" : "[" + algorithm + "]");
    }

    static MemorySegment nativeParams(Arena arena, Conv2dParams p, Algorithm algorithm) {
        MemorySegment s = ic_conv2d_params.allocate(arena);
        ic_conv2d_params.datatype(s, invconv_h.IC_DATATYPE_F32());
        ic_conv2d_params.flags(s, algorithm == Algorithm.WINOGRAD ? invconv_h.IC_CONV2D_WINOGRAD() : 0);
        ic_conv2d_params.padding(s, p.padding().nativeMode());
        ic_conv2d_params.activation(s, p.activation().nativeValue());
        ic_conv2d_params.in_channels(s, p.inChannels());
        ic_conv2d_params.out_channels(s, p.outChannels());
        ic_conv2d_params.groups(s, p.groups());
        ic_conv2d_params.kernel_h(s, p.kernelH());
        ic_conv2d_params.kernel_w(s, p.kernelW());
        ic_conv2d_params.stride_h(s, p.strideH());
        ic_conv2d_params.stride_w(s, p.strideW());
        ic_conv2d_params.dilation_h(s, p.dilationH());
        ic_conv2d_params.dilation_w(s, p.dilationW());
        if (p.padding() instanceof Padding.Explicit e) {
            ic_conv2d_params.pad_top(s, e.top());
            ic_conv2d_params.pad_left(s, e.left());
            ic_conv2d_params.pad_bottom(s, e.bottom());
            ic_conv2d_params.pad_right(s, e.right());
        }
        return s;
    }

    /** Collects the hyper-parameters; {@link #build} validates them and the weights. */
    public static final class Builder extends ConvOptions<Builder> {
        private final long inChannels;
        private final long outChannels;
        private final long kernelH;
        private final long kernelW;
        private long groups = 1;
        private Algorithm algorithm = Algorithm.DIRECT;

        Builder(long inChannels, long outChannels, long kernelH, long kernelW) {
            this.inChannels = inChannels;
            this.outChannels = outChannels;
            this.kernelH = kernelH;
            this.kernelW = kernelW;
        }

        /** Splits channels into groups convolved separately; must divide both channel counts. */
        public Builder groups(long groups) {
            this.groups = groups;
            return this;
        }

        /** How the operator may compute the convolution; {@link Algorithm#DIRECT} by default. */
        public Builder algorithm(Algorithm algorithm) {
            this.algorithm = Objects.requireNonNull(algorithm, "algorithm");
            return this;
        }

        /** The validated hyper-parameters. */
        public Conv2dParams params() {
            return new Conv2dParams(inChannels, outChannels, kernelH, kernelW, strideH, strideW,
                    dilationH, dilationW, groups, padding, activation);
        }

        /**
         * Builds the operator.
         *
         * @param weights {@code [outChannels, inChannels / groups, kernelH, kernelW]}, PyTorch order
         * @param bias    {@code [outChannels]}, or null for none
         */
        public Conv2d build(float[] weights, float[] bias) {
            return create(params(), weights, bias, algorithm);
        }

        /** As {@link #build(float[], float[])}, from float32 segments (e.g. safetensors slices). */
        public Conv2d build(MemorySegment weights, MemorySegment bias) {
            return create(params(), weights, bias, algorithm);
        }
    }
}
