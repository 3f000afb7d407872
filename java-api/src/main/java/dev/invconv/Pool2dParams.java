package dev.invconv;

/**
 * The hyper-parameters of 2-D pooling, field for field those of the C API's
 * {@code ic_pool2d_params_t}: max or average over {@code kernelH × kernelW} windows moved by
 * {@code strideH × strideW}, padded like {@link Conv2dParams} with dilation 1:
 * <pre>
 * max:     y[n,c,i,j] = max of the window's in-range elements (padding never wins; NaN propagates)
 * average: y[n,c,i,j] = Σ in-range elements / (countIncludePad ? kernelH·kernelW : number in range)
 * </pre>
 * Output size per axis {@code floor((in + before + after − k) / s) + 1}, as
 * {@link Conv2dParams#outputShape}. Every window must hold at least one input element: pads at
 * the top or left of a kernel's size or more are refused here, and an input whose last window
 * would lie entirely in the bottom or right padding is refused by {@link #outputShape}.
 *
 * @param kind            max or average
 * @param channels        input and output channels
 * @param kernelH         window height
 * @param kernelW         window width
 * @param strideH         vertical stride, >= 1
 * @param strideW         horizontal stride, >= 1
 * @param padding         how the input is padded
 * @param countIncludePad average only: divide by the whole window (PyTorch's default) rather than
 *                        by the elements in range; must be false for max pooling
 */
public record Pool2dParams(PoolKind kind, long channels, long kernelH, long kernelW, long strideH,
                           long strideW, Padding padding, boolean countIncludePad) {

    private static final String OP = "pool2d";

    /**
     * Validates the parameters.
     *
     * @throws IllegalArgumentException naming the first invalid parameter and its value, e.g.
     *                                  "pool2d: pad_top=3 must be less than kernel_h=3 (the first
     *                                  window would lie entirely in padding)"
     * @throws NullPointerException     if kind or padding is null
     */
    public Pool2dParams {
        Checks.notNull(OP, "kind", kind);
        Checks.atLeast(OP, "channels", channels, 1);
        Checks.atLeast(OP, "kernel_h", kernelH, 1);
        Checks.atLeast(OP, "kernel_w", kernelW, 1);
        Checks.atLeast(OP, "stride_h", strideH, 1);
        Checks.atLeast(OP, "stride_w", strideW, 1);
        Checks.notNull(OP, "padding", padding);
        if (kind == PoolKind.MAX && countIncludePad) {
            throw new IllegalArgumentException(OP + ": count_include_pad=1 must be 0 for max pooling"
                    + " (it applies to average pooling only)");
        }
        if (padding instanceof Padding.Explicit pads) {
            if (pads.top() >= kernelH) {
                throw new IllegalArgumentException(OP + ": pad_top=" + pads.top() + " must be less than kernel_h="
                        + kernelH + " (the first window would lie entirely in padding)");
            }
            if (pads.left() >= kernelW) {
                throw new IllegalArgumentException(OP + ": pad_left=" + pads.left() + " must be less than kernel_w="
                        + kernelW + " (the first window would lie entirely in padding)");
            }
        }
    }

    /** Max pooling with a square window and stride. */
    public static Pool2dParams max(long channels, long kernel, long stride, Padding padding) {
        return new Pool2dParams(PoolKind.MAX, channels, kernel, kernel, stride, stride, padding, false);
    }

    /** Average pooling with a square window and stride. */
    public static Pool2dParams average(long channels, long kernel, long stride, Padding padding,
                                       boolean countIncludePad) {
        return new Pool2dParams(PoolKind.AVERAGE, channels, kernel, kernel, stride, stride, padding,
                countIncludePad);
    }

    /**
     * The output shape for an input of shape {@code input}.
     *
     * @throws IllegalArgumentException if the input does not have {@code channels} channels, is
     *                                  smaller than the window, or its last window of a row or
     *                                  column would lie entirely in the bottom or right padding
     */
    public Shape outputShape(Shape input) {
        Checks.inputChannels(OP, input, "channels", channels);
        Shape out = Checks.slidingOutput(OP, input, channels, kernelH, kernelW, strideH, strideW, 1, 1, padding);
        Padding.Explicit pads = pads(input.h(), input.w());
        // (out − 1)·s <= in + pads − k: the products below cannot overflow.
        long lastRow = (out.h() - 1) * strideH - pads.top();
        if (lastRow >= input.h()) {
            throw new IllegalArgumentException(OP + ": the window of the last output row (input rows " + lastRow
                    + " to " + (lastRow + kernelH - 1) + ") lies entirely in padding: in_h=" + input.h()
                    + " with pad_bottom=" + pads.bottom() + ", kernel_h=" + kernelH + ", stride_h=" + strideH);
        }
        long lastColumn = (out.w() - 1) * strideW - pads.left();
        if (lastColumn >= input.w()) {
            throw new IllegalArgumentException(OP + ": the window of the last output column (input columns "
                    + lastColumn + " to " + (lastColumn + kernelW - 1) + ") lies entirely in padding: in_w="
                    + input.w() + " with pad_right=" + pads.right() + ", kernel_w=" + kernelW + ", stride_w="
                    + strideW);
        }
        return out;
    }

    /** The actual pads for an input of {@code inH × inW} (see {@link Padding#resolve}). */
    public Padding.Explicit pads(long inH, long inW) {
        return padding.resolve(inH, inW, kernelH, kernelW, strideH, strideW, 1, 1);
    }
}
