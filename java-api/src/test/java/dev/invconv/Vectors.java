package dev.invconv;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shared golden vectors (SPEC §8), found through the system property
 * {@code invconv.vectors.dir} that surefire sets. Missing vectors fail the tests that need
 * them: a conformance suite that silently skips proves nothing.
 */
public final class Vectors {

    private Vectors() {}

    /** The vectors directory; fails the calling test if it is not configured or absent. */
    public static Path dir() {
        String property = System.getProperty("invconv.vectors.dir");
        assertNotNull(property, "system property invconv.vectors.dir is not set (surefire sets it to ../shared/vectors)");
        Path dir = Path.of(property);
        assertTrue(Files.isDirectory(dir), "invconv.vectors.dir=" + dir + " is not a directory");
        return dir;
    }

    /** Every {@code *.safetensors} file of the vectors directory, sorted; fails if there is none. */
    public static List<Path> files() {
        try (Stream<Path> listing = Files.list(dir())) {
            List<Path> files = listing.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
            assertFalse(files.isEmpty(), "no .safetensors files in " + dir());
            return files;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A vector file by name, without the extension; fails if it is missing. */
    public static Path file(String name) {
        Path file = dir().resolve(name + ".safetensors");
        assertTrue(Files.isRegularFile(file), "missing vector " + file);
        return file;
    }
}
