package dev.invconv.reference;

import dev.invconv.InvolutionParams;
import dev.invconv.Shape;
import dev.invconv.Tensor;

import java.util.Objects;

/**
 * Plain-Java float64 involution aggregation with caller-supplied kernels (SPEC §3.2):
 * <pre>
 * y[n,c,i,j] = Σ_{kh,kw} k[n, g(c)·K·K + kh·K + kw, i, j] · x[n, c, i·s − p + kh·d, j·s − p + kw·d]
 * </pre>
 * with {@code g(c) = c / groupChannels} and {@code p = (K − 1) / 2 · d}. The magnitude of an
 * output is {@code Σ |k·x|}.
 */
public final class ReferenceInvolution {

    private static final String OP = "involution";

    private ReferenceInvolution() {}

    /**
     * Runs the aggregation.
     *
     * @param input   any layout
     * @param kernels {@code [N, G·K·K, outH, outW]} (see {@link InvolutionParams#kernelsShape}), any layout
     * @throws IllegalArgumentException if a shape does not match the params
     */
    public static Result aggregate(InvolutionParams params, Tensor input, Tensor kernels) {
        Objects.requireNonNull(params, "params");
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(kernels, "kernels");
        Shape expected = params.kernelsShape(input.shape());
        if (!kernels.shape().equals(expected)) {
            throw new IllegalArgumentException(OP + ": kernels " + kernels.shape() + " do not match "
                    + expected + " for input " + input.shape());
        }
        return aggregate(params, input.shape(), Nchw.read(input), Nchw.read(kernels));
    }

    /** The aggregation over NCHW arrays; {@code k} is {@code [N, G·K·K, outH, outW]}. */
    static Result aggregate(InvolutionParams p, Shape in, double[] x, double[] k) {
        Shape out = p.outputShape(in);
        int channels = (int) in.c(), inH = (int) in.h(), inW = (int) in.w();
        int outH = (int) out.h(), outW = (int) out.w();
        int size = (int) p.kernelSize();
        int kernelChannels = (int) (p.groups() * size * size);
        long pad = p.padding();
        double[] values = new double[Nchw.length(OP, out)];
        double[] magnitude = new double[values.length];
        int index = 0;
        for (int n = 0; n < in.n(); n++) {
            for (int c = 0; c < channels; c++) {
                int firstKernel = (int) (c / p.groupChannels()) * size * size;
                for (int i = 0; i < outH; i++) {
                    for (int j = 0; j < outW; j++, index++) {
                        double sum = 0;
                        double mag = 0;
                        for (int kh = 0; kh < size; kh++) {
                            long ih = i * p.stride() - pad + kh * p.dilation();
                            if (ih < 0 || ih >= inH) {
                                continue; // padding reads as 0
                            }
                            for (int kw = 0; kw < size; kw++) {
                                long iw = j * p.stride() - pad + kw * p.dilation();
                                if (iw < 0 || iw >= inW) {
                                    continue;
                                }
                                int ki = ((n * kernelChannels + firstKernel + kh * size + kw) * outH + i) * outW + j;
                                int xi = (int) (((long) (n * channels + c) * inH + ih) * inW + iw);
                                double product = k[ki] * x[xi];
                                sum += product;
                                mag += Math.abs(product);
                            }
                        }
                        values[index] = sum;
                        magnitude[index] = mag;
                    }
                }
            }
        }
        return new Result(out, values, magnitude);
    }
}
