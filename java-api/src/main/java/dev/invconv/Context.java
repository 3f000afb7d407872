package dev.invconv;

import dev.invconv.bindings.invconv_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;

/**
 * The native worker threads that operators run on.
 *
 * <p>A context may be used by many Java threads at once; their runs share its workers (a run that
 * finds them busy computes on its own thread), and results are bit-identical for any thread
 * count. Operators run on {@link #shared()} unless given a context.
 */
public final class Context implements AutoCloseable {

    /** System property with the thread count of {@link #shared()}; default: all CPUs. */
    public static final String THREADS_PROPERTY = "invconv.threads";

    private final Arena arena;
    private final MemorySegment self;
    private final int threads;
    private final boolean closeable;

    private Context(int threads, boolean closeable) {
        NativeLibrary.ensureLoaded();
        if (threads < 0) {
            throw new IllegalArgumentException("context: threads=" + threads + " must be >= 0 (0 means one per CPU)");
        }
        Arena owner = Arena.ofShared();
        try {
            MemorySegment out = owner.allocate(ADDRESS);
            Status.check(invconv_h.ic_context_create(threads, out));
            this.self = out.get(ADDRESS, 0).reinterpret(owner, invconv_h::ic_context_destroy);
            this.threads = invconv_h.ic_context_num_threads(self);
        } catch (RuntimeException | Error e) {
            owner.close();
            throw e;
        }
        this.arena = owner;
        this.closeable = closeable;
    }

    /**
     * Starts a context with {@code threads} threads in all, the calling thread of a run included;
     * 0 means one per online CPU.
     */
    public static Context create(int threads) {
        return new Context(threads, true);
    }

    /**
     * The process-wide context, started on first use with {@value #THREADS_PROPERTY} threads
     * (default: one per CPU). It lives as long as the class loader and cannot be closed.
     */
    public static Context shared() {
        return Shared.INSTANCE;
    }

    private static final class Shared {
        static final Context INSTANCE = new Context(Integer.getInteger(THREADS_PROPERTY, 0), false);
    }

    /** The number of threads, the calling thread of a run included. */
    public int threads() {
        return threads;
    }

    /** The native handle, for downcalls; fails if the context is closed. */
    MemorySegment handle() {
        if (!arena.scope().isAlive()) {
            throw new IllegalStateException("context is closed");
        }
        return self;
    }

    /**
     * Stops the workers. Fails with {@link IllegalStateException} while a run uses the context,
     * and for {@link #shared()}.
     */
    @Override
    public void close() {
        if (!closeable) {
            throw new IllegalStateException("the shared context cannot be closed");
        }
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "Context[threads=" + threads + "]";
    }
}
