package dev.invconv;

import dev.invconv.bindings.invconv_h;

/** The native library as a whole: version, CPU dispatch, where it was loaded from. */
public final class Invconv {

    private Invconv() {}

    /** The native library's version, "MAJOR.MINOR.PATCH". */
    public static String version() {
        NativeLibrary.ensureLoaded();
        return Status.string(invconv_h.ic_version_string());
    }

    /** The ISA whose kernels operators built from now on use. */
    public static Isa activeIsa() {
        NativeLibrary.ensureLoaded();
        return Isa.ofNative(invconv_h.ic_active_isa());
    }

    /** The highest ISA this CPU supports, whatever the limit. */
    public static Isa detectedIsa() {
        NativeLibrary.ensureLoaded();
        return Isa.ofNative(invconv_h.ic_detected_isa());
    }

    /**
     * Limits the ISA of operators built after this call (built ones keep theirs), e.g. to test
     * the AVX2 and scalar paths on an AVX-512 machine. The environment variable
     * {@code INVCONV_MAX_ISA} sets the initial limit.
     */
    public static void setMaxIsa(Isa isa) {
        NativeLibrary.ensureLoaded();
        Status.check(invconv_h.ic_set_max_isa(isa.nativeValue()));
    }

    /** Where the native library was loaded from (a path, or the bundled resource). */
    public static String libraryOrigin() {
        return NativeLibrary.origin();
    }
}
