package dev.invconv;

/**
 * The memory order of a 4-D activation tensor. Shapes are always given as the logical
 * {@code N, C, H, W}; the layout only says how those elements are laid out in memory.
 */
public enum Layout {
    /** PyTorch's default: one {@code H × W} plane per channel ({@code ic_layout_t} 0). */
    NCHW(0),
    /** Channels innermost, as in TensorFlow and most CPU inference engines ({@code ic_layout_t} 1). */
    NHWC(1);

    private final int nativeValue;

    Layout(int nativeValue) {
        this.nativeValue = nativeValue;
    }

    /** The matching {@code ic_layout_t} value of the C API. */
    public int nativeValue() {
        return nativeValue;
    }

    /**
     * The element offset of the logical element {@code (n, c, h, w)} in a dense tensor of
     * {@code shape} stored in this layout. The indices are not checked.
     */
    public long index(Shape shape, long n, long c, long h, long w) {
        return switch (this) {
            case NCHW -> ((n * shape.c() + c) * shape.h() + h) * shape.w() + w;
            case NHWC -> ((n * shape.h() + h) * shape.w() + w) * shape.c() + c;
        };
    }
}
