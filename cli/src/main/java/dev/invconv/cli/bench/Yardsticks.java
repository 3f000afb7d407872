package dev.invconv.cli.bench;

import dev.invconv.Context;
import dev.invconv.Invconv;

import java.io.PrintStream;

/**
 * What {@code invconv bench} measures its cases against, on the same context: the fp32 peak
 * ({@link Peak}, for compute-bound layers) and the memory bandwidth
 * ({@link Invconv#measureBandwidthGbps}, STREAM copy, for memory-bound ones: SPEC §6 wants
 * depthwise at >= 70 % of it). Either is NaN when it could not be measured.
 *
 * @param peakGflops    the measured fp32 peak of the context's threads
 * @param bandwidthGbps the measured copy bandwidth of the context's threads, GB/s read + written
 */
public record Yardsticks(double peakGflops, double bandwidthGbps) {

    /** Seconds of the bandwidth probe: several passes over 128 MiB. */
    static final double BANDWIDTH_SECONDS = 0.3;

    /**
     * Measures both on {@code context}: the best of {@code peakWindows} peak windows, then the
     * bandwidth. A probe the library refuses is reported on {@code err} and left NaN.
     */
    public static Yardsticks measure(Context context, int peakWindows, PrintStream err) {
        double peak = Double.NaN;
        double bandwidth = Double.NaN;
        try {
            peak = Peak.measure(context, peakWindows);
        } catch (UnsupportedOperationException | IllegalStateException e) {
            err.println("bench: peak not measured (" + e.getMessage() + "); % of peak omitted");
        }
        try {
            bandwidth = Invconv.measureBandwidthGbps(context, BANDWIDTH_SECONDS);
        } catch (UnsupportedOperationException | IllegalStateException | OutOfMemoryError e) {
            err.println("bench: bandwidth not measured (" + e.getMessage() + "); % of bandwidth omitted");
        }
        return new Yardsticks(peak, bandwidth);
    }
}
