package dev.invconv.cli;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The packaged fat jar, run as users run it: {@code java -jar invconv.jar}, with no flags. Its
 * manifest grants native access, and the bundled library is extracted from inside it.
 */
class InvconvJarIT {

    private static final Path JAR = Path.of("target/invconv.jar");
    private static final Path VECTORS = Path.of(System.getProperty("invconv.vectors.dir", "../../shared/vectors"));

    private record Result(int code, String out) {}

    private static Result java(String... args) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> command = new ArrayList<>(List.of(java, "-jar", JAR.toString()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(2, TimeUnit.MINUTES), "timed out: " + command);
        return new Result(process.exitValue(), out);
    }

    @Test
    void theFatJarRunsInfoWithoutFlagsOrWarnings() throws Exception {
        assertTrue(Files.isRegularFile(JAR), JAR + " not built");
        Result result = java("info");
        assertEquals(0, result.code(), result.out());
        assertTrue(result.out().contains("bundled /dev/invconv/native/linux-x86_64/libinvconv.so"), result.out());
        assertFalse(result.out().contains("WARNING"), "native access must come from the manifest:\n" + result.out());
    }

    @Test
    void theFatJarVerifiesAVector() throws Exception {
        Result result = java("verify", VECTORS.resolve("separable_3x3_stride2.safetensors").toString());
        assertEquals(0, result.code(), result.out());
        assertTrue(result.out().contains("1 passed, 0 failed"), result.out());
    }
}
