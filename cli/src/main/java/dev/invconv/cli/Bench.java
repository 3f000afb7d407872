package dev.invconv.cli;

import dev.invconv.Context;
import dev.invconv.Conv2d;
import dev.invconv.Invconv;
import dev.invconv.cli.bench.BenchCase;
import dev.invconv.cli.bench.BenchChart;
import dev.invconv.cli.bench.BenchResult;
import dev.invconv.cli.bench.ModelCase;
import dev.invconv.cli.bench.OperatorCase;
import dev.invconv.cli.bench.Timing;
import dev.invconv.cli.bench.Yardsticks;
import dev.invconv.cli.bench.Suite;
import dev.invconv.cli.bench.Suites;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code invconv bench}: times suites of operator cases and whole models through
 * the Java API on the native library, prints a table per suite (median, GFLOP/s, % of the
 * measured fp32 peak), checks every case's output against the float64 plain-Java reference,
 * and optionally writes JSON (one object per case) and a PNG chart of native vs plain Java.
 * Exit code 1 when a self-check fails.
 */
final class Bench {

    static final String USAGE = """
              bench [OPTIONS]  time operator and model suites through the Java API; a table per suite
                               (median ms, GFLOP/s, %% of the measured fp32 peak), self-checks every
                               case against the plain-Java reference; exit 1 if a check fails
                --suite S[,S]    %s, all (default: all)
                --case PROBLEM   a problem string instead of suites, e.g. mb1ic64ih56oc64kh3sh1ph1,
                                 g32mb1ic32ih112oc32kh3sh1ph1, sep_mb1ic32ih112oc16kh3sh1ph1,
                                 inv_mb1ic64ih56kh7sh1gc16r4, or a model case: resnet50_mb1ih224
                                 (repeatable)
                --quick          short warm-up and timing, for a first run
                --seconds S      timed seconds per case (default 1, --quick 0.15)
                --compare-java   also time the plain-Java reference on every case (slow: seconds per
                                 big layer) and check the full-size output against it
                --json FILE      write one JSON object per case (a JSON array, one object a line)
                --chart FILE     write a PNG chart of native vs plain Java per suite
                                 (default with --json: FILE with .png instead of .json)
                --winograd       build the convolutions with Conv2d.Algorithm.WINOGRAD (the models'
                                 and the general conv cases': 3x3 stride 1 on large enough images)
                --no-check       skip the self-check
                --list           print the selected cases' problem strings (for the peer benchmarks)
            """;

    private Bench() {}

    static String usage() {
        return USAGE.formatted(String.join(", ", Suites.all().keySet()));
    }

    /** The bench's own arguments (after the global --threads / --max-isa). */
    record Args(String suites, List<String> cases, boolean quick, Double seconds, boolean compareJava,
                Path json, Path chart, boolean check, boolean list, long seed, boolean winograd) {

        static Args parse(String[] args) {
            String suites = null;
            List<String> cases = new ArrayList<>();
            boolean quick = false;
            Double seconds = null;
            boolean compareJava = false;
            Path json = null;
            Path chart = null;
            boolean check = true;
            boolean list = false;
            long seed = 42;
            boolean winograd = false;
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                String key = arg.contains("=") && arg.startsWith("--") ? arg.substring(0, arg.indexOf('=')) : arg;
                String inline = key.equals(arg) ? null : arg.substring(key.length() + 1);
                switch (key) {
                    case "--suite" -> suites = inline != null ? inline : value(args, ++i, key);
                    case "--case" -> cases.add(inline != null ? inline : value(args, ++i, key));
                    case "--quick" -> quick = true;
                    case "--seconds" -> seconds = positive(key, inline != null ? inline : value(args, ++i, key));
                    case "--compare-java" -> compareJava = true;
                    case "--json" -> json = Path.of(inline != null ? inline : value(args, ++i, key));
                    case "--chart" -> chart = Path.of(inline != null ? inline : value(args, ++i, key));
                    case "--no-check" -> check = false;
                    case "--list" -> list = true;
                    case "--winograd" -> winograd = true;
                    case "--seed" -> seed = Long.parseLong(inline != null ? inline : value(args, ++i, key));
                    default -> throw new IllegalArgumentException("bench: unknown argument '" + arg + "'");
                }
            }
            if (suites != null && !cases.isEmpty()) {
                throw new IllegalArgumentException("bench: give --suite or --case, not both");
            }
            if (chart == null && json != null) {
                String name = json.getFileName().toString();
                chart = json.resolveSibling((name.endsWith(".json") ? name.substring(0, name.length() - 5) : name) + ".png");
            }
            return new Args(suites == null && cases.isEmpty() ? "all" : suites, List.copyOf(cases), quick, seconds,
                    compareJava, json, chart, check, list, seed, winograd);
        }

        private static String value(String[] args, int i, String option) {
            if (i >= args.length) {
                throw new IllegalArgumentException("bench: " + option + " needs a value");
            }
            return args[i];
        }

        private static double positive(String option, String value) {
            try {
                double v = Double.parseDouble(value);
                if (!(v > 0)) {
                    throw new IllegalArgumentException("bench: " + option + " " + value + " must be > 0");
                }
                return v;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bench: " + option + " " + value + " is not a number");
            }
        }

        /** The selected suites; {@code --case} problems form one suite named "cases". */
        List<Suite> selectedSuites() {
            if (!cases.isEmpty()) {
                List<BenchCase> parsed = cases.stream()
                        .map(c -> ModelCase.isName(c) ? (BenchCase) ModelCase.parse(c) : OperatorCase.of(c, 1))
                        .toList();
                return List.of(new Suite("cases", "problem strings and model cases from --case", () -> parsed));
            }
            return Suites.select(suites);
        }

        Timing nativeTiming() {
            Timing t = quick ? Timing.NATIVE_QUICK : Timing.NATIVE;
            return seconds == null ? t : t.withSeconds(seconds);
        }

        Timing javaTiming() {
            return quick ? Timing.JAVA_QUICK : Timing.JAVA;
        }
    }

    static int run(Main.Options options, PrintStream out, PrintStream err) throws IOException {
        Args args = Args.parse(options.arguments());
        List<Suite> suites = args.selectedSuites();
        List<List<? extends BenchCase>> cases = new ArrayList<>();
        int total = 0;
        for (Suite suite : suites) {
            List<? extends BenchCase> list = suite.cases().get();
            if (args.winograd()) {
                list = list.stream().map(c -> c instanceof ModelCase m ? m.withAlgorithm(Conv2d.Algorithm.WINOGRAD)
                        : c instanceof OperatorCase o ? o.withAlgorithm(Conv2d.Algorithm.WINOGRAD) : c)
                        .toList();
            }
            cases.add(list);
            total += list.size();
        }
        if (args.list()) {
            for (int s = 0; s < suites.size(); s++) {
                out.println("# " + suites.get(s).name() + ": " + suites.get(s).description());
                cases.get(s).forEach(c -> out.println(c.name()));
            }
            return 0;
        }

        List<BenchResult> results = new ArrayList<>();
        int failures = 0;
        Progress progress = new Progress(err, total);
        try (Context context = options.openContext()) {
            String isa = Invconv.activeIsa().name().toLowerCase(Locale.ROOT);
            double load = loadAverage();
            Yardsticks yardsticks = Yardsticks.measure(context, args.quick() ? 3 : 10, err);
            out.printf(Locale.ROOT, "invconv bench: %d threads, isa %s, measured fp32 peak %.1f GFLOP/s, memory bandwidth"
                            + " %.1f GB/s (copy), load average %.2f%s%n", context.threads(), isa,
                    yardsticks.peakGflops(), yardsticks.bandwidthGbps(), load,
                    args.quick() ? ", --quick (indicative only)" : "");
            out.println("batch 1, fp32, NCHW in and out, bias on, no activation; medians of single runs with warm caches"
                    + (args.winograd() ? "; Winograd convolutions (--winograd)" : ""));
            if (load > 0.5 * Runtime.getRuntime().availableProcessors()) {
                out.printf(Locale.ROOT, "note: the machine is busy (load %.2f on %d CPUs): timings are unreliable%n", load,
                        Runtime.getRuntime().availableProcessors());
            }
            for (int s = 0; s < suites.size(); s++) {
                Suite suite = suites.get(s);
                Table table = new Table(out, suite, cases.get(s), args.compareJava());
                table.header();
                for (BenchCase benchCase : cases.get(s)) {
                    progress.next(suite.name(), benchCase.name());
                    BenchResult result;
                    try {
                        result = measure(suite.name(), benchCase, context, args, yardsticks, isa);
                    } catch (IllegalArgumentException | UnsupportedOperationException | IllegalStateException e) {
                        progress.clear(); // one case the library rejects does not stop the others
                        failures++;
                        table.error(benchCase, e.getMessage());
                        err.println("bench: " + benchCase.name() + ": " + e);
                        continue;
                    }
                    progress.clear();
                    table.row(result);
                    if (result.verdict() != null && !result.verdict().passed()) {
                        failures++;
                        err.println("bench: " + benchCase.name() + " FAILED its self-check on " + result.checkedOn()
                                + ": " + result.verdict().detail());
                    }
                    results.add(result);
                }
                table.footer();
            }
            progress.done();
        }
        if (args.json() != null) {
            writeJson(results, args.json());
            out.println("wrote " + args.json());
        }
        if (args.chart() != null) {
            try {
                BenchChart.write(results, "invconv bench: native vs plain Java ("
                        + (results.isEmpty() ? "" : results.get(0).threads() + " threads, " + results.get(0).isa()) + ")",
                        args.chart());
                out.println("wrote " + args.chart());
            } catch (IOException | RuntimeException | LinkageError | java.awt.AWTError e) {
                err.println("bench: chart not written (" + e + ")");
            }
        }
        if (failures > 0) {
            err.println("bench: " + failures + " case(s) failed the self-check");
            return 1;
        }
        return 0;
    }

    /**
     * Times one case: warm-up and timed native runs, optionally the plain-Java path (then the
     * self-check compares the full-size output with it), else the self-check on the case's
     * smaller variant.
     */
    static BenchResult measure(String suite, BenchCase benchCase, Context context, Args args, Yardsticks yardsticks,
                               String isa) {
        BenchCase.Verdict verdict = null;
        String checkedOn = null;
        BenchResult result;
        try (BenchCase.Prepared p = benchCase.prepare(context, args.seed())) {
            double load = loadAverage();
            Timing.Stats timing = args.nativeTiming().measure(p::run);
            Timing.Stats java = null;
            if (args.compareJava() && p.hasJava()) {
                java = args.javaTiming().measure(p::runJava);
                if (args.check()) {
                    verdict = p.check(); // the last native output against the last plain-Java result
                    checkedOn = benchCase.name();
                }
            }
            result = new BenchResult(suite, benchCase, p.kernelName(), timing, java, verdict, checkedOn, yardsticks,
                    context.threads(), isa, args.quick(), load);
        }
        if (args.check() && result.verdict() == null) {
            BenchCase small = benchCase.checkVariant();
            try (BenchCase.Prepared p = small.prepare(context, args.seed())) {
                if (p.hasJava()) {
                    p.run();
                    result = new BenchResult(suite, benchCase, result.kernelName(), result.timing(), result.java(),
                            p.check(), small.name(), yardsticks, result.threads(), isa, args.quick(), result.loadAverage());
                }
            }
        }
        return result;
    }

    /** The 1-minute load average from /proc/loadavg, or NaN where there is none. */
    static double loadAverage() {
        try {
            String text = Files.readString(Path.of("/proc/loadavg"), StandardCharsets.US_ASCII);
            return Double.parseDouble(text.substring(0, text.indexOf(' ')));
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    private static void writeJson(List<BenchResult> results, Path file) throws IOException {
        StringBuilder s = new StringBuilder("[\n");
        for (int i = 0; i < results.size(); i++) {
            s.append("  ").append(results.get(i).toJson()).append(i + 1 < results.size() ? ",\n" : "\n");
        }
        s.append("]\n");
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(file, s, StandardCharsets.UTF_8);
    }

    /** The table of one suite, printed row by row as the cases finish. */
    private static final class Table {
        private final PrintStream out;
        private final Suite suite;
        private final boolean java;
        private final boolean targets;
        private final boolean bandwidth;
        private final int nameWidth;
        private final int shapeWidth;
        private double totalMs;
        private boolean abovePeak;
        private double totalJavaMs;
        private int targetsMissed;

        Table(PrintStream out, Suite suite, List<? extends BenchCase> cases, boolean java) {
            this.out = out;
            this.suite = suite;
            this.java = java;
            this.targets = cases.stream().anyMatch(c -> !Double.isNaN(c.targetMs()));
            this.bandwidth = cases.stream().anyMatch(BenchCase::memoryBound);
            this.nameWidth = Math.max(12, cases.stream().mapToInt(c -> c.name().length()).max().orElse(12));
            this.shapeWidth = Math.max(5, cases.stream().mapToInt(c -> c.shapeText().length()).max().orElse(5));
        }

        void header() {
            out.printf("%n%s: %s%n", suite.name(), suite.description());
            StringBuilder h = new StringBuilder(String.format(Locale.ROOT, "%-" + nameWidth + "s  %-" + shapeWidth
                    + "s  %3s  %9s  %17s  %8s  %6s", "case", "shape", "x", "median ms", "p10-p90 ms", "GFLOP/s", "%peak"));
            if (bandwidth) {
                h.append(String.format(Locale.ROOT, "  %5s", "%bw"));
            }
            if (java) {
                h.append(String.format(Locale.ROOT, "  %10s  %7s", "java ms", "speedup"));
            }
            if (targets) {
                h.append(String.format(Locale.ROOT, "  %9s", "target ms"));
            }
            h.append("  check  kernel");
            out.println(h);
        }

        void row(BenchResult r) {
            BenchCase c = r.benchCase();
            Timing.Stats t = r.timing();
            StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "%-" + nameWidth + "s  %-" + shapeWidth
                            + "s  %3d  %9.4g  %8.4g-%-8.4g  %8.1f  %6s", c.name(), c.shapeText(), c.count(), t.median(),
                    t.p10(), t.p90(), r.gflops(), Double.isNaN(r.percentOfPeak()) ? "-"
                            : String.format(Locale.ROOT, "%.1f", r.percentOfPeak())));
            if (bandwidth) {
                s.append(c.memoryBound() && !Double.isNaN(r.percentOfBandwidth())
                        ? String.format(Locale.ROOT, "  %5.0f", r.percentOfBandwidth()) : String.format("  %5s", "-"));
            }
            totalMs += c.count() * t.median();
            abovePeak |= r.percentOfPeak() > 100;
            if (java) {
                if (r.java() != null) {
                    totalJavaMs += c.count() * r.java().median();
                    s.append(String.format(Locale.ROOT, "  %10.4g  %6.0fx", r.java().median(), r.speedupOverJava()));
                } else {
                    s.append(String.format(Locale.ROOT, "  %10s  %7s", "-", "-"));
                }
            }
            if (targets) {
                if (Double.isNaN(c.targetMs())) {
                    s.append(String.format(Locale.ROOT, "  %9s", ""));
                } else {
                    boolean met = t.median() <= c.targetMs();
                    targetsMissed += met ? 0 : 1;
                    s.append(String.format(Locale.ROOT, "  %5.3g %-3s", c.targetMs(), met ? "ok" : "MISS"));
                }
            }
            String check = r.verdict() == null ? "-" : r.verdict().passed() ? "ok" : "FAIL";
            s.append(String.format(Locale.ROOT, "  %-5s  %s", check, r.kernelName()));
            out.println(s);
        }

        void error(BenchCase c, String message) {
            out.printf(Locale.ROOT, "%-" + nameWidth + "s  %-" + shapeWidth + "s  %3d  ERROR: %s%n", c.name(),
                    c.shapeText(), c.count(), message);
        }

        void footer() {
            out.printf(Locale.ROOT, "total, each case times its count x: %.3f ms native%s%s%n", totalMs,
                    java ? String.format(Locale.ROOT, ", %.1f ms plain Java", totalJavaMs) : "",
                    targets ? (targetsMissed == 0 ? "; every target met" : "; " + targetsMissed + " target(s) missed") : "");
            if (abovePeak) {
                out.println("note: above 100 % of the measured peak means the peak probe ran in a busy moment (other"
                        + " load on the machine); rerun on a quiet machine");
            }
        }
    }

    /** The progress line on stderr: a bar redrawn in place on a terminal, one line per case otherwise. */
    private static final class Progress {
        private final PrintStream err;
        private final int total;
        private final boolean terminal;
        private final long start = System.nanoTime();
        private int done;

        Progress(PrintStream err, int total) {
            this.err = err;
            this.total = total;
            this.terminal = err == System.err && System.console() != null;
        }

        void next(String suite, String name) {
            done++;
            double elapsed = (System.nanoTime() - start) / 1e9;
            String eta = done > 1 ? String.format(Locale.ROOT, ", ~%.0f s left", elapsed / (done - 1) * (total - done + 1)) : "";
            if (terminal) {
                int width = 24;
                int filled = (done - 1) * width / Math.max(1, total);
                err.printf("\r\033[K[%s%s] %d/%d %s %s (%.0f s%s)", "#".repeat(filled), ".".repeat(width - filled),
                        done, total, suite, name, elapsed, eta);
                err.flush();
            } else {
                err.printf("[%d/%d] %s %s (%.0f s%s)%n", done, total, suite, name, elapsed, eta);
            }
        }

        void clear() {
            if (terminal) {
                err.print("\r\033[K");
                err.flush();
            }
        }

        void done() {
            clear();
            err.printf(Locale.ROOT, "bench: %d case(s) in %.1f s%n", total, (System.nanoTime() - start) / 1e9);
        }
    }
}
