package dev.invconv.benchmarks;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import dev.invconv.cli.bench.Problem;
import dev.invconv.cli.bench.Timing;
import dev.invconv.reference.Tolerance;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * ONNX Runtime Java on invconv's benchmark cases, in the peers' output format (for
 * {@code benchmarks/run-all.sh}); the JMH benchmarks cover a few cases more rigorously.
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar \
 *     dev.invconv.benchmarks.OrtBench [--threads N] [--quick] [--seconds S] [--models-dir DIR]
 *     [--node-profile DIR] (--cases FILE | PROBLEM...)
 * </pre>
 * Prints {@code name, median_ms, p10_ms, p90_ms, check} tab-separated, or {@code name n/a reason}.
 * Every operator case is first checked against the float64 reference on its small variant.
 * Model cases (suite {@code models}, e.g. {@code rednet50_mb1ih224}) run the ONNX graph
 * {@code DIR/<case>.onnx} that {@code torch_bench.py --export-onnx DIR} wrote, with the same
 * session options, checked against PyTorch's logits saved with it ({@link OrtModelCase}); without
 * {@code --models-dir} or without the file they are {@code n/a}. With {@code --node-profile DIR}
 * their sessions also run ORT's own profiler, whose JSON (a time per node and run) goes to
 * {@code DIR/<case>.ort-profile.json} for {@code benchmarks/layers.sh}; the profiler's own cost
 * is then in the medians.
 */
public final class OrtBench {

    private OrtBench() {}

    public static void main(String[] args) throws IOException {
        int threads = Runtime.getRuntime().availableProcessors();
        Timing timing = Timing.NATIVE;
        Double seconds = null;
        Path modelsDir = null;
        Path profileDir = null;
        List<String> cases = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--quick" -> timing = Timing.NATIVE_QUICK;
                case "--seconds" -> seconds = Double.parseDouble(args[++i]);
                case "--models-dir" -> modelsDir = Path.of(args[++i]);
                case "--node-profile" -> profileDir = Path.of(args[++i]);
                case "--cases" -> Files.readAllLines(Path.of(args[++i])).stream().map(String::trim)
                        .filter(l -> !l.isEmpty() && !l.startsWith("#")).forEach(cases::add);
                case "--help", "-h" -> {
                    System.out.println("usage: OrtBench [--threads N] [--quick] [--seconds S] [--models-dir DIR]"
                            + " [--node-profile DIR] (--cases FILE | PROBLEM...)");
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
            if (OrtModelCase.isModel(text)) {
                failures += runModel(text, modelsDir, threads, timing, profileDir) ? 0 : 1;
                continue;
            }
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
                    timeAndPrint(text, ort::run, timing, check);
                }
            } catch (OrtException | RuntimeException e) {
                System.out.println(text + "\tn/a\terror: " + e.getMessage());
                failures++;
            }
        }
        System.exit(failures == 0 ? 0 : 1);
    }

    /** An inference to time. */
    @FunctionalInterface
    private interface Inference {
        void run() throws OrtException;
    }

    /** Times {@code inference} and prints the case's row: name, median, p10, p90 (ms), check. */
    private static void timeAndPrint(String text, Inference inference, Timing timing, String check) {
        Timing.Stats s = timing.measure(() -> {
            try {
                inference.run();
            } catch (OrtException e) {
                throw new IllegalStateException(e);
            }
        });
        System.out.printf(Locale.ROOT, "%s\t%.6g\t%.6g\t%.6g\t%s%n", text, s.median(), s.p10(), s.p90(), check);
    }

    /**
     * One model case: its ONNX graph from {@code modelsDir}; false if it failed (a missing graph
     * is a note). With a {@code profileDir}, ORT's node profile of the timed runs goes there.
     */
    private static boolean runModel(String text, Path modelsDir, int threads, Timing timing, Path profileDir) {
        if (modelsDir == null) {
            System.out.println(text + "\tn/a\tmodel case: needs --models-dir (torch_bench.py --export-onnx DIR)");
            return true;
        }
        Path file = OrtModelCase.modelFile(modelsDir, text);
        if (!Files.isRegularFile(file)) {
            System.out.println(text + "\tn/a\tno ONNX graph " + file + " (torch_bench.py --export-onnx "
                    + modelsDir + ")");
            return true;
        }
        Path prefix = profileDir == null ? null : profileDir.resolve(text.trim() + ".ort-profile");
        try (OrtModelCase model = OrtModelCase.create(modelsDir, text, threads, 42, prefix)) {
            String check = model.check();
            timeAndPrint(text, model::run, timing, check);
            if (prefix != null) {
                Path json = Files.move(model.endProfiling(), Path.of(prefix + ".json"),
                        StandardCopyOption.REPLACE_EXISTING);
                System.out.println("# node profile of " + text.trim() + ": " + json);
            }
            return !check.startsWith("CHECK FAILED");
        } catch (OrtException | IOException | RuntimeException e) {
            System.out.println(text + "\tn/a\terror: " + e.getMessage());
            return false;
        }
    }
}
