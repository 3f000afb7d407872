package dev.invconv.model;

import dev.invconv.Activation;
import dev.invconv.Conv2dParams;
import dev.invconv.Involution2d;
import dev.invconv.Shape;
import dev.invconv.Tensor;
import dev.invconv.reference.ReferenceConv2d;
import dev.invconv.reference.ReferenceInvolution2d;
import dev.invconv.reference.ReferencePool2d;
import dev.invconv.reference.ReferenceGlobalAveragePool;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Objects;

/**
 * A {@link Layer} run in plain Java with the {@code dev.invconv.reference} operators, the
 * oracle of the end-to-end tests. Nothing is folded or fused: each BatchNorm, bias, residual
 * add and activation is applied on its own, in double, exactly as PyTorch's modules compose;
 * only the activations passed between operators are rounded to float32, as the reference
 * operators read float32 tensors. Slow: for small inputs.
 */
public final class ReferenceNetwork {

    private final ModelWeights weights;

    private ReferenceNetwork(ModelWeights weights) {
        this.weights = weights;
    }

    /**
     * Runs {@code layer} on {@code input} (any layout).
     *
     * @return the output in logical NCHW order, of shape {@code layer.outputShape(input.shape())}
     * @throws WeightsException if the weights do not fit the layer
     */
    public static double[] forward(Layer layer, ModelWeights weights, Tensor input) {
        Objects.requireNonNull(layer, "layer");
        Objects.requireNonNull(input, "input");
        weights.check(layer);
        try (Arena arena = Arena.ofConfined()) {
            Tensor nchw = input.layout() == dev.invconv.Layout.NCHW ? input : input.toLayout(arena, dev.invconv.Layout.NCHW);
            float[] values = nchw.toArray();
            double[] x = new double[values.length];
            for (int i = 0; i < x.length; i++) {
                x[i] = values[i];
            }
            return new ReferenceNetwork(weights).run(layer, new Activations(input.shape(), x)).values();
        }
    }

    /** An activation tensor in NCHW order, in double. */
    private record Activations(Shape shape, double[] values) {}

    private Activations run(Layer layer, Activations x) {
        return switch (layer) {
            case Layer.Conv c -> conv(c, x, null, c.params().activation());
            case Layer.Involution v -> involution(v, x);
            case Layer.BatchNorm b -> {
                double[] y = x.values().clone();
                batchNorm(y, x.shape(), b.name(), b.epsilon());
                activate(y, b.activation());
                yield new Activations(x.shape(), y);
            }
            case Layer.MaxPool m -> new Activations(m.outputShape(x.shape()),
                    ReferencePool2d.max(tensorless(x), x.shape(), m.kernel(), m.stride(), m.padding()));
            case Layer.AvgPool a -> new Activations(a.outputShape(x.shape()),
                    ReferencePool2d.average(tensorless(x), x.shape(), a.kernel(), a.stride(), a.padding(),
                            a.countIncludePad()));
            case Layer.GlobalAveragePool g -> new Activations(g.outputShape(x.shape()),
                    ReferenceGlobalAveragePool.run(tensorless(x), x.shape()));
            case Layer.Linear l -> linear(l, x);
            case Layer.Sequential s -> {
                Activations current = x;
                for (Layer child : s.layers()) {
                    current = run(child, current);
                }
                yield current;
            }
            case Layer.Residual r -> {
                Activations identity = r.shortcut() == null ? x : run(r.shortcut(), x);
                Activations current = x;
                List<Layer> body = r.body();
                for (Layer child : body.subList(0, body.size() - 1)) {
                    current = run(child, current);
                }
                yield conv(r.last(), current, identity, r.activation());
            }
        };
    }

    private static double[] tensorless(Activations x) {
        return x.values();
    }

    /** act(BN(conv(x) + bias) + residual). */
    private Activations conv(Layer.Conv c, Activations x, Activations residual, Activation activation) {
        Conv2dParams p = c.params();
        Conv2dParams linear = new Conv2dParams(p.inChannels(), p.outChannels(), p.kernelH(), p.kernelW(), p.strideH(),
                p.strideW(), p.dilationH(), p.dilationW(), p.groups(), p.padding(), Activation.NONE);
        double[] y;
        Shape out;
        try (Arena arena = Arena.ofConfined()) {
            var result = ReferenceConv2d.run(linear, tensor(arena, x), weights.floats(c.weight()), null, null);
            y = result.values();
            out = result.shape();
        }
        if (c.bias() != null) {
            float[] bias = weights.floats(c.bias());
            perChannel(y, out, (v, ch) -> v + bias[ch]);
        }
        if (c.batchNorm() != null) {
            batchNorm(y, out, c.batchNorm(), c.bnEpsilon());
        }
        if (residual != null) {
            for (int i = 0; i < y.length; i++) {
                y[i] += residual.values()[i];
            }
        }
        activate(y, activation);
        return new Activations(out, y);
    }

    private Activations involution(Layer.Involution v, Activations x) {
        String n = v.name();
        double[] y;
        Shape out;
        try (Arena arena = Arena.ofConfined()) {
            var result = ReferenceInvolution2d.run(v.params(), tensor(arena, x),
                    weights.floats(Layer.join(n, Involution2d.REDUCE_WEIGHT)),
                    weights.floats(Layer.join(n, Involution2d.BN_WEIGHT)),
                    weights.floats(Layer.join(n, Involution2d.BN_BIAS)),
                    weights.floats(Layer.join(n, Involution2d.BN_RUNNING_MEAN)),
                    weights.floats(Layer.join(n, Involution2d.BN_RUNNING_VAR)),
                    weights.floats(Layer.join(n, Involution2d.SPAN_WEIGHT)),
                    weights.floats(Layer.join(n, Involution2d.SPAN_BIAS)));
            y = result.values();
            out = result.shape();
        }
        if (v.batchNorm() != null) {
            batchNorm(y, out, v.batchNorm(), v.bnEpsilon());
        }
        activate(y, v.activation());
        return new Activations(out, y);
    }

    private Activations linear(Layer.Linear l, Activations x) {
        Shape out = l.outputShape(x.shape());
        float[] w = weights.floats(l.weight());
        float[] bias = l.bias() == null ? null : weights.floats(l.bias());
        int in = (int) l.inFeatures();
        int features = (int) l.outFeatures();
        double[] y = new double[(int) out.elementCount()];
        for (int n = 0; n < out.n(); n++) {
            for (int o = 0; o < features; o++) {
                double sum = bias == null ? 0 : bias[o];
                for (int i = 0; i < in; i++) {
                    sum += (double) w[o * in + i] * x.values()[n * in + i];
                }
                y[n * features + o] = sum;
            }
        }
        return new Activations(out, y);
    }

    /** PyTorch's BatchNorm2d in eval mode: {@code (v − mean) / √(var + ε) · γ + β}, in place. */
    private void batchNorm(double[] y, Shape shape, String prefix, double epsilon) {
        float[] gamma = weights.floats(Layer.join(prefix, "weight"));
        float[] beta = weights.floats(Layer.join(prefix, "bias"));
        float[] mean = weights.floats(Layer.join(prefix, "running_mean"));
        float[] var = weights.floats(Layer.join(prefix, "running_var"));
        perChannel(y, shape, (v, c) -> (v - mean[c]) / Math.sqrt((double) var[c] + epsilon) * gamma[c] + beta[c]);
    }

    private interface ChannelOp {
        double apply(double value, int channel);
    }

    private static void perChannel(double[] y, Shape shape, ChannelOp op) {
        int plane = (int) (shape.h() * shape.w());
        int channels = (int) shape.c();
        for (int i = 0; i < y.length; i++) {
            y[i] = op.apply(y[i], i / plane % channels);
        }
    }

    private static void activate(double[] y, Activation activation) {
        if (activation != Activation.NONE) {
            for (int i = 0; i < y.length; i++) {
                y[i] = activation.apply(y[i]);
            }
        }
    }

    /** The activations rounded to float32, as an NCHW tensor of {@code arena}. */
    private static Tensor tensor(Arena arena, Activations x) {
        float[] values = new float[x.values().length];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) x.values()[i];
        }
        return Tensor.of(arena, x.shape(), values);
    }
}
