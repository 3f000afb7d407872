package dev.invconv;

import dev.invconv.bindings.ic_pool2d_params;
import dev.invconv.bindings.invconv_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * 2-D max or average pooling with the padding modes of {@link Conv2d} (dilation 1); see
 * {@link Pool2dParams} for the exact semantics.
 *
 * <pre>{@code
 * try (Pool2d pool = Pool2d.max(64, 3, 2, Padding.explicit(1, 1, 1, 1))) {   // ResNet's stem pool
 *     Tensor y = pool.apply(x, arena);
 * }
 * }</pre>
 *
 * <p>Immutable and safe to share between threads.
 */
public final class Pool2d extends NativeOperator {

    private final Pool2dParams params;

    private Pool2d(Pool2dParams params) {
        super("pool2d", (scratch, out) -> invconv_h.ic_pool2d_create(nativeParams(scratch, params), out),
                invconv_h::ic_pool2d_destroy, invconv_h::ic_pool2d_kernel_name);
        this.params = params;
    }

    /** Creates the operator for validated parameters. */
    public static Pool2d create(Pool2dParams params) {
        return new Pool2d(Objects.requireNonNull(params, "params"));
    }

    /**
     * Max pooling over {@code kernel × kernel} windows (PyTorch's {@code MaxPool2d} in floor mode;
     * its {@code padding=p} is {@code Padding.explicit(p, p, p, p)}).
     */
    public static Pool2d max(long channels, long kernel, long stride, Padding padding) {
        return create(Pool2dParams.max(channels, kernel, stride, padding));
    }

    /**
     * Average pooling over {@code kernel × kernel} windows (PyTorch's {@code AvgPool2d} in floor
     * mode, whose default is {@code countIncludePad = true}).
     */
    public static Pool2d average(long channels, long kernel, long stride, Padding padding, boolean countIncludePad) {
        return create(Pool2dParams.average(channels, kernel, stride, padding, countIncludePad));
    }

    /** The operator's hyper-parameters. */
    public Pool2dParams params() {
        return params;
    }

    /** The shape of the output for an input of the given shape; throws if the input does not fit. */
    public Shape outputShape(Shape input) {
        return params.outputShape(input);
    }

    /** Computes the output into a new tensor of {@code arena}, in the input's layout. */
    public Tensor apply(Tensor input, Arena arena) {
        Tensor out = Tensor.allocate(arena, outputShape(input.shape()), input.layout());
        apply(input, out, Context.shared());
        return out;
    }

    /** Computes the output into {@code out}, which must have the output's shape and the input's layout. */
    public void apply(Tensor input, Tensor out) {
        apply(input, out, Context.shared());
    }

    /** As {@link #apply(Tensor, Tensor)}, on the worker threads of {@code context}. */
    public void apply(Tensor input, Tensor out, Context context) {
        Objects.requireNonNull(context, "context");
        MemorySegment self = handle();
        Layout layout = input == null ? null : input.layout();
        MemorySegment src = argument("input", input, layout);
        MemorySegment dst = argument("out", out, layout);
        Shape in = input.shape();
        checkOutputShape("out", out, params.outputShape(in));
        checkNoOverlap("input", src, dst);
        Status.check(invconv_h.ic_pool2d_run(self, context.handle(), layout.nativeValue(),
                in.n(), in.h(), in.w(), src, src.byteSize(), dst, dst.byteSize()));
    }

    @Override
    public String toString() {
        return "Pool2d" + params;
    }

    private static MemorySegment nativeParams(Arena arena, Pool2dParams p) {
        MemorySegment s = ic_pool2d_params.allocate(arena);
        ic_pool2d_params.datatype(s, invconv_h.IC_DATATYPE_F32());
        ic_pool2d_params.pool(s, p.kind().nativeValue());
        ic_pool2d_params.padding(s, p.padding().nativeMode());
        ic_pool2d_params.count_include_pad(s, p.countIncludePad() ? 1 : 0);
        ic_pool2d_params.channels(s, p.channels());
        ic_pool2d_params.kernel_h(s, p.kernelH());
        ic_pool2d_params.kernel_w(s, p.kernelW());
        ic_pool2d_params.stride_h(s, p.strideH());
        ic_pool2d_params.stride_w(s, p.strideW());
        if (p.padding() instanceof Padding.Explicit e) {
            ic_pool2d_params.pad_top(s, e.top());
            ic_pool2d_params.pad_left(s, e.left());
            ic_pool2d_params.pad_bottom(s, e.bottom());
            ic_pool2d_params.pad_right(s, e.right());
        }
        return s;
    }
}
