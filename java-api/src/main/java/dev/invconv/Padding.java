package dev.invconv;

/**
 * How a sliding-window operator pads its input, per spatial axis (SPEC §3.1). With
 * {@code eff = (k − 1)·d + 1} the effective extent of a kernel of size {@code k} and dilation
 * {@code d}:
 * <ul>
 *   <li>{@link #VALID}: no padding; the kernel stays inside the input.</li>
 *   <li>{@link #FULL}: {@code eff − 1} before and after; every overlap of kernel and input.</li>
 *   <li>{@link #SAME}: {@code out = ceil(in / s)}, {@code total = max((out − 1)·s + eff − in, 0)},
 *       {@code before = floor(total / 2)}, {@code after = total − before}; the extra row or column
 *       goes after (bottom/right), as TensorFlow/Keras {@code "same"}.</li>
 *   <li>{@link #explicit explicit(top, left, bottom, right)}: any non-negative pads.</li>
 * </ul>
 * {@link #resolve} turns any of them into the actual pads for one input size.
 */
public sealed interface Padding permits Padding.Auto, Padding.Explicit {

    /** No padding ({@code IC_PADDING_VALID}). */
    Padding VALID = Auto.VALID;
    /** Output size {@code ceil(in / stride)}, extra padding after ({@code IC_PADDING_SAME}). */
    Padding SAME = Auto.SAME;
    /** {@code (k − 1)·dilation} on both sides ({@code IC_PADDING_FULL}). */
    Padding FULL = Auto.FULL;

    /**
     * Explicit pads, in the C API's order.
     *
     * @throws IllegalArgumentException if any pad is negative
     */
    static Explicit explicit(long top, long left, long bottom, long right) {
        return new Explicit(top, left, bottom, right);
    }

    /** The matching {@code ic_padding_t} value of the C API. */
    int nativeMode();

    /**
     * The actual pads for an input of {@code inH × inW} and the given kernel geometry.
     *
     * @throws IllegalArgumentException if a size, stride or dilation is below 1, or the
     *                                  effective kernel size overflows
     */
    Explicit resolve(long inH, long inW, long kernelH, long kernelW,
                     long strideH, long strideW, long dilationH, long dilationW);

    /** The padding modes computed from the geometry: VALID, SAME and FULL. */
    enum Auto implements Padding {
        VALID(0), SAME(1), FULL(2);

        private final int nativeMode;

        Auto(int nativeMode) {
            this.nativeMode = nativeMode;
        }

        @Override
        public int nativeMode() {
            return nativeMode;
        }

        @Override
        public Explicit resolve(long inH, long inW, long kernelH, long kernelW,
                                long strideH, long strideW, long dilationH, long dilationW) {
            long[] vertical = axis("h", inH, kernelH, strideH, dilationH);
            long[] horizontal = axis("w", inW, kernelW, strideW, dilationW);
            return new Explicit(vertical[0], horizontal[0], vertical[1], horizontal[1]);
        }

        /** {before, after} along one axis. */
        private long[] axis(String axis, long in, long kernel, long stride, long dilation) {
            long eff = Checks.window("padding", axis, in, kernel, stride, dilation);
            return switch (this) {
                case VALID -> new long[] {0, 0};
                case FULL -> new long[] {eff - 1, eff - 1};
                case SAME -> {
                    long out = (in - 1) / stride + 1; // ceil(in / stride) without overflow
                    // (out − 1)·s − in lies in [−in, −1], so adding eff last cannot overflow.
                    long total = Math.max((out - 1) * stride - in + eff, 0);
                    yield new long[] {total / 2, total - total / 2};
                }
            };
        }
    }

    /**
     * Explicit pads ({@code IC_PADDING_EXPLICIT}); also what {@link #resolve} returns.
     *
     * @param top    rows added above
     * @param left   columns added on the left
     * @param bottom rows added below
     * @param right  columns added on the right
     */
    record Explicit(long top, long left, long bottom, long right) implements Padding {

        /** @throws IllegalArgumentException if any pad is negative */
        public Explicit {
            Checks.atLeast("padding", "pad_top", top, 0);
            Checks.atLeast("padding", "pad_left", left, 0);
            Checks.atLeast("padding", "pad_bottom", bottom, 0);
            Checks.atLeast("padding", "pad_right", right, 0);
        }

        @Override
        public int nativeMode() {
            return 3;
        }

        /** These pads, whatever the geometry (which is still checked). */
        @Override
        public Explicit resolve(long inH, long inW, long kernelH, long kernelW,
                                long strideH, long strideW, long dilationH, long dilationW) {
            Checks.window("padding", "h", inH, kernelH, strideH, dilationH);
            Checks.window("padding", "w", inW, kernelW, strideW, dilationW);
            return this;
        }
    }
}
