package dev.invconv.model;

import dev.invconv.Shape;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Per-layer wall-clock times of forward passes
 * ({@link Network#forward(dev.invconv.Tensor, dev.invconv.Tensor, dev.invconv.Context, Profile)}):
 * one entry per operator, in execution order, summed over the passes recorded. A residual
 * block's add is timed with the convolution it is fused into. Safe to share between threads.
 */
public final class Profile {

    /**
     * One operator's totals.
     *
     * @param name        the layer's module path
     * @param description what it computes, e.g. {@code conv 1x1 64→256 +bn}
     * @param output      its output shape in the last pass
     * @param calls       how many passes recorded it
     * @param nanos       the total time of those calls
     * @param macs        the multiply-accumulates of those calls
     */
    public record Entry(String name, String description, Shape output, long calls, long nanos, long macs) {

        /** Mean milliseconds per call. */
        public double millisPerCall() {
            return calls == 0 ? 0 : nanos / 1e6 / calls;
        }

        /** Billions of multiply-accumulates per second, 0 when nothing was timed. */
        public double gmacsPerSecond() {
            return nanos == 0 ? 0 : (double) macs / nanos;
        }
    }

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private long passes;

    synchronized void record(Layer layer, Shape input, Shape output, long nanos) {
        record(new Entry(layer.name(), layer.describe(), output, 1, nanos, layer.macs(input)));
    }

    /** A step that is no layer: the network's layout conversions at its edges. */
    synchronized void record(String name, String description, Shape output, long nanos) {
        record(name, description, output, nanos, 0);
    }

    /** A step of several layers run as one operator (a convolution and its pool). */
    synchronized void record(String name, String description, Shape output, long nanos, long macs) {
        record(new Entry(name, description, output, 1, nanos, macs));
    }

    private void record(Entry entry) {
        entries.merge(entry.name(), entry,
                (a, b) -> new Entry(a.name(), a.description(), b.output(), a.calls() + 1, a.nanos() + b.nanos(),
                        a.macs() + b.macs()));
    }

    synchronized void countPass() {
        passes++;
    }

    /** The entries, in the order the operators first ran. */
    public synchronized List<Entry> entries() {
        return new ArrayList<>(entries.values());
    }

    /** The number of forward passes recorded. */
    public synchronized long passes() {
        return passes;
    }

    /** The time of all operators, in nanoseconds. */
    public synchronized long totalNanos() {
        return entries.values().stream().mapToLong(Entry::nanos).sum();
    }

    /** Forgets everything recorded. */
    public synchronized void reset() {
        entries.clear();
        passes = 0;
    }

    /**
     * A table: one row per operator with its mean time per pass, share of the total, MACs and
     * throughput, then the total.
     */
    public synchronized String format() {
        StringBuilder table = new StringBuilder();
        int width = Math.max(5, entries.keySet().stream().mapToInt(String::length).max().orElse(5));
        String row = "%-" + width + "s  %-34s  %-18s  %9s  %6s  %9s  %7s%n";
        table.append(String.format(Locale.ROOT, row, "layer", "operation", "output", "ms/pass", "%", "MMACs", "GMAC/s"));
        long total = Math.max(1, totalNanos());
        long perPass = Math.max(1, passes);
        long macs = 0;
        for (Entry e : entries.values()) {
            macs += e.macs();
            table.append(String.format(Locale.ROOT, row, e.name(), truncate(e.description(), 34),
                    e.output(), String.format(Locale.ROOT, "%.3f", e.nanos() / 1e6 / perPass),
                    String.format(Locale.ROOT, "%.1f", 100.0 * e.nanos() / total),
                    String.format(Locale.ROOT, "%.1f", e.macs() / 1e6 / perPass),
                    String.format(Locale.ROOT, "%.1f", e.gmacsPerSecond())));
        }
        table.append(String.format(Locale.ROOT, row, "total", entries.size() + " operators", "",
                String.format(Locale.ROOT, "%.3f", totalNanos() / 1e6 / perPass), "100.0",
                String.format(Locale.ROOT, "%.1f", macs / 1e6 / perPass),
                String.format(Locale.ROOT, "%.1f", (double) macs / total)));
        return table.toString();
    }

    private static String truncate(String text, int width) {
        return text.length() <= width ? text : text.substring(0, width - 1) + "…";
    }
}
