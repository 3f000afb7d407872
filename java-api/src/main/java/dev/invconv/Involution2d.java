package dev.invconv;

import dev.invconv.bindings.ic_involution2d_params;
import dev.invconv.bindings.invconv_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * The involution module of the official d-li14/involution code: kernel generation (optional
 * AvgPool for stride &gt; 1, reduce 1×1 conv + BatchNorm + ReLU, span 1×1 conv with bias) and
 * aggregation, in one native operator. See {@link Involution2dParams}.
 *
 * <p>Parameters go by the official state_dict names, relative to the module:
 * {@value #REDUCE_WEIGHT}, {@code conv1.bn.{weight,bias,running_mean,running_var}},
 * {@value #SPAN_WEIGHT}, {@value #SPAN_BIAS}. BatchNorm is folded into the reduce conv at build.
 *
 * <p>An optional epilogue applies to the output, per channel {@code c}:
 * {@code y = activation(outScale[c] · y + outShift[c])} — an inference BatchNorm that follows
 * the module, folded into a scale and shift (RedNet's {@code bn2}), and a ReLU — without a
 * further pass over the output. Neither is a parameter of the official module, so they are not
 * in {@link Involution2dParams}; {@link #activation()} and {@link #hasOutputAffine()} report them.
 *
 * <pre>{@code
 * try (Involution2d inv = Involution2d.builder(64, 7).build(parameters)) {   // Map<String, float[]>
 *     Tensor y = inv.apply(x, arena);
 * }
 * try (Involution2d inv = Involution2d.builder(64, 7).outputAffine(bnScale, bnShift)
 *         .activation(Activation.RELU).build(parameters)) {
 *     Tensor y = inv.apply(x, arena);   // relu(bn2(involution(x)))
 * }
 * }</pre>
 */
public final class Involution2d extends NativeOperator {

    public static final String REDUCE_WEIGHT = "conv1.conv.weight";
    public static final String BN_WEIGHT = "conv1.bn.weight";
    public static final String BN_BIAS = "conv1.bn.bias";
    public static final String BN_RUNNING_MEAN = "conv1.bn.running_mean";
    public static final String BN_RUNNING_VAR = "conv1.bn.running_var";
    public static final String SPAN_WEIGHT = "conv2.conv.weight";
    public static final String SPAN_BIAS = "conv2.conv.bias";

    private static final String OP = "involution2d";

    private final Involution2dParams params;
    private final Activation activation;
    private final boolean outputAffine;

    private Involution2d(Involution2dParams params, List<FloatData> w, Activation activation, FloatData outScale,
                         FloatData outShift) {
        super(OP, (scratch, out) -> {
            MemorySegment[] s = new MemorySegment[w.size()];
            for (int i = 0; i < s.length; i++) {
                s[i] = w.get(i).toNative(scratch);
            }
            MemorySegment scale = FloatData.toNative(scratch, outScale);
            MemorySegment shift = FloatData.toNative(scratch, outShift);
            return invconv_h.ic_involution2d_create(nativeParams(scratch, params, activation),
                    s[0], s[0].byteSize(), s[1], s[1].byteSize(), s[2], s[2].byteSize(),
                    s[3], s[3].byteSize(), s[4], s[4].byteSize(), s[5], s[5].byteSize(),
                    s[6], s[6].byteSize(), scale, scale.byteSize(), shift, shift.byteSize(), out);
        }, invconv_h::ic_involution2d_destroy, invconv_h::ic_involution2d_kernel_name);
        this.params = params;
        this.activation = activation;
        this.outputAffine = outScale != null;
    }

    /** A builder with the official defaults: stride 1, 16 channels per group, reduction ratio 4. */
    public static Builder builder(long channels, long kernelSize) {
        return new Builder(channels, kernelSize);
    }

    /**
     * The parameters this module needs, by official name, with their shapes
     * ({@code [N, C, H, W]}-style, 1-D ones as {@code [n]}), in the order of the C API.
     */
    public static Map<String, long[]> parameterShapes(Involution2dParams p) {
        long reduced = p.reducedChannels();
        long span = p.kernelSize() * p.kernelSize() * (p.channels() / p.groupChannels());
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put(REDUCE_WEIGHT, new long[] {reduced, p.channels(), 1, 1});
        shapes.put(BN_WEIGHT, new long[] {reduced});
        shapes.put(BN_BIAS, new long[] {reduced});
        shapes.put(BN_RUNNING_MEAN, new long[] {reduced});
        shapes.put(BN_RUNNING_VAR, new long[] {reduced});
        shapes.put(SPAN_WEIGHT, new long[] {span, reduced, 1, 1});
        shapes.put(SPAN_BIAS, new long[] {span});
        return shapes;
    }

    /** Creates the module from validated parameters and arrays keyed by the official names. */
    public static Involution2d create(Involution2dParams params, Map<String, float[]> parameters) {
        return create(params, parameters, Activation.NONE, null, null);
    }

    /**
     * Creates the module with an output epilogue, {@code y = activation(outScale[c] · y + outShift[c])}.
     *
     * @param activation applied last; {@link Activation#NONE} for none
     * @param outScale   {@code [channels]}, or null (then {@code outShift} must be null too)
     * @param outShift   {@code [channels]}, or null
     * @throws IllegalArgumentException if only one of outScale and outShift is given, or a size is wrong
     */
    public static Involution2d create(Involution2dParams params, Map<String, float[]> parameters,
                                      Activation activation, float[] outScale, float[] outShift) {
        Objects.requireNonNull(parameters, "parameters");
        return create(params, name -> FloatData.of(parameters.get(name)), activation, FloatData.of(outScale),
                FloatData.of(outShift));
    }

    /**
     * Creates the module from validated parameters and float32 segments keyed by the official
     * names, e.g. memory-mapped safetensors slices, used without a copy where they are off-heap.
     */
    public static Involution2d createFromSegments(Involution2dParams params, Map<String, MemorySegment> parameters) {
        return createFromSegments(params, parameters, Activation.NONE, null, null);
    }

    /** As {@link #create(Involution2dParams, Map, Activation, float[], float[])}, from float32 segments. */
    public static Involution2d createFromSegments(Involution2dParams params, Map<String, MemorySegment> parameters,
                                                  Activation activation, MemorySegment outScale,
                                                  MemorySegment outShift) {
        Objects.requireNonNull(parameters, "parameters");
        return create(params, name -> FloatData.of(parameters.get(name)), activation, FloatData.of(outScale),
                FloatData.of(outShift));
    }

    public Involution2dParams params() {
        return params;
    }

    /** The activation applied to the output, after the output affine. */
    public Activation activation() {
        return activation;
    }

    /** Whether a per-channel scale and shift are applied to the output. */
    public boolean hasOutputAffine() {
        return outputAffine;
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
        Status.check(invconv_h.ic_involution2d_run(self, context.handle(), layout.nativeValue(),
                in.n(), in.h(), in.w(), src, src.byteSize(), dst, dst.byteSize()));
    }

    private static Involution2d create(Involution2dParams p, Function<String, FloatData> lookup,
                                       Activation activation, FloatData outScale, FloatData outShift) {
        Objects.requireNonNull(p, "params");
        Checks.notNull(OP, "activation", activation);
        if ((outScale == null) != (outShift == null)) {
            throw new IllegalArgumentException(OP + ": out_scale and out_shift must be given together (out_scale is "
                    + (outScale == null ? "null" : "set") + ", out_shift is " + (outShift == null ? "null" : "set")
                    + ")");
        }
        String channels = "[" + p.channels() + "]";
        FloatData.require(OP, "out_scale", outScale, p.channels(), channels, true);
        FloatData.require(OP, "out_shift", outShift, p.channels(), channels, true);
        List<FloatData> data = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, long[]> e : parameterShapes(p).entrySet()) {
            FloatData d = lookup.apply(e.getKey());
            long expected = 1;
            for (long dim : e.getValue()) {
                expected *= dim;
            }
            String shape = Arrays.toString(e.getValue());
            if (d == null) {
                problems.add("'" + e.getKey() + "' is missing (expected " + shape + ")");
            } else if (d.count() != expected) {
                problems.add("'" + e.getKey() + "' has " + d.count() + " elements but " + shape
                        + " needs " + expected);
            }
            data.add(d);
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("involution2d: " + String.join("; ", problems));
        }
        return new Involution2d(p, data, activation, outScale, outShift);
    }

    @Override
    public String toString() {
        String epilogue = (outputAffine ? ", outputAffine" : "")
                + (activation == Activation.NONE ? "" : ", " + activation);
        return "Involution2d" + params + epilogue;
    }

    private static MemorySegment nativeParams(Arena arena, Involution2dParams p, Activation activation) {
        MemorySegment s = ic_involution2d_params.allocate(arena);
        ic_involution2d_params.datatype(s, invconv_h.IC_DATATYPE_F32());
        ic_involution2d_params.activation(s, activation.nativeValue());
        ic_involution2d_params.channels(s, p.channels());
        ic_involution2d_params.kernel_size(s, p.kernelSize());
        ic_involution2d_params.stride(s, p.stride());
        ic_involution2d_params.dilation(s, p.dilation());
        ic_involution2d_params.group_channels(s, p.groupChannels());
        ic_involution2d_params.reduction_ratio(s, p.reductionRatio());
        ic_involution2d_params.bn_epsilon(s, p.bnEpsilon());
        return s;
    }

    /** Collects the hyper-parameters; {@code build} validates them and the parameters. */
    public static final class Builder {
        private final long channels;
        private final long kernelSize;
        private long stride = 1;
        private long dilation = 1;
        private long groupChannels = 16;
        private long reductionRatio = 4;
        private double bnEpsilon = 1e-5;
        private Activation activation = Activation.NONE;
        private FloatData outScale;
        private FloatData outShift;

        Builder(long channels, long kernelSize) {
            this.channels = channels;
            this.kernelSize = kernelSize;
        }

        /** Stride &gt; 1 average-pools the kernel-generation input; H and W must be multiples. */
        public Builder stride(long stride) {
            this.stride = stride;
            return this;
        }

        /** An extension: the official code has dilation 1. */
        public Builder dilation(long dilation) {
            this.dilation = dilation;
            return this;
        }

        public Builder groupChannels(long groupChannels) {
            this.groupChannels = groupChannels;
            return this;
        }

        public Builder reductionRatio(long reductionRatio) {
            this.reductionRatio = reductionRatio;
            return this;
        }

        public Builder bnEpsilon(double bnEpsilon) {
            this.bnEpsilon = bnEpsilon;
            return this;
        }

        /** The activation applied to the output, after the output affine; default none. */
        public Builder activation(Activation activation) {
            this.activation = Objects.requireNonNull(activation, "activation");
            return this;
        }

        /** Shorthand for {@code activation(Activation.RELU)}. */
        public Builder relu() {
            return activation(Activation.RELU);
        }

        /**
         * A per-channel affine on the output, {@code y = scale[c] · y + shift[c]}, before the
         * activation: a following inference BatchNorm folded (scale = γ / √(var + ε),
         * shift = β − mean · scale). Both {@code [channels]}, or both null for none. The arrays
         * are read at build time.
         */
        public Builder outputAffine(float[] scale, float[] shift) {
            this.outScale = FloatData.of(scale);
            this.outShift = FloatData.of(shift);
            return this;
        }

        /** As {@link #outputAffine(float[], float[])}, from float32 segments. */
        public Builder outputAffine(MemorySegment scale, MemorySegment shift) {
            this.outScale = FloatData.of(scale);
            this.outShift = FloatData.of(shift);
            return this;
        }

        public Involution2dParams params() {
            return new Involution2dParams(channels, kernelSize, stride, dilation, groupChannels,
                    reductionRatio, bnEpsilon);
        }

        /** Builds from arrays keyed by the official names (see {@link #parameterShapes}). */
        public Involution2d build(Map<String, float[]> parameters) {
            Objects.requireNonNull(parameters, "parameters");
            return create(params(), name -> FloatData.of(parameters.get(name)), activation, outScale, outShift);
        }

        /**
         * Builds from segments keyed by the official names, e.g. memory-mapped safetensors
         * slices, used without a copy where they are off-heap.
         */
        public Involution2d buildFromSegments(Map<String, MemorySegment> parameters) {
            Objects.requireNonNull(parameters, "parameters");
            return create(params(), name -> FloatData.of(parameters.get(name)), activation, outScale, outShift);
        }
    }
}
