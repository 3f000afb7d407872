package dev.invconv.reference;

import dev.invconv.Shape;
import dev.invconv.Tensor;

import java.util.Objects;

/**
 * Plain-Java float64 global average pooling, {@code [N, C, H, W] → [N, C, 1, 1]}: the mean of
 * each channel plane. The magnitude of an output is the mean of the absolute values.
 */
public final class ReferenceGlobalAveragePool {

    private ReferenceGlobalAveragePool() {}

    /** The means of {@code input} (any layout). */
    public static Result run(Tensor input) {
        Objects.requireNonNull(input, "input");
        return pool(input.shape(), Nchw.read(input));
    }

    /**
     * The means of an NCHW array of shape {@code in}.
     *
     * @return {@code [N·C]} means, in NCHW order
     */
    public static double[] run(double[] x, Shape in) {
        return pool(in, x).values();
    }

    private static Result pool(Shape in, double[] x) {
        Objects.requireNonNull(in, "input shape");
        if (x.length != in.elementCount()) {
            throw new IllegalArgumentException("global_average_pool: " + x.length + " input values for shape " + in);
        }
        Shape out = new Shape(in.n(), in.c(), 1, 1);
        int planes = (int) (in.n() * in.c());
        int pixels = (int) (in.h() * in.w());
        double[] values = new double[planes];
        double[] magnitude = new double[planes];
        for (int plane = 0; plane < planes; plane++) {
            double sum = 0;
            double mag = 0;
            for (int i = 0; i < pixels; i++) {
                double v = x[plane * pixels + i];
                sum += v;
                mag += Math.abs(v);
            }
            values[plane] = sum / pixels;
            magnitude[plane] = mag / pixels;
        }
        return new Result(out, values, magnitude);
    }
}
