package dev.invconv;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

import static java.lang.foreign.ValueLayout.ADDRESS;

/**
 * What every native-backed operator shares: the C object's handle, owned by a shared arena whose
 * closing calls the C destroy function, and the checks made before any downcall.
 *
 * <p>While a downcall runs, the FFM runtime keeps the handle's arena acquired, so
 * {@link #close()} during a run on another thread fails with {@link IllegalStateException}
 * instead of freeing memory in use.
 */
abstract class NativeOperator implements AutoCloseable {

    /** A native create call: fills the out-pointer {@code handleOut} and returns a status. */
    @FunctionalInterface
    interface Create {
        int call(Arena scratch, MemorySegment handleOut);
    }

    private final String name;
    private final Arena arena;
    private final MemorySegment self;
    private final String kernelName;

    /**
     * @param kernelName the C function returning the kernel name of a handle; read once here,
     *                   so that no later call reads operator-owned memory a concurrent close
     *                   could free
     */
    NativeOperator(String name, Create create, Consumer<MemorySegment> destroy,
                   UnaryOperator<MemorySegment> kernelName) {
        NativeLibrary.ensureLoaded();
        this.name = name;
        Arena owner = Arena.ofShared();
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment out = scratch.allocate(ADDRESS);
            Status.check(create.call(scratch, out));
            this.self = out.get(ADDRESS, 0).reinterpret(owner, destroy);
            this.kernelName = Status.string(kernelName.apply(self));
        } catch (RuntimeException | Error e) {
            owner.close();
            throw e;
        }
        this.arena = owner;
    }

    /** The native handle; fails if the operator is closed. */
    final MemorySegment handle() {
        if (!arena.scope().isAlive()) {
            throw new IllegalStateException(name + " is closed");
        }
        return self;
    }

    final String name() {
        return name;
    }

    /**
     * The native kernel(s) this operator runs, e.g. {@code f32_conv2d_direct__scalar}; chained
     * kernels, and a convolution's direct and Winograd kernels, are joined with {@code +}.
     * Fixed at build time, when the ISA was chosen.
     */
    public final String kernelName() {
        handle(); // a closed operator answers nothing, like every other call
        return kernelName;
    }

    /** Frees the native operator. Closing twice is allowed; closing during a run is not. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }

    // ---- checks shared by the operators' run methods ------------------------------------------

    /** A tensor usable as a downcall argument: alive, off-heap, in the given layout. */
    final MemorySegment argument(String role, Tensor tensor, Layout layout) {
        return argument(name, role, tensor, layout);
    }

    /** Checks that {@code out} has the shape the operator produces for the input. */
    final void checkOutputShape(String role, Tensor out, Shape expected) {
        checkOutputShape(name, role, out, expected);
    }

    /** The destination must not overlap a source: the kernels read sources while writing it. */
    final void checkNoOverlap(String role, MemorySegment source, MemorySegment destination) {
        checkNoOverlap(name, role, source, destination);
    }

    // The same checks for stateless operations (GlobalAveragePool), which have no object.

    /**
     * A tensor usable as a downcall argument of operation {@code op}: alive, off-heap, and in
     * {@code layout} (any layout when {@code layout} is null).
     */
    static MemorySegment argument(String op, String role, Tensor tensor, Layout layout) {
        if (tensor == null) {
            throw new NullPointerException(op + ": " + role + " is null");
        }
        tensor.checkAlive();
        if (layout != null && tensor.layout() != layout) {
            throw new IllegalArgumentException(op + ": " + role + " is " + tensor.layout()
                    + " but the input is " + layout + "; convert it with Tensor.toLayout");
        }
        MemorySegment segment = tensor.segment();
        if (!segment.isNative()) {
            throw new IllegalArgumentException(op + ": " + role
                    + " is on the Java heap; native kernels need an off-heap tensor (Tensor.allocate)");
        }
        return segment;
    }

    static void checkOutputShape(String op, String role, Tensor out, Shape expected) {
        if (!out.shape().equals(expected)) {
            throw new IllegalArgumentException(op + ": " + role + " has shape " + out.shape()
                    + " but the output is " + expected);
        }
    }

    static void checkNoOverlap(String op, String role, MemorySegment source, MemorySegment destination) {
        if (source.asOverlappingSlice(destination).isPresent()) {
            throw new IllegalArgumentException(op + ": the output overlaps the " + role);
        }
    }
}
