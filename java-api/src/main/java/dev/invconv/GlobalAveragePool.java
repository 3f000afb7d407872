package dev.invconv;

import dev.invconv.bindings.invconv_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Global average pooling, {@code [N, C, H, W] → [N, C, 1, 1]}: the mean of each channel plane,
 * the neck of ResNet and RedNet. Stateless: there is nothing to create or close.
 *
 * <pre>{@code
 * Tensor pooled = GlobalAveragePool.apply(features, arena);
 * }</pre>
 */
public final class GlobalAveragePool {

    private static final String OP = "global_average_pool";

    private GlobalAveragePool() {}

    /** The output shape {@code [N, C, 1, 1]} for an input of shape {@code input}. */
    public static Shape outputShape(Shape input) {
        Checks.notNull(OP, "input shape", input);
        return new Shape(input.n(), input.c(), 1, 1);
    }

    /** Computes the means into a new tensor of {@code arena}, in the input's layout. */
    public static Tensor apply(Tensor input, Arena arena) {
        Objects.requireNonNull(arena, "arena");
        Checks.notNull(OP, "input", input);
        Tensor out = Tensor.allocate(arena, outputShape(input.shape()), input.layout());
        apply(input, out, Context.shared());
        return out;
    }

    /**
     * Computes the means into {@code out}, of shape {@code [N, C, 1, 1]}. Such a tensor is the
     * same memory in either layout, so {@code out} may have any layout.
     */
    public static void apply(Tensor input, Tensor out, Context context) {
        Objects.requireNonNull(context, "context");
        MemorySegment src = NativeOperator.argument(OP, "input", input, null);
        MemorySegment dst = NativeOperator.argument(OP, "out", out, null);
        Shape in = input.shape();
        NativeOperator.checkOutputShape(OP, "out", out, outputShape(in));
        NativeOperator.checkNoOverlap(OP, "input", src, dst);
        NativeLibrary.ensureLoaded();
        Status.check(invconv_h.ic_global_average_pool_run(context.handle(), input.layout().nativeValue(),
                in.n(), in.c(), in.h(), in.w(), src, src.byteSize(), dst, dst.byteSize()));
    }
}
