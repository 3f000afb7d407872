package dev.invconv;

/** What a {@link Pool2d} computes over each window. */
public enum PoolKind {
    /** The largest in-range element; padding never wins ({@code IC_POOL_MAX}). */
    MAX(0),
    /** The mean, with or without counting the padding ({@code IC_POOL_AVERAGE}). */
    AVERAGE(1);

    private final int nativeValue;

    PoolKind(int nativeValue) {
        this.nativeValue = nativeValue;
    }

    /** The matching {@code ic_pool_t} value of the C API. */
    public int nativeValue() {
        return nativeValue;
    }
}
