package dev.invconv;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.JarURLConnection;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NativeLibraryTest {

    private static final String RESOURCE = "/dev/invconv/native/" + NativeLibrary.platform() + "/libinvconv.so";

    @Test
    void platformNameMatchesTheBundledResourceLayout() {
        assertEquals("linux-x86_64", NativeLibrary.platform(), "this project builds and tests on linux x86-64");
        assertNotNull(NativeLibrary.class.getResource(RESOURCE), "the jar must bundle " + RESOURCE);
    }

    @Test
    void loadsAndReportsVersionAndAbi() {
        assertEquals("0.1.0", Invconv.version());
        assertTrue(Invconv.libraryOrigin().startsWith("bundled "), Invconv.libraryOrigin());
        assertTrue(Invconv.activeIsa().compareTo(Invconv.detectedIsa()) <= 0);
    }

    /** Spark executors and application servers load the same jar in several class loaders. */
    @Test
    void loadsInTwoIsolatedClassLoaders() throws Exception {
        URL[] classpath = {codeSource(NativeLibrary.class), nativeJarRoot()};
        try (URLClassLoader first = new URLClassLoader(classpath, ClassLoader.getPlatformClassLoader());
             URLClassLoader second = new URLClassLoader(classpath, ClassLoader.getPlatformClassLoader())) {
            assertEquals("0.1.0", invoke(first, "version"));
            assertEquals("0.1.0", invoke(second, "version"));
            assertTrue(((String) invoke(second, "libraryOrigin")).startsWith("bundled "));
        }
    }

    @Test
    void systemPropertyOverridesTheBundledLibrary(@TempDir Path dir) throws Exception {
        Path copy = dir.resolve("libinvconv.so");
        try (InputStream in = NativeLibrary.class.getResourceAsStream(RESOURCE)) {
            Files.copy(in, copy);
        }
        String origin = withProperty(dir.toString(), loader -> (String) invoke(loader, "libraryOrigin"));
        assertEquals(copy.toAbsolutePath().toString(), origin);
    }

    @Test
    void aBadSystemPropertyIsAClearError(@TempDir Path dir) throws Exception {
        String missing = dir.resolve("nowhere/libinvconv.so").toString();
        Throwable error = withProperty(missing, loader -> {
            InvocationTargetException e = assertThrows(InvocationTargetException.class, () -> invoke(loader, "version"));
            return e.getCause();
        });
        assertInstanceOf(UnsatisfiedLinkError.class, error);
        assertTrue(error.getMessage().contains("invconv.library.path=" + missing), error.getMessage());
    }

    private interface LoaderAction<T> {
        T run(URLClassLoader loader) throws Exception;
    }

    private static <T> T withProperty(String value, LoaderAction<T> action) throws Exception {
        URL[] classpath = {codeSource(NativeLibrary.class), nativeJarRoot()};
        String previous = System.setProperty(NativeLibrary.PATH_PROPERTY, value);
        try (URLClassLoader loader = new URLClassLoader(classpath, ClassLoader.getPlatformClassLoader())) {
            return action.run(loader);
        } finally {
            if (previous == null) {
                System.clearProperty(NativeLibrary.PATH_PROPERTY);
            } else {
                System.setProperty(NativeLibrary.PATH_PROPERTY, previous);
            }
        }
    }

    private static Object invoke(ClassLoader loader, String method) throws Exception {
        Method m = Class.forName("dev.invconv.Invconv", true, loader).getMethod(method);
        return m.invoke(null);
    }

    private static URL codeSource(Class<?> type) {
        return type.getProtectionDomain().getCodeSource().getLocation();
    }

    /** The jar or directory that holds the bundled library (the invconv-native artifact). */
    private static URL nativeJarRoot() throws Exception {
        URL resource = NativeLibrary.class.getResource(RESOURCE);
        assertNotNull(resource);
        if (resource.getProtocol().equals("jar")) {
            return ((JarURLConnection) resource.openConnection()).getJarFileURL();
        }
        String url = resource.toString();
        return java.net.URI.create(url.substring(0, url.length() - RESOURCE.length() + 1)).toURL();
    }
}
