package dev.invconv;

/**
 * Parameter checks shared by the parameter records. Messages follow the C library's
 * {@code ic_last_error()} form, "op: name=value problem", so a failure reads the same whether
 * Java or C caught it.
 */
final class Checks {

    private Checks() {}

    /** @throws IllegalArgumentException "op: name=value must be >= min" */
    static void atLeast(String op, String name, long value, long min) {
        if (value < min) {
            throw new IllegalArgumentException(op + ": " + name + "=" + value + " must be >= " + min);
        }
    }

    /** @throws NullPointerException "op: name must not be null" */
    static <T> T notNull(String op, String name, T value) {
        if (value == null) {
            throw new NullPointerException(op + ": " + name + " must not be null");
        }
        return value;
    }

    /**
     * The extent {@code (kernel − 1)·dilation + 1} covered by a dilated kernel along one axis.
     *
     * @param axis "h" or "w", or "" for a square kernel
     * @throws IllegalArgumentException if kernel or dilation is below 1, or on overflow
     */
    static long effectiveKernel(String op, String axis, long kernel, long dilation) {
        // Names are built only on failure: these checks run on every operator call.
        if (kernel < 1) {
            atLeast(op, kernelName(axis), kernel, 1);
        }
        if (dilation < 1) {
            atLeast(op, axisName("dilation", axis), dilation, 1);
        }
        try {
            return Math.addExact(Math.multiplyExact(kernel - 1, dilation), 1);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(op + ": " + kernelName(axis) + "=" + kernel + " with "
                    + axisName("dilation", axis) + "=" + dilation + " overflows a 64-bit size", e);
        }
    }

    private static String kernelName(String axis) {
        return axis.isEmpty() ? "kernel_size" : "kernel_" + axis;
    }

    private static String axisName(String name, String axis) {
        return axis.isEmpty() ? name : name + "_" + axis;
    }

    /**
     * Checks one axis of a sliding window and returns the effective kernel extent.
     *
     * @throws IllegalArgumentException if a size, stride or dilation is below 1, or on overflow
     */
    static long window(String op, String axis, long in, long kernel, long stride, long dilation) {
        if (in < 1) {
            atLeast(op, "in_" + axis, in, 1);
        }
        if (stride < 1) {
            atLeast(op, "stride_" + axis, stride, 1);
        }
        return effectiveKernel(op, axis, kernel, dilation);
    }

    /**
     * The product of {@code factors}, or an error naming {@code what} if it overflows.
     */
    static long product(String op, String what, long... factors) {
        long result = 1;
        try {
            for (long factor : factors) {
                result = Math.multiplyExact(result, factor);
            }
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(op + ": the size of " + what + " overflows a 64-bit size", e);
        }
        return result;
    }

    /** @throws IllegalArgumentException if the input does not have {@code channels} channels */
    static void inputChannels(String op, Shape input, String name, long channels) {
        notNull(op, "input shape", input);
        if (input.c() != channels) {
            throw new IllegalArgumentException(op + ": input " + input + " has " + input.c()
                    + " channels but " + name + "=" + channels);
        }
    }

    /**
     * The output shape of a sliding-window operator (SPEC §3.1):
     * {@code out = floor((in + before + after − eff) / stride) + 1} per axis.
     *
     * @throws IllegalArgumentException if an output size would be below 1
     */
    static Shape slidingOutput(String op, Shape input, long outChannels, long kernelH, long kernelW,
                               long strideH, long strideW, long dilationH, long dilationW, Padding padding) {
        Padding.Explicit pads = padding.resolve(input.h(), input.w(), kernelH, kernelW,
                strideH, strideW, dilationH, dilationW);
        long outH = outputSize(op, input.h(), pads.top(), pads.bottom(), kernelH, dilationH, strideH, "height");
        long outW = outputSize(op, input.w(), pads.left(), pads.right(), kernelW, dilationW, strideW, "width");
        if (outH < 1 || outW < 1) {
            throw new IllegalArgumentException(op + ": input " + input + " is too small for kernel "
                    + kernelH + "x" + kernelW + " with stride " + strideH + "x" + strideW + ", dilation "
                    + dilationH + "x" + dilationW + " and pads " + pads.top() + "," + pads.left() + ","
                    + pads.bottom() + "," + pads.right() + " (top,left,bottom,right): output "
                    + (outH < 1 ? "height would be " + outH : "width would be " + outW));
        }
        return new Shape(input.n(), outChannels, outH, outW);
    }

    private static long outputSize(String op, long in, long before, long after, long kernel, long dilation,
                                   long stride, String axis) {
        long eff = (kernel - 1) * dilation + 1; // validated by the params records
        try {
            return Math.floorDiv(Math.addExact(Math.addExact(in, before), after) - eff, stride) + 1;
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(op + ": the padded input " + axis + " " + in + " + "
                    + before + " + " + after + " overflows a 64-bit size", e);
        }
    }

    /**
     * Checks the involution parameters shared by the aggregation and the full module.
     *
     * @throws IllegalArgumentException naming the first invalid parameter
     */
    static void involution(String op, long channels, long kernelSize, long stride, long dilation,
                           long groupChannels) {
        atLeast(op, "channels", channels, 1);
        atLeast(op, "kernel_size", kernelSize, 1);
        if (kernelSize % 2 == 0) {
            throw new IllegalArgumentException(op + ": kernel_size=" + kernelSize + " must be odd");
        }
        atLeast(op, "stride", stride, 1);
        effectiveKernel(op, "", kernelSize, dilation);
        atLeast(op, "group_channels", groupChannels, 1);
        if (channels % groupChannels != 0) {
            throw new IllegalArgumentException(op + ": channels=" + channels
                    + " is not a multiple of group_channels=" + groupChannels);
        }
        product(op, "the kernels (K*K*G)", kernelSize, kernelSize, channels / groupChannels);
    }
}
