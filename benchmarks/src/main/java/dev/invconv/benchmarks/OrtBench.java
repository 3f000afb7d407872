package dev.invconv.benchmarks;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import dev.invconv.cli.bench.Problem;
import dev.invconv.cli.bench.Timing;
import dev.invconv.reference.Tolerance;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * ONNX Runtime Java on invconv's benchmark cases, in the peers' output format (for
 * {@code benchmarks/run-all.sh}); the JMH benchmarks cover a few cases more rigorously.
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar \
 *     dev.invconv.benchmarks.OrtBench [--threads N] [--quick] [--seconds S] (--cases FILE | PROBLEM...)
 * </pre>
 * Prints {@code name, median_ms, p10_ms, p90_ms, check} tab-separated, or {@code name n/a reason}.
 * Every case is first checked against the float64 reference on its small variant.
 */
public final class OrtBench {

    private OrtBench() {}

    public static void main(String[] args) throws IOException {
        int threads = Runtime.getRuntime().availableProcessors();
        Timing timing = Timing.NATIVE;
        Double seconds = null;
        List<String> cases = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--quick" -> timing = Timing.NATIVE_QUICK;
                case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                case "--cases" -> Files.readAllLines(Path.of(args[++i])).stream().map(String::trim)
                        .filter(l -> !l.isEmpty() && !l.startsWith("#")).forEach(cases::add);
                case "--help", "-h" -> {
                    System.out.println("usage: OrtBench [--threads N] [--quick] [--seconds S] (--cases FILE | PROBLEM...)");
                    return;
                }
                default -> cases.add(args[i]);
            }
        }
        if (seconds != null) {
            timing = timing.withSeconds(seconds);
        }
        System.out.printf("# ONNX Runtime Java %s, intra-op threads %d, inter-op 1, all graph optimizations%n",
                OrtEnvironment.getEnvironment().getVersion(), threads);
        System.out.println("# name\tmedian_ms\tp10_ms\tp90_ms\tcheck");
        int failures = 0;
        for (String text : cases) {
            Problem p;
            try {
                p = Problem.parse(text);
            } catch (IllegalArgumentException e) {
                System.out.println(text + "\tn/a\tnot an operator problem string");
                continue;
            }
            try {
                if (!OrtCase.supports(p)) {
                    System.out.println(text + "\tn/a\tno ONNX operator for " + p.op().label());
                    continue;
                }
                String check;
                try (OrtCase small = OrtCase.create(p.smallVariant(), threads, 7)) {
                    Tolerance.Report report = small.check();
                    check = report.passed() ? "check ok" : "CHECK FAILED: " + report;
                    failures += report.passed() ? 0 : 1;
                }
                try (OrtCase ort = OrtCase.create(p, threads, 42)) {
                    Timing.Stats s = timing.measure(() -> {
                        try {
                            ort.run();
                        } catch (OrtException e) {
                            throw new IllegalStateException(e);
                        }
                    });
                    System.out.printf(Locale.ROOT, "%s\t%.6g\t%.6g\t%.6g\t%s%n", text, s.median(), s.p10(), s.p90(), check);
                }
            } catch (OrtException | RuntimeException e) {
                System.out.println(text + "\tn/a\terror: " + e.getMessage());
                failures++;
            }
        }
        System.exit(failures == 0 ? 0 : 1);
    }
}
