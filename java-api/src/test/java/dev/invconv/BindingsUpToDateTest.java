package dev.invconv;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The committed jextract bindings must come from the current invconv.h: fails when the header
 * changed but {@code bindings/generate.sh} was not run, or when a new function was left out of
 * the include list.
 */
class BindingsUpToDateTest {

    private static final Path HEADER = Path.of(System.getProperty("invconv.header", "../native/include/invconv.h"));
    private static final Path BINDINGS = Path.of(System.getProperty("invconv.bindings.dir", "../bindings"));

    @Test
    void bindingsWereGeneratedFromTheCurrentHeader() throws IOException, NoSuchAlgorithmException {
        String recorded = Files.readString(BINDINGS.resolve("invconv.h.sha256")).trim().split("\\s+")[0];
        String actual = HexFormat.of().formatHex(
                MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(HEADER)));
        assertEquals(recorded, actual, "native/include/invconv.h changed since the bindings were generated;"
                + " run bindings/generate.sh (needs jextract) and commit the result");
    }

    @Test
    void everyPublicFunctionIsInTheIncludeListAndTheBindings() throws IOException {
        String header = Files.readString(HEADER);
        String includes = Files.readString(BINDINGS.resolve("includes.txt"));
        String generated = Files.readString(
                BINDINGS.resolve("src/main/java/dev/invconv/bindings/invconv_h.java"));
        Matcher m = Pattern.compile("IC_API\\s+[^;(]*?\\b(ic_\\w+)\\s*\\(").matcher(header);
        List<String> functions = m.results().map(r -> r.group(1)).toList();
        assertFalse(functions.isEmpty(), "no IC_API functions found in " + HEADER);
        for (String function : functions) {
            assertTrue(includes.contains("--include-function " + function + "\n"),
                    function + " is missing from bindings/includes.txt");
            assertTrue(generated.contains(" " + function + "("), function + " is missing from the generated bindings");
        }
    }
}
