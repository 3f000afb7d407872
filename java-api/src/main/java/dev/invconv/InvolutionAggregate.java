package dev.invconv;

import dev.invconv.bindings.ic_involution_params;
import dev.invconv.bindings.invconv_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Involution aggregation with caller-supplied kernels (the operator proper of Li et al., CVPR
 * 2021): every output pixel of a channel is the K×K window of the input around it, weighted by
 * a kernel that belongs to that pixel and is shared by the {@code groupChannels} consecutive
 * channels of a group. See {@link InvolutionParams} for the exact formula.
 *
 * <p>For kernels generated the official way, use {@link Involution2d}; this class is for
 * kernels made any other way (attention-like uses).
 *
 * <pre>{@code
 * try (InvolutionAggregate agg = InvolutionAggregate.builder(64, 7).build()) {
 *     Tensor y = agg.apply(x, kernels, arena);   // kernels: agg.kernelsShape(x.shape())
 * }
 * }</pre>
 */
public final class InvolutionAggregate extends NativeOperator {

    private final InvolutionParams params;

    private InvolutionAggregate(InvolutionParams params) {
        super("involution", (scratch, out) ->
                invconv_h.ic_involution_aggregate_create(nativeParams(scratch, params), out),
                invconv_h::ic_involution_aggregate_destroy, invconv_h::ic_involution_aggregate_kernel_name);
        this.params = params;
    }

    /** A builder with the official defaults: stride 1, dilation 1, 16 channels per group. */
    public static Builder builder(long channels, long kernelSize) {
        return new Builder(channels, kernelSize);
    }

    /** Creates the operator for validated parameters. */
    public static InvolutionAggregate create(InvolutionParams params) {
        return new InvolutionAggregate(Objects.requireNonNull(params, "params"));
    }

    public InvolutionParams params() {
        return params;
    }

    public Shape outputShape(Shape input) {
        return params.outputShape(input);
    }

    /** The shape the kernels tensor must have for this input: {@code [N, G·K·K, outH, outW]}. */
    public Shape kernelsShape(Shape input) {
        return params.kernelsShape(input);
    }

    /** Computes the output into a new tensor of {@code arena}, in the input's layout. */
    public Tensor apply(Tensor input, Tensor kernels, Arena arena) {
        Tensor out = Tensor.allocate(arena, outputShape(input.shape()), input.layout());
        apply(input, kernels, out, Context.shared());
        return out;
    }

    public void apply(Tensor input, Tensor kernels, Tensor out) {
        apply(input, kernels, out, Context.shared());
    }

    /** {@code kernels} and {@code out} are in the input's layout. */
    public void apply(Tensor input, Tensor kernels, Tensor out, Context context) {
        Objects.requireNonNull(context, "context");
        MemorySegment self = handle();
        Layout layout = input == null ? null : input.layout();
        MemorySegment src = argument("input", input, layout);
        MemorySegment k = argument("kernels", kernels, layout);
        MemorySegment dst = argument("out", out, layout);
        Shape in = input.shape();
        Shape expectedKernels = params.kernelsShape(in);
        if (!kernels.shape().equals(expectedKernels)) {
            throw new IllegalArgumentException(name() + ": kernels has shape " + kernels.shape()
                    + " but input " + in + " needs " + expectedKernels + " ([N, G*K*K, out_h, out_w] with G="
                    + params.groups() + ", K=" + params.kernelSize() + ")");
        }
        checkOutputShape("out", out, params.outputShape(in));
        checkNoOverlap("input", src, dst);
        checkNoOverlap("kernels", k, dst);
        Status.check(invconv_h.ic_involution_aggregate_run(self, context.handle(), layout.nativeValue(),
                in.n(), in.h(), in.w(), src, src.byteSize(), k, k.byteSize(), dst, dst.byteSize()));
    }

    @Override
    public String toString() {
        return "InvolutionAggregate" + params;
    }

    private static MemorySegment nativeParams(Arena arena, InvolutionParams p) {
        MemorySegment s = ic_involution_params.allocate(arena);
        ic_involution_params.datatype(s, invconv_h.IC_DATATYPE_F32());
        ic_involution_params.channels(s, p.channels());
        ic_involution_params.kernel_size(s, p.kernelSize());
        ic_involution_params.stride(s, p.stride());
        ic_involution_params.dilation(s, p.dilation());
        ic_involution_params.group_channels(s, p.groupChannels());
        return s;
    }

    /** Collects the hyper-parameters; {@link #build} validates them. */
    public static final class Builder {
        private final long channels;
        private final long kernelSize;
        private long stride = 1;
        private long dilation = 1;
        private long groupChannels = 16;

        Builder(long channels, long kernelSize) {
            this.channels = channels;
            this.kernelSize = kernelSize;
        }

        public Builder stride(long stride) {
            this.stride = stride;
            return this;
        }

        /** An extension: the official code has dilation 1. */
        public Builder dilation(long dilation) {
            this.dilation = dilation;
            return this;
        }

        /** Channels sharing one kernel; official default 16. */
        public Builder groupChannels(long groupChannels) {
            this.groupChannels = groupChannels;
            return this;
        }

        public InvolutionParams params() {
            return new InvolutionParams(channels, kernelSize, stride, dilation, groupChannels);
        }

        public InvolutionAggregate build() {
            return create(params());
        }
    }
}
