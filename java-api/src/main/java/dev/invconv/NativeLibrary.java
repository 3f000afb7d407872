package dev.invconv;

import dev.invconv.bindings.invconv_h;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Finds and loads libinvconv once per class loader.
 *
 * <p>The lookup chain: the system property {@value #PATH_PROPERTY} (a file, or a directory
 * holding {@code libinvconv.so}) when set — and then nothing else, since a user who names a
 * library means that one; otherwise the library bundled in the jar under
 * {@code dev/invconv/native/OS-ARCH/}, extracted to a private temporary directory; otherwise
 * {@code java.library.path}. Every failure is kept as a suppressed exception of the final error.
 *
 * <p>The library is loaded with {@link System#load} from this class, so the jextract bindings
 * (which look symbols up through {@code SymbolLookup.loaderLookup()}) see it in this class
 * loader. Each class loader extracts its own copy under a fresh name: the JVM refuses to load one
 * file into two class loaders, which isolated loaders (Spark executors, application servers)
 * would otherwise hit.
 *
 * <p>Nothing native happens in a static initializer of a public class: {@link #ensureLoaded()}
 * triggers a lazy holder that remembers the outcome, success or failure.
 */
final class NativeLibrary {

    /** System property naming the library file (or its directory) to load instead of the bundled one. */
    static final String PATH_PROPERTY = "invconv.library.path";

    private static final String RESOURCE_ROOT = "/dev/invconv/native/";
    private static final String[] BUNDLED_PLATFORMS = {"linux-x86_64"};

    private NativeLibrary() {}

    /** Loads the library if this class loader has not yet; rethrows the remembered failure. */
    static void ensureLoaded() {
        if (Holder.FAILURE != null) {
            UnsatisfiedLinkError error = new UnsatisfiedLinkError(Holder.FAILURE.getMessage());
            error.initCause(Holder.FAILURE);
            throw error;
        }
    }

    /** Where the loaded library came from, for {@code invconv info}. */
    static String origin() {
        ensureLoaded();
        return Holder.ORIGIN;
    }

    private static final class Holder {
        static final String ORIGIN;
        static final Throwable FAILURE;

        static {
            String origin = null;
            Throwable failure = null;
            try {
                origin = load();
                checkAbi();
            } catch (Throwable t) {
                failure = t;
            }
            ORIGIN = origin;
            FAILURE = failure;
        }
    }

    private static String load() {
        String explicit = System.getProperty(PATH_PROPERTY);
        if (explicit != null && !explicit.isBlank()) {
            Path path = Path.of(explicit);
            if (Files.isDirectory(path)) {
                path = path.resolve(System.mapLibraryName("invconv"));
            }
            if (!Files.isRegularFile(path)) {
                throw new UnsatisfiedLinkError("invconv: -D" + PATH_PROPERTY + "=" + explicit
                        + " does not name a library file (looked for " + path + ")");
            }
            System.load(path.toAbsolutePath().toString());
            return path.toAbsolutePath().toString();
        }

        UnsatisfiedLinkError failure;
        String platform = platform();
        String resource = RESOURCE_ROOT + platform + "/" + System.mapLibraryName("invconv");
        try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
            if (in != null) {
                return loadExtracted(in, resource);
            }
            failure = new UnsatisfiedLinkError("invconv: no native library is bundled for this platform, "
                    + platform + " (os.name=" + System.getProperty("os.name") + ", os.arch="
                    + System.getProperty("os.arch") + "); bundled platforms: "
                    + String.join(", ", BUNDLED_PLATFORMS) + ". Build the library from source (native/)"
                    + " and point -D" + PATH_PROPERTY + " at it.");
        } catch (IOException | UnsatisfiedLinkError e) {
            failure = new UnsatisfiedLinkError("invconv: could not load the bundled library " + resource
                    + ": " + e.getMessage());
            failure.initCause(e);
        }

        try {
            System.loadLibrary("invconv");
            return "java.library.path";
        } catch (UnsatisfiedLinkError e) {
            failure.addSuppressed(e);
        }
        throw failure;
    }

    private static String loadExtracted(InputStream in, String resource) throws IOException {
        Path dir = Files.createTempDirectory("invconv-");
        Path file = dir.resolve(System.mapLibraryName("invconv"));
        Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        try {
            System.load(file.toString());
        } finally {
            // Once mapped, the file is no longer needed (POSIX); elsewhere remove it at exit.
            try {
                Files.delete(file);
                Files.delete(dir);
            } catch (IOException e) {
                file.toFile().deleteOnExit();
                dir.toFile().deleteOnExit();
            }
        }
        return "bundled " + resource;
    }

    private static void checkAbi() {
        int library = invconv_h.ic_abi_version();
        int bindings = invconv_h.IC_ABI_VERSION();
        if (library != bindings) {
            throw new UnsatisfiedLinkError("invconv: the native library has ABI version " + library
                    + " but these Java bindings were generated for ABI version " + bindings
                    + "; use the library built with this jar");
        }
    }

    /** {@code os-arch} as used for the bundled resource path, e.g. {@code linux-x86_64}. */
    static String platform() {
        String os = System.getProperty("os.name", "unknown").toLowerCase(Locale.ROOT);
        if (os.startsWith("linux")) {
            os = "linux";
        } else if (os.startsWith("mac") || os.startsWith("darwin")) {
            os = "macos";
        } else if (os.startsWith("windows")) {
            os = "windows";
        } else {
            os = os.replaceAll("[^a-z0-9]", "");
        }
        String arch = System.getProperty("os.arch", "unknown").toLowerCase(Locale.ROOT);
        arch = switch (arch) {
            case "amd64", "x86_64", "x64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch.replaceAll("[^a-z0-9_]", "");
        };
        return os + "-" + arch;
    }
}
