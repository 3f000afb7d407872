package dev.invconv.reference;

import dev.invconv.Conv2dParams;
import dev.invconv.Padding;
import dev.invconv.Shape;
import dev.invconv.Tensor;

import java.util.Objects;

/**
 * Plain-Java float64 Conv2d (SPEC §3.1), the oracle the native kernels are tested against:
 * <pre>
 * y[n,o,i,j] = act(bias[o] + residual[n,o,i,j] + Σ_{c ∈ group(o), kh, kw} w[o,c,kh,kw] · x[n, c, i·sh − pt + kh·dh, j·sw − pl + kw·dw])
 * </pre>
 * Direct loops, accumulated in double. The magnitude of each output is
 * {@code Σ |w·x| + |bias| + |residual|}: every term of the sum, as the test vectors define it
 * (they include the bias; the residual, when there is one, is a term like the bias).
 */
public final class ReferenceConv2d {

    private static final String OP = "conv2d";

    private ReferenceConv2d() {}

    /**
     * Runs the convolution.
     *
     * @param input    any layout
     * @param weights  {@code [outChannels, inChannels / groups, kernelH, kernelW]}
     * @param bias     {@code [outChannels]}, or null
     * @param residual a tensor of the output's shape (any layout) added before the activation, or null
     * @throws IllegalArgumentException if a shape or array length does not match the params
     */
    public static Result run(Conv2dParams params, Tensor input, float[] weights, float[] bias, Tensor residual) {
        Objects.requireNonNull(params, "params");
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(weights, "weights");
        Shape out = params.outputShape(input.shape());
        double[] residualValues = null;
        if (residual != null) {
            if (!residual.shape().equals(out)) {
                throw new IllegalArgumentException(OP + ": residual " + residual.shape()
                        + " does not match the output " + out);
            }
            residualValues = Nchw.read(residual);
        }
        return conv2d(params, input.shape(), Nchw.read(input), null, weights, bias, residualValues);
    }

    /**
     * The convolution over an NCHW array. {@code xMagnitude}, if not null, is the magnitude
     * behind each input (for an input that is itself a computed result); otherwise an input's
     * magnitude is its absolute value.
     */
    static Result conv2d(Conv2dParams p, Shape in, double[] x, double[] xMagnitude, float[] weights,
                         float[] bias, double[] residual) {
        Shape out = p.outputShape(in);
        Shape weightShape = p.weightShape();
        Nchw.requireLength(OP, "weights", weights, weightShape.elementCount(), weightShape);
        if (bias != null) {
            Nchw.requireLength(OP, "bias", bias, p.outChannels(), "[" + p.outChannels() + "]");
        }
        Padding.Explicit pads = p.pads(in.h(), in.w());
        int inH = (int) in.h(), inW = (int) in.w(), inC = (int) in.c();
        int outC = (int) out.c(), outH = (int) out.h(), outW = (int) out.w();
        int kernelH = (int) p.kernelH(), kernelW = (int) p.kernelW();
        int groupIn = (int) (p.inChannels() / p.groups());
        int groupOut = (int) (p.outChannels() / p.groups());
        double[] values = new double[Nchw.length(OP, out)];
        double[] magnitude = new double[values.length];
        int index = 0;
        for (int n = 0; n < out.n(); n++) {
            for (int o = 0; o < outC; o++) {
                int firstChannel = o / groupOut * groupIn;
                for (int i = 0; i < outH; i++) {
                    for (int j = 0; j < outW; j++, index++) {
                        double sum = 0;
                        double mag = 0;
                        for (int c = 0; c < groupIn; c++) {
                            for (int kh = 0; kh < kernelH; kh++) {
                                long ih = i * p.strideH() - pads.top() + kh * p.dilationH();
                                if (ih < 0 || ih >= inH) {
                                    continue; // padding reads as 0
                                }
                                for (int kw = 0; kw < kernelW; kw++) {
                                    long iw = j * p.strideW() - pads.left() + kw * p.dilationW();
                                    if (iw < 0 || iw >= inW) {
                                        continue;
                                    }
                                    int xi = (int) (((long) (n * inC + firstChannel + c) * inH + ih) * inW + iw);
                                    double w = weights[((o * groupIn + c) * kernelH + kh) * kernelW + kw];
                                    sum += w * x[xi];
                                    mag += Math.abs(w) * (xMagnitude == null ? Math.abs(x[xi]) : xMagnitude[xi]);
                                }
                            }
                        }
                        if (bias != null) {
                            sum += bias[o];
                            mag += Math.abs(bias[o]);
                        }
                        if (residual != null) {
                            sum += residual[index];
                            mag += Math.abs(residual[index]);
                        }
                        values[index] = p.activation().apply(sum);
                        magnitude[index] = mag;
                    }
                }
            }
        }
        return new Result(out, values, magnitude);
    }
}
