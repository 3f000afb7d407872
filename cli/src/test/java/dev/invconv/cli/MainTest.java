package dev.invconv.cli;

import dev.invconv.safetensors.DType;
import dev.invconv.safetensors.SafeTensors;
import dev.invconv.safetensors.SafeTensorsWriter;
import dev.invconv.safetensors.TensorView;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MainTest {

    private static final Path VECTORS = Path.of(System.getProperty("invconv.vectors.dir", "../../shared/vectors"));

    /** A finished command: exit code and what it printed. */
    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static List<Path> vectors(String prefix) throws IOException {
        assertTrue(Files.isDirectory(VECTORS), "shared vectors not found at " + VECTORS.toAbsolutePath());
        try (Stream<Path> files = Files.list(VECTORS)) {
            return files.filter(p -> p.getFileName().toString().startsWith(prefix)).sorted().toList();
        }
    }

    @Test
    void verifyPassesEveryConvolutionAndInvolutionVector() throws IOException {
        List<Path> files = Stream.of("conv", "depthwise", "pointwise", "separable", "seed", "involution")
                .flatMap(prefix -> {
                    try {
                        return vectors(prefix).stream();
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }).toList();
        assertTrue(files.size() >= 15, "expected the 15 conv/involution vectors, found " + files);
        Run run = run(Stream.concat(Stream.of("verify", "--threads", "2"), files.stream().map(Path::toString))
                .toArray(String[]::new));
        assertEquals(0, run.code(), run.out() + run.err());
        long passLines = run.out().lines().filter(l -> l.startsWith("PASS")).count();
        assertEquals(files.size(), passLines, run.out());
        assertTrue(run.out().contains(files.size() + " passed, 0 failed"), run.out());
        assertTrue(run.out().contains("involution2d"), run.out());
    }

    @Test
    void verifyPassesTheRednetBottleneckVector() throws IOException {
        Path bottleneck = vectors("rednet_bottleneck").getFirst();
        Run run = run("verify", "--threads", "2", bottleneck.toString());
        assertEquals(0, run.code(), run.out() + run.err());
        assertTrue(run.out().startsWith("PASS"), run.out());
        assertTrue(run.out().contains("rednet_bottleneck"), run.out());
        assertTrue(run.out().contains("1 passed, 0 failed"), run.out());
    }

    @Test
    void verifyReportsACaseItDoesNotUnderstandAndExitsNonZero(@TempDir Path dir) throws IOException {
        Path unknown = dir.resolve("pooling.safetensors");
        new SafeTensorsWriter().metadata("op", "max_pool2d").add("input", new float[16], 1, 1, 4, 4).write(unknown);
        Run run = run("verify", unknown.toString());
        assertEquals(1, run.code());
        assertTrue(run.out().startsWith("ERROR"), run.out());
        assertTrue(run.out().contains("'max_pool2d' is not supported"), run.out());
    }

    @Test
    void verifyFailsACaseWhoseExpectedOutputIsWrong(@TempDir Path dir) throws IOException {
        Path source = VECTORS.resolve("conv_3x3_same_bias_relu.safetensors");
        Path corrupted = dir.resolve("corrupted.safetensors");
        try (SafeTensors in = SafeTensors.open(source)) {
            SafeTensorsWriter writer = new SafeTensorsWriter();
            in.metadata().forEach(writer::metadata);
            for (String name : in.names()) {
                TensorView t = in.tensor(name);
                if (name.equals("expected")) {
                    double[] expected = t.toDoubleArray();
                    expected[expected.length / 2] += 0.5;
                    writer.add(name, expected, t.shape());
                } else if (t.dtype() == DType.F64) {
                    writer.add(name, t.toDoubleArray(), t.shape());
                } else {
                    writer.add(name, t.toFloatArray(), t.shape());
                }
            }
            writer.write(corrupted);
        }
        Run run = run("verify", corrupted.toString());
        assertEquals(1, run.code(), run.out());
        assertTrue(run.out().startsWith("FAIL"), run.out());
        assertTrue(run.out().contains("out of tolerance"), run.out());
        assertTrue(run.out().contains("0 passed, 1 failed"), run.out());
    }

    @Test
    void verifyReportsAMissingFile(@TempDir Path dir) {
        Run run = run("verify", dir.resolve("missing.safetensors").toString());
        assertEquals(1, run.code());
        assertTrue(run.out().startsWith("ERROR"), run.out());
    }

    @Test
    void infoNamesVersionIsaThreadsAndKernels() {
        Run run = run("info", "--threads", "3");
        assertEquals(0, run.code(), run.err());
        assertTrue(run.out().startsWith("invconv 0.1.0"), run.out());
        assertTrue(run.out().contains("threads    3"), run.out());
        assertTrue(run.out().matches("(?s).*isa        (scalar|avx2|avx512).*"), run.out());
        assertTrue(run.out().contains("f32_dwconv"), run.out());
        assertTrue(run.out().matches("(?s).*peak       [0-9.]+ GFLOP/s.*"), run.out());
        assertTrue(run.out().matches("(?s).*bandwidth  [0-9.]+ GB/s.*"), run.out());
        assertTrue(run.out().matches("(?s).*pages      weights and activations in .*"), run.out());
    }

    @Test
    void infoTellsWhetherWeightsAndActivationsGetHugePages(@TempDir Path dir) throws Exception {
        Path setting = dir.resolve("enabled");
        Files.writeString(setting, "always [madvise] never\n");
        assertEquals("weights and activations in 2 MB pages (transparent huge pages: madvise)", Info.memoryPages(setting));
        Files.writeString(setting, "[always] madvise never\n");
        assertEquals("weights and activations in 2 MB pages (transparent huge pages: always)", Info.memoryPages(setting));
        Files.writeString(setting, "always madvise [never]\n");
        assertTrue(Info.memoryPages(setting).startsWith("weights and activations in 4 KB pages (transparent huge pages: never;"),
                Info.memoryPages(setting));
        assertTrue(Info.memoryPages(dir.resolve("missing")).startsWith("weights and activations in the system's default pages"));
    }

    @Test
    void helpAfterAnyCommandPrintsTheUsage() {
        for (String command : List.of("bench", "run", "verify", "info")) {
            Run run = run(command, "--help");
            assertEquals(0, run.code(), command + ": " + run.err());
            assertTrue(run.out().startsWith("usage: invconv COMMAND"), run.out());
            assertTrue(run.out().contains("--suite S[,S]"), run.out());
        }
        assertEquals(0, run("run", "--model", "rednet26", "-h").code());
    }

    @Test
    void usageErrorsExitWithTwo() {
        assertEquals(2, run().code());
        assertEquals(2, run("frobnicate").code());
        assertEquals(2, run("verify").code());
        Run badThreads = run("info", "--threads", "zero");
        assertEquals(2, badThreads.code());
        assertTrue(badThreads.err().contains("--threads zero is not a number"), badThreads.err());
        Run badIsa = run("info", "--max-isa", "sse9");
        assertEquals(2, badIsa.code());
        assertTrue(badIsa.err().contains("--max-isa sse9 is not one of"), badIsa.err());
    }

    @Test
    void helpPrintsUsage() {
        Run run = run("help");
        assertEquals(0, run.code());
        assertTrue(run.out().contains("verify FILE"), run.out());
    }
}
