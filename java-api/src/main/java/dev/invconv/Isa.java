package dev.invconv;

/** Instruction-set levels of the native kernels, lowest first (values of {@code ic_isa_t}). */
public enum Isa {
    /** Portable C. */
    SCALAR,
    /** AVX2 with FMA. */
    AVX2,
    /** AVX-512 F, BW, VL and DQ. */
    AVX512;

    int nativeValue() {
        return ordinal();
    }

    static Isa ofNative(int value) {
        Isa[] all = values();
        if (value < 0 || value >= all.length) {
            throw new IllegalStateException("invconv: unknown ISA value " + value + " from the native library");
        }
        return all[value];
    }
}
