package dev.invconv.reference;

import dev.invconv.Padding;
import dev.invconv.Pool2dParams;
import dev.invconv.PoolKind;
import dev.invconv.Shape;
import dev.invconv.Tensor;

import java.util.Objects;

/**
 * Plain-Java float64 pooling (max and average, SPEC §3.3), the oracle of the native
 * {@code Pool2d}: direct loops over each window's in-range elements.
 * <pre>
 * max:     y = max of the in-range elements (NaN wins, as in PyTorch)
 * average: y = Σ in-range elements / (countIncludePad ? kernelH·kernelW : number in range)
 * </pre>
 * The magnitude of an average is {@code Σ |x| / divisor}; of a max, {@code |y|} (a max is exact).
 */
public final class ReferencePool2d {

    private static final String OP = "pool2d";

    private ReferencePool2d() {}

    /**
     * Runs the pooling.
     *
     * @param input any layout
     * @throws IllegalArgumentException if the input does not fit the params (see
     *                                  {@link Pool2dParams#outputShape})
     */
    public static Result run(Pool2dParams params, Tensor input) {
        Objects.requireNonNull(params, "params");
        Objects.requireNonNull(input, "input");
        return pool(params, input.shape(), Nchw.read(input));
    }

    /**
     * Max pooling of an NCHW array of shape {@code in} with a square window.
     *
     * @return the outputs in NCHW order
     */
    public static double[] max(double[] x, Shape in, long kernel, long stride, Padding padding) {
        return pool(Pool2dParams.max(in.c(), kernel, stride, padding), in, x).values();
    }

    /**
     * Average pooling of an NCHW array of shape {@code in} with a square window.
     *
     * @return the outputs in NCHW order
     */
    public static double[] average(double[] x, Shape in, long kernel, long stride, Padding padding,
                                   boolean countIncludePad) {
        return pool(Pool2dParams.average(in.c(), kernel, stride, padding, countIncludePad), in, x).values();
    }

    /** The pooling of an NCHW array {@code x} of shape {@code in}. */
    public static Result pool(Pool2dParams p, Shape in, double[] x) {
        Objects.requireNonNull(p, "params");
        Objects.requireNonNull(in, "input shape");
        Shape out = p.outputShape(in);
        if (x.length != in.elementCount()) {
            throw new IllegalArgumentException(OP + ": " + x.length + " input values for shape " + in);
        }
        Padding.Explicit pads = p.pads(in.h(), in.w());
        int inH = (int) in.h(), inW = (int) in.w();
        int outH = (int) out.h(), outW = (int) out.w();
        boolean max = p.kind() == PoolKind.MAX;
        double window = (double) p.kernelH() * p.kernelW();
        double[] values = new double[Nchw.length(OP, out)];
        double[] magnitude = new double[values.length];
        int index = 0;
        for (int plane = 0; plane < in.n() * in.c(); plane++) {
            for (int i = 0; i < outH; i++) {
                for (int j = 0; j < outW; j++, index++) {
                    double best = Double.NEGATIVE_INFINITY;
                    double sum = 0;
                    double mag = 0;
                    int count = 0;
                    for (long kh = 0; kh < p.kernelH(); kh++) {
                        long ih = i * p.strideH() - pads.top() + kh;
                        if (ih < 0 || ih >= inH) {
                            continue; // padding: no element
                        }
                        for (long kw = 0; kw < p.kernelW(); kw++) {
                            long iw = j * p.strideW() - pads.left() + kw;
                            if (iw < 0 || iw >= inW) {
                                continue;
                            }
                            double v = x[(int) (((long) plane * inH + ih) * inW + iw)];
                            if (v > best || Double.isNaN(v)) {
                                best = v;
                            }
                            sum += v;
                            mag += Math.abs(v);
                            count++;
                        }
                    }
                    if (max) {
                        values[index] = best;
                        magnitude[index] = Math.abs(best);
                    } else {
                        double divisor = p.countIncludePad() ? window : count;
                        values[index] = sum / divisor;
                        magnitude[index] = mag / divisor;
                    }
                }
            }
        }
        return new Result(out, values, magnitude);
    }
}
