package dev.invconv.cli.bench;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The measurement of one case: what {@code invconv bench} prints, writes to JSON and charts.
 *
 * @param suite       the suite it ran in
 * @param benchCase   the case
 * @param kernelName  the native kernel(s) it ran
 * @param timing      the native timings
 * @param java        the plain-Java timings, or null when not measured
 * @param verdict     the self-check, or null when skipped
 * @param checkedOn   the problem the self-check ran on (the case itself, or its smaller variant)
 * @param yardsticks  the measured fp32 peak and memory bandwidth of the context's threads
 * @param threads     native threads
 * @param isa         the active ISA, e.g. {@code avx512}
 * @param quick       whether {@code --quick} budgets were used
 * @param loadAverage the 1-minute load average when the case ran, or NaN
 */
public record BenchResult(String suite, BenchCase benchCase, String kernelName, Timing.Stats timing,
                          Timing.Stats java, BenchCase.Verdict verdict, String checkedOn, Yardsticks yardsticks,
                          int threads, String isa, boolean quick, double loadAverage) {

    /** GFLOP/s at the median time. */
    public double gflops() {
        return benchCase.flops() / (timing.median() * 1e6);
    }

    /** Percent of the measured peak at the median time, or NaN. */
    public double percentOfPeak() {
        return 100 * gflops() / yardsticks.peakGflops();
    }

    /** Percent of the measured memory bandwidth at the median time, or NaN. */
    public double percentOfBandwidth() {
        return 100 * gbps() / yardsticks.bandwidthGbps();
    }

    /** GB/s of the least memory traffic at the median time, or NaN when the case has no byte count. */
    public double gbps() {
        return benchCase.bytes() > 0 ? benchCase.bytes() / (timing.median() * 1e6) : Double.NaN;
    }

    /** The plain-Java median over the native one, or NaN. */
    public double speedupOverJava() {
        return java == null ? Double.NaN : java.median() / timing.median();
    }

    /** One JSON object (one line), the fields of the issue first. */
    public String toJson() {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("name", benchCase.name());
        f.put("suite", suite);
        f.put("op", benchCase.op());
        f.put("n", benchCase.input().n());
        f.put("c", benchCase.input().c());
        f.put("h", benchCase.input().h());
        f.put("w", benchCase.input().w());
        f.put("out_channels", benchCase.outChannels());
        f.put("kernel", benchCase.kernel() == 0 ? null : benchCase.kernel());
        f.put("stride", benchCase.stride() == 0 ? null : benchCase.stride());
        f.put("groups", benchCase.groups() == 0 ? null : benchCase.groups());
        f.put("median_ms", timing.median());
        f.put("gflops", gflops());
        f.put("pct_peak", percentOfPeak());
        f.put("p10_ms", timing.p10());
        f.put("p90_ms", timing.p90());
        f.put("min_ms", timing.min());
        f.put("samples", timing.samples());
        f.put("flops", benchCase.flops());
        f.put("bytes", benchCase.bytes() > 0 ? benchCase.bytes() : null);
        f.put("gbps", gbps());
        f.put("pct_bandwidth", percentOfBandwidth());
        f.put("bandwidth_gbps", yardsticks.bandwidthGbps());
        f.put("count", benchCase.count());
        f.put("target_ms", benchCase.targetMs());
        f.put("peak_gflops", yardsticks.peakGflops());
        f.put("threads", threads);
        f.put("isa", isa);
        f.put("kernel_name", kernelName);
        f.put("check", verdict == null ? "skipped" : verdict.passed() ? "pass" : "FAIL");
        f.put("check_max_error", verdict == null ? null : verdict.maxError());
        f.put("checked_on", checkedOn);
        f.put("java_median_ms", java == null ? null : java.median());
        f.put("java_gflops", java == null ? null : benchCase.flops() / (java.median() * 1e6));
        f.put("java_samples", java == null ? null : java.samples());
        f.put("speedup_vs_java", speedupOverJava());
        f.put("caches", "warm");
        f.put("layout", "nchw");
        f.put("quick", quick);
        f.put("load_avg_1m", loadAverage);
        StringBuilder s = new StringBuilder("{");
        for (Map.Entry<String, Object> e : f.entrySet()) {
            if (s.length() > 1) {
                s.append(", ");
            }
            s.append(quote(e.getKey())).append(": ").append(value(e.getValue()));
        }
        return s.append('}').toString();
    }

    private static String value(Object v) {
        if (v == null) {
            return "null";
        }
        if (v instanceof Double d) {
            if (d.isNaN() || d.isInfinite()) {
                return "null";
            }
            return d == Math.rint(d) && Math.abs(d) < 1e15 ? String.valueOf(d.longValue())
                    : String.format(Locale.ROOT, "%.6g", d);
        }
        if (v instanceof Number || v instanceof Boolean) {
            return v.toString();
        }
        return quote(v.toString());
    }

    static String quote(String s) {
        StringBuilder q = new StringBuilder("\"");
        for (char ch : s.toCharArray()) {
            switch (ch) {
                case '"' -> q.append("\\\"");
                case '\\' -> q.append("\\\\");
                case '\n' -> q.append("\\n");
                case '\r' -> q.append("\\r");
                case '\t' -> q.append("\\t");
                default -> {
                    if (ch < 0x20) {
                        q.append(String.format(Locale.ROOT, "\\u%04x", (int) ch));
                    } else {
                        q.append(ch);
                    }
                }
            }
        }
        return q.append('"').toString();
    }
}
