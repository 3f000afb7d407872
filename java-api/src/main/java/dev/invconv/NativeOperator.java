package dev.invconv;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;

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

    NativeOperator(String name, Create create, Consumer<MemorySegment> destroy) {
        NativeLibrary.ensureLoaded();
        this.name = name;
        Arena owner = Arena.ofShared();
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment out = scratch.allocate(ADDRESS);
            Status.check(create.call(scratch, out));
            this.self = out.get(ADDRESS, 0).reinterpret(owner, destroy);
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
        if (tensor == null) {
            throw new NullPointerException(name + ": " + role + " is null");
        }
        tensor.checkAlive();
        if (tensor.layout() != layout) {
            throw new IllegalArgumentException(name + ": " + role + " is " + tensor.layout()
                    + " but the input is " + layout + "; convert it with Tensor.toLayout");
        }
        MemorySegment segment = tensor.segment();
        if (!segment.isNative()) {
            throw new IllegalArgumentException(name + ": " + role
                    + " is on the Java heap; native kernels need an off-heap tensor (Tensor.allocate)");
        }
        return segment;
    }

    /** Checks that {@code out} has the shape the operator produces for the input. */
    final void checkOutputShape(String role, Tensor out, Shape expected) {
        if (!out.shape().equals(expected)) {
            throw new IllegalArgumentException(name + ": " + role + " has shape " + out.shape()
                    + " but the output is " + expected);
        }
    }

    /** The destination must not overlap a source: the kernels read sources while writing it. */
    final void checkNoOverlap(String role, MemorySegment source, MemorySegment destination) {
        if (source.asOverlappingSlice(destination).isPresent()) {
            throw new IllegalArgumentException(name + ": the output overlaps the " + role);
        }
    }
}
