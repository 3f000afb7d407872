package dev.invconv.cli;

import dev.invconv.Context;
import dev.invconv.Layout;
import dev.invconv.conformance.NativeRunner;
import dev.invconv.conformance.VectorCase;
import dev.invconv.reference.Tolerance;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * {@code invconv verify FILE...}: runs conformance cases through the native library and compares
 * with the SPEC tolerance. One line per case: verdict, name, op, max error. Directories are
 * searched for {@code *.safetensors}. Exit code 1 when any case fails or is not understood.
 */
final class Verify {

    private Verify() {}

    static int run(Main.Options options, PrintStream out, PrintStream err) throws IOException {
        if (options.arguments().length == 0) {
            err.println("invconv verify: no files given (usage: invconv verify FILE|DIR...)");
            return 2;
        }
        List<Path> files = new ArrayList<>();
        for (String argument : options.arguments()) {
            Path path = Path.of(argument);
            if (Files.isDirectory(path)) {
                try (Stream<Path> list = Files.list(path)) {
                    list.filter(p -> p.toString().endsWith(".safetensors")).sorted().forEach(files::add);
                }
            } else {
                files.add(path);
            }
        }
        int passed = 0;
        int failed = 0;
        try (Context context = options.openContext()) {
            for (Path file : files) {
                String verdict = verify(file, context);
                out.println(verdict);
                if (verdict.startsWith("PASS")) {
                    passed++;
                } else {
                    failed++;
                }
            }
        }
        out.printf("%d passed, %d failed%n", passed, failed);
        return failed == 0 ? 0 : 1;
    }

    /** Checks one file in both layouts; returns its report line. */
    private static String verify(Path file, Context context) {
        String name = file.getFileName().toString().replaceFirst("\\.safetensors$", "");
        VectorCase vectorCase;
        try {
            vectorCase = VectorCase.load(file);
        } catch (UnsupportedOperationException | IllegalArgumentException | IOException e) {
            return String.format("%-6s %-40s %s", "ERROR", name, "not understood: " + e.getMessage());
        } catch (RuntimeException e) {
            return String.format("%-6s %-40s %s", "ERROR", name, "cannot read: " + e.getMessage());
        }
        Tolerance.Report worst = null;
        for (Layout layout : Layout.values()) {
            Tolerance.Report report;
            try {
                report = vectorCase.data().check(NativeRunner.run(vectorCase, layout, context));
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                return String.format("%-6s %-40s %-22s %s", "FAIL", name, vectorCase.op(),
                        layout + " rejected: " + e.getMessage());
            }
            if (!report.passed()) {
                return String.format("%-6s %-40s %-22s %s: %s", "FAIL", name, vectorCase.op(), layout,
                        report.describe(vectorCase.data().outputShape()));
            }
            if (worst == null || report.maxError() > worst.maxError()) {
                worst = report;
            }
        }
        return String.format("%-6s %-40s %-22s max error %.3e (NCHW and NHWC)", "PASS", name, vectorCase.op(),
                worst.maxError());
    }
}
