package dev.invconv.reference;

import dev.invconv.Activation;
import dev.invconv.Involution2dParams;
import dev.invconv.Shape;
import dev.invconv.Tensor;

import java.util.Objects;

/**
 * Plain-Java float64 involution module of the official code (SPEC §3.2), step by step:
 * <pre>
 * X' = stride > 1 ? AvgPool(stride, stride)(X) : X
 * T  = ReLU(BN(W0 * X'))      inference BatchNorm: (v − mean) / sqrt(var + eps) · weight + bias
 * Wk = W1 * T + b1
 * Y  = aggregate(X, Wk)       see {@link ReferenceInvolution}
 * </pre>
 * and, with the optional epilogue of {@code Involution2d}, {@code act(outScale[c] · Y + outShift[c])}.
 * Everything is in double, the generated kernels included. The magnitude returned is that of
 * the aggregation ({@code Σ |Wk·x|}) and does not cover the kernel generation; module outputs
 * are compared with {@link Tolerance#checkModule}, as SPEC §8 prescribes.
 */
public final class ReferenceInvolution2d {

    private static final String OP = "involution2d";

    private ReferenceInvolution2d() {}

    /**
     * Runs the module, with the weights under their official names.
     *
     * @param input        any layout
     * @param reduceWeight {@code conv1.conv.weight}, {@code [C/r, C, 1, 1]}
     * @param bnWeight     {@code conv1.bn.weight}, {@code [C/r]}
     * @param bnBias       {@code conv1.bn.bias}, {@code [C/r]}
     * @param bnMean       {@code conv1.bn.running_mean}, {@code [C/r]}
     * @param bnVar        {@code conv1.bn.running_var}, {@code [C/r]}
     * @param spanWeight   {@code conv2.conv.weight}, {@code [K·K·G, C/r, 1, 1]}
     * @param spanBias     {@code conv2.conv.bias}, {@code [K·K·G]}
     * @throws IllegalArgumentException if a shape or array length does not match the params
     */
    public static Result run(Involution2dParams params, Tensor input, float[] reduceWeight, float[] bnWeight,
                             float[] bnBias, float[] bnMean, float[] bnVar, float[] spanWeight, float[] spanBias) {
        return run(params, input, reduceWeight, bnWeight, bnBias, bnMean, bnVar, spanWeight, spanBias,
                Activation.NONE, null, null);
    }

    /**
     * Runs the module followed by the epilogue of {@code Involution2d}:
     * {@code y = activation(outScale[c] · y + outShift[c])}. The magnitude becomes
     * {@code |outScale[c]| · m + |outShift[c]|}.
     *
     * @param activation applied last
     * @param outScale   {@code [C]}, or null (then {@code outShift} must be null too)
     * @param outShift   {@code [C]}, or null
     * @throws IllegalArgumentException if only one of outScale and outShift is given, or a length
     *                                  does not match
     */
    public static Result run(Involution2dParams params, Tensor input, float[] reduceWeight, float[] bnWeight,
                             float[] bnBias, float[] bnMean, float[] bnVar, float[] spanWeight, float[] spanBias,
                             Activation activation, float[] outScale, float[] outShift) {
        Objects.requireNonNull(params, "params");
        Objects.requireNonNull(activation, "activation");
        if ((outScale == null) != (outShift == null)) {
            throw new IllegalArgumentException(OP + ": out_scale and out_shift must be given together");
        }
        if (outScale != null) {
            Nchw.requireLength(OP, "out_scale", outScale, params.channels(), "[" + params.channels() + "]");
            Nchw.requireLength(OP, "out_shift", outShift, params.channels(), "[" + params.channels() + "]");
        }
        Result y = module(params, input, reduceWeight, bnWeight, bnBias, bnMean, bnVar, spanWeight, spanBias);
        if (outScale == null && activation == Activation.NONE) {
            return y;
        }
        Shape out = y.shape();
        double[] values = y.values().clone();
        double[] magnitude = y.magnitude().clone();
        int plane = (int) (out.h() * out.w());
        for (int i = 0; i < values.length; i++) {
            int c = (int) (i / plane % out.c());
            if (outScale != null) {
                values[i] = (double) outScale[c] * values[i] + outShift[c];
                magnitude[i] = Math.abs(outScale[c]) * magnitude[i] + Math.abs(outShift[c]);
            }
            values[i] = activation.apply(values[i]);
        }
        return new Result(out, values, magnitude);
    }

    private static Result module(Involution2dParams params, Tensor input, float[] reduceWeight, float[] bnWeight,
                                 float[] bnBias, float[] bnMean, float[] bnVar, float[] spanWeight,
                                 float[] spanBias) {
        Objects.requireNonNull(input, "input");
        Shape in = input.shape();
        Shape out = params.outputShape(in);
        int reduced = (int) params.reducedChannels();
        int span = (int) params.spanChannels();
        int channels = (int) params.channels();
        Nchw.requireLength(OP, "conv1.conv.weight", reduceWeight, params.reduceWeightShape().elementCount(),
                params.reduceWeightShape());
        float[][] bn = {bnWeight, bnBias, bnMean, bnVar};
        String[] bnNames = {"weight", "bias", "running_mean", "running_var"};
        for (int i = 0; i < bn.length; i++) {
            Nchw.requireLength(OP, "conv1.bn." + bnNames[i], bn[i], reduced, "[" + reduced + "]");
        }
        Nchw.requireLength(OP, "conv2.conv.weight", spanWeight, params.spanWeightShape().elementCount(),
                params.spanWeightShape());
        Nchw.requireLength(OP, "conv2.conv.bias", spanBias, span, "[" + span + "]");

        double[] x = Nchw.read(input);
        double[] pooled = params.stride() > 1 ? averagePool(in, x, (int) params.stride()) : x;
        int pixels = (int) (out.h() * out.w());
        double[] kernels = new double[Nchw.length(OP, new Shape(in.n(), span, out.h(), out.w()))];
        double[] hidden = new double[reduced];
        for (int n = 0; n < in.n(); n++) {
            for (int pixel = 0; pixel < pixels; pixel++) {
                for (int r = 0; r < reduced; r++) {
                    double sum = 0;
                    for (int c = 0; c < channels; c++) {
                        sum += reduceWeight[r * channels + c] * pooled[(n * channels + c) * pixels + pixel];
                    }
                    double normalized = (sum - bnMean[r]) / Math.sqrt(bnVar[r] + params.bnEpsilon())
                            * bnWeight[r] + bnBias[r];
                    hidden[r] = Math.max(normalized, 0);
                }
                for (int k = 0; k < span; k++) {
                    double sum = spanBias[k];
                    for (int r = 0; r < reduced; r++) {
                        sum += spanWeight[k * reduced + r] * hidden[r];
                    }
                    kernels[(n * span + k) * pixels + pixel] = sum;
                }
            }
        }
        return ReferenceInvolution.aggregate(params.aggregation(), in, x, kernels);
    }

    /** AvgPool2d(s, s): the mean of each {@code s×s} block; the input is a multiple of s in size. */
    private static double[] averagePool(Shape in, double[] x, int s) {
        int inH = (int) in.h(), inW = (int) in.w();
        int outH = inH / s, outW = inW / s;
        double[] pooled = new double[(int) (in.n() * in.c()) * outH * outW];
        int index = 0;
        for (int plane = 0; plane < in.n() * in.c(); plane++) {
            for (int i = 0; i < outH; i++) {
                for (int j = 0; j < outW; j++, index++) {
                    double sum = 0;
                    for (int a = 0; a < s; a++) {
                        for (int b = 0; b < s; b++) {
                            sum += x[(plane * inH + i * s + a) * inW + j * s + b];
                        }
                    }
                    pooled[index] = sum / (s * s);
                }
            }
        }
        return pooled;
    }
}
