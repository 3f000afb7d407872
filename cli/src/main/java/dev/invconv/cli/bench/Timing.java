package dev.invconv.cli.bench;

import java.util.Arrays;

/**
 * Times a piece of work the way {@code invconv bench} does: warm-up runs first (JIT, caches,
 * thread wake-up; the caches are warm for the timed runs, which reuse the same data), then
 * single runs timed with {@link System#nanoTime()} until both a minimum count and a minimum
 * time are reached.
 *
 * @param warmupSeconds warm up at least this long
 * @param warmupRuns    and at least this many runs
 * @param seconds       time at least this long
 * @param minRuns       and at least this many runs
 * @param maxRuns       but never more runs than this
 */
public record Timing(double warmupSeconds, int warmupRuns, double seconds, int minRuns, int maxRuns) {

    /** The default budget per native case: 0.3 s warm-up, then ≥ 1 s and ≥ 10 runs. */
    public static final Timing NATIVE = new Timing(0.3, 3, 1.0, 10, 5000);
    /** {@code --quick}: 0.05 s warm-up, then ≥ 0.15 s and ≥ 5 runs. */
    public static final Timing NATIVE_QUICK = new Timing(0.05, 2, 0.15, 5, 2000);
    /** The plain-Java reference (seconds per run on big layers): one warm-up run, then 3 runs. */
    public static final Timing JAVA = new Timing(0, 1, 0, 3, 3);
    /** {@code --quick} plain Java: one warm-up run (the JIT), one timed run. */
    public static final Timing JAVA_QUICK = new Timing(0, 1, 0, 1, 1);

    /** The same budget with another minimum timed duration ({@code --seconds}). */
    public Timing withSeconds(double newSeconds) {
        return new Timing(warmupSeconds, warmupRuns, newSeconds, minRuns, maxRuns);
    }

    /** Warms up, then times single runs of {@code work}. */
    public Stats measure(Runnable work) {
        long start = System.nanoTime();
        for (int i = 0; i < warmupRuns || System.nanoTime() - start < warmupSeconds * 1e9; i++) {
            work.run();
        }
        double[] samples = new double[Math.max(minRuns, 16)];
        int count = 0;
        start = System.nanoTime();
        while (count < maxRuns && (count < minRuns || System.nanoTime() - start < seconds * 1e9)) {
            long t0 = System.nanoTime();
            work.run();
            long t1 = System.nanoTime();
            if (count == samples.length) {
                samples = Arrays.copyOf(samples, samples.length * 2);
            }
            samples[count++] = (t1 - t0) / 1e6;
        }
        return Stats.of(Arrays.copyOf(samples, count));
    }

    /**
     * Summary of timed runs, in milliseconds.
     *
     * @param median  the 50th percentile
     * @param p10     the 10th percentile
     * @param p90     the 90th percentile
     * @param min     the fastest run
     * @param samples how many runs were timed
     */
    public record Stats(double median, double p10, double p90, double min, int samples) {

        /** Percentiles by linear interpolation between order statistics. */
        public static Stats of(double[] millis) {
            if (millis.length == 0) {
                throw new IllegalArgumentException("timing: no samples");
            }
            double[] sorted = millis.clone();
            Arrays.sort(sorted);
            return new Stats(percentile(sorted, 0.5), percentile(sorted, 0.1), percentile(sorted, 0.9), sorted[0],
                    sorted.length);
        }

        private static double percentile(double[] sorted, double q) {
            double at = q * (sorted.length - 1);
            int below = (int) Math.floor(at);
            int above = Math.min(below + 1, sorted.length - 1);
            return sorted[below] + (at - below) * (sorted[above] - sorted[below]);
        }
    }
}
