package dev.invconv;

import dev.invconv.bindings.invconv_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

/**
 * The native library as a whole: version, CPU dispatch, memory for activations, where it was
 * loaded from.
 */
public final class Invconv {

    private Invconv() {}

    /** The native library's version, "MAJOR.MINOR.PATCH". */
    public static String version() {
        NativeLibrary.ensureLoaded();
        return Status.string(invconv_h.ic_version_string());
    }

    /** The ISA whose kernels operators built from now on use. */
    public static Isa activeIsa() {
        NativeLibrary.ensureLoaded();
        return Isa.ofNative(invconv_h.ic_active_isa());
    }

    /** The highest ISA this CPU supports, whatever the limit. */
    public static Isa detectedIsa() {
        NativeLibrary.ensureLoaded();
        return Isa.ofNative(invconv_h.ic_detected_isa());
    }

    /**
     * Limits the ISA of operators built after this call (built ones keep theirs), e.g. to test
     * the AVX2 and scalar paths on an AVX-512 machine. The environment variable
     * {@code INVCONV_MAX_ISA} sets the initial limit.
     */
    public static void setMaxIsa(Isa isa) {
        NativeLibrary.ensureLoaded();
        Status.check(invconv_h.ic_set_max_isa(isa.nativeValue()));
    }

    /**
     * Measures this machine's fp32 peak, the yardstick of "% of peak": independent fused
     * multiply-adds on the active ISA's widest vectors (scalar code when limited to scalar), on
     * every thread of {@code context} at once, for about {@code seconds}. Other work on the
     * machine lowers the figure; it never counts work that did not happen.
     *
     * @param seconds between 0.05 and 10
     * @return the GFLOP/s of all the context's threads together (2 FLOPs per lane and FMA)
     * @throws IllegalArgumentException if {@code seconds} is out of range
     */
    public static double measurePeakGflops(Context context, double seconds) {
        return probe("ic_measure_peak_gflops", context, seconds, invconv_h::ic_measure_peak_gflops);
    }

    /**
     * Measures the memory bandwidth {@code context}'s threads reach, the yardstick of
     * memory-bound layers (depthwise): STREAM's "copy" of a 64 MiB buffer into another (far
     * larger than the caches), best pass of about {@code seconds}. Allocates 128 MiB of native
     * memory while it runs.
     *
     * @param seconds between 0.05 and 10
     * @return GB/s (10<sup>9</sup> bytes) read plus written, all threads together
     * @throws IllegalArgumentException if {@code seconds} is out of range
     */
    public static double measureBandwidthGbps(Context context, double seconds) {
        return probe("ic_measure_bandwidth_gbps", context, seconds, invconv_h::ic_measure_bandwidth_gbps);
    }

    /** A native probe: {@code (context, seconds, double* out) -> ic_status_t}. */
    @FunctionalInterface
    private interface Probe {
        int run(MemorySegment context, double seconds, MemorySegment out);
    }

    /** Runs a probe for about {@code seconds} (0.05 to 10, checked here too) and returns its figure. */
    private static double probe(String name, Context context, double seconds, Probe probe) {
        Objects.requireNonNull(context, "context");
        if (!(seconds >= 0.05 && seconds <= 10)) {
            throw new IllegalArgumentException(name + ": seconds=" + seconds + " must be between 0.05 and 10");
        }
        NativeLibrary.ensureLoaded();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_DOUBLE);
            Status.check(probe.run(context.handle(), seconds, out));
            return out.get(JAVA_DOUBLE, 0);
        }
    }

    /**
     * Native memory for activations, the kind the operators stream through fastest: zeroed,
     * 64-byte aligned, and from 1 MiB on in whole 2 MiB pages advised as transparent huge pages
     * (Linux; ordinary pages where the kernel refuses them, and elsewhere). A network pass
     * writes and reads tens of MB of activations, and in 4 KB pages every layer walks the page
     * tables for them again; {@link dev.invconv.model.Network} keeps its workspace here. Any
     * memory works with the operators; this is the faster kind for large tensors.
     *
     * @param arena frees the memory when it closes
     * @param bytes at least 1
     * @throws IllegalArgumentException if {@code bytes} is below 1
     * @throws IllegalStateException    if {@code arena} is closed
     * @throws OutOfMemoryError         if the system has no such block
     */
    public static MemorySegment allocateActivations(Arena arena, long bytes) {
        Objects.requireNonNull(arena, "arena");
        if (bytes < 1) {
            throw new IllegalArgumentException("allocateActivations: bytes=" + bytes + " must be at least 1");
        }
        if (!arena.scope().isAlive()) {
            throw new IllegalStateException("allocateActivations: the arena is closed");
        }
        NativeLibrary.ensureLoaded();
        MemorySegment address;
        try (Arena local = Arena.ofConfined()) {
            MemorySegment out = local.allocate(ADDRESS);
            Status.check(invconv_h.ic_buffer_alloc(bytes, out));
            address = out.get(ADDRESS, 0);
        }
        MemorySegment memory;
        try {
            memory = address.reinterpret(bytes, arena, invconv_h::ic_buffer_free);
        } catch (RuntimeException | Error e) {
            invconv_h.ic_buffer_free(address); // the arena closed in between: it will not free it
            throw e;
        }
        return memory.fill((byte) 0);
    }

    /** Where the native library was loaded from (a path, or the bundled resource). */
    public static String libraryOrigin() {
        return NativeLibrary.origin();
    }
}
