package dev.invconv.cli.bench;

import dev.invconv.Context;
import dev.invconv.Invconv;

/**
 * The machine's fp32 peak as {@code invconv bench} and {@code invconv info} report it: the best
 * of several short runs of the library's FMA-loop probe ({@link Invconv#measurePeakGflops}) on
 * every thread of the context. Taking the best short window, like the bench's medians of short
 * runs, keeps a busy moment on the machine from lowering the yardstick (which would inflate
 * "% of peak"); on a quiet machine every window gives about the same figure.
 */
public final class Peak {

    /** Seconds of one probe window. */
    public static final double WINDOW_SECONDS = 0.1;

    private Peak() {}

    /** The best GFLOP/s of {@code windows} probe windows of {@value #WINDOW_SECONDS} s each. */
    public static double measure(Context context, int windows) {
        if (windows < 1) {
            throw new IllegalArgumentException("peak: windows=" + windows + " must be >= 1");
        }
        double best = 0;
        for (int i = 0; i < windows; i++) {
            best = Math.max(best, Invconv.measurePeakGflops(context, WINDOW_SECONDS));
        }
        return best;
    }
}
