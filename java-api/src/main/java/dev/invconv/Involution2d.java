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
 * <pre>{@code
 * try (Involution2d inv = Involution2d.builder(64, 7).build(parameters)) {   // Map<String, float[]>
 *     Tensor y = inv.apply(x, arena);
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

    private final Involution2dParams params;

    private Involution2d(Involution2dParams params, List<FloatData> w) {
        super("involution2d", (scratch, out) -> {
            MemorySegment[] s = new MemorySegment[w.size()];
            for (int i = 0; i < s.length; i++) {
                s[i] = w.get(i).toNative(scratch);
            }
            return invconv_h.ic_involution2d_create(nativeParams(scratch, params),
                    s[0], s[0].byteSize(), s[1], s[1].byteSize(), s[2], s[2].byteSize(),
                    s[3], s[3].byteSize(), s[4], s[4].byteSize(), s[5], s[5].byteSize(),
                    s[6], s[6].byteSize(), out);
        }, invconv_h::ic_involution2d_destroy);
        this.params = params;
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
        Objects.requireNonNull(parameters, "parameters");
        return create(params, name -> FloatData.of(parameters.get(name)));
    }

    /**
     * Creates the module from validated parameters and float32 segments keyed by the official
     * names, e.g. memory-mapped safetensors slices, used without a copy where they are off-heap.
     */
    public static Involution2d createFromSegments(Involution2dParams params, Map<String, MemorySegment> parameters) {
        Objects.requireNonNull(parameters, "parameters");
        return create(params, name -> FloatData.of(parameters.get(name)));
    }

    public Involution2dParams params() {
        return params;
    }

    public Shape outputShape(Shape input) {
        return params.outputShape(input);
    }

    public String kernelName() {
        return Status.string(invconv_h.ic_involution2d_kernel_name(handle()));
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

    private static Involution2d create(Involution2dParams p, Function<String, FloatData> lookup) {
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
        return new Involution2d(p, data);
    }

    @Override
    public String toString() {
        return "Involution2d" + params;
    }

    private static MemorySegment nativeParams(Arena arena, Involution2dParams p) {
        MemorySegment s = ic_involution2d_params.allocate(arena);
        ic_involution2d_params.datatype(s, invconv_h.IC_DATATYPE_F32());
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

        public Involution2dParams params() {
            return new Involution2dParams(channels, kernelSize, stride, dilation, groupChannels,
                    reductionRatio, bnEpsilon);
        }

        /** Builds from arrays keyed by the official names (see {@link #parameterShapes}). */
        public Involution2d build(Map<String, float[]> parameters) {
            return create(params(), parameters);
        }

        /**
         * Builds from segments keyed by the official names, e.g. memory-mapped safetensors
         * slices, used without a copy where they are off-heap.
         */
        public Involution2d buildFromSegments(Map<String, MemorySegment> parameters) {
            return createFromSegments(params(), parameters);
        }
    }
}
