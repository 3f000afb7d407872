package dev.invconv.model;

import dev.invconv.Activation;
import dev.invconv.Conv2dParams;
import dev.invconv.Involution2d;
import dev.invconv.Involution2dParams;
import dev.invconv.Padding;
import dev.invconv.Shape;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The description of a network or one of its parts: hyper-parameters and the names of the
 * parameter tensors it reads, without weights or native memory. A {@link Network} is built
 * from a layer and {@link ModelWeights}; {@link ReferenceNetwork} runs the same description
 * in plain Java.
 *
 * <p>Names are full module paths as in a PyTorch {@code state_dict} ({@code layer1.0.conv1});
 * each layer says exactly which tensors it reads ({@link #parameters()}), so a checkpoint
 * converted from PyTorch loads as it is.
 *
 * <pre>{@code
 * Layer net = new Layer.Sequential("tiny", List.of(
 *         Layer.Conv.of("conv1", Conv2d.builder(3, 16, 3).padding(Padding.SAME).relu().params())
 *                 .withBatchNorm("bn1"),
 *         new Layer.GlobalAveragePool("pool"),
 *         Layer.Linear.of("fc", 16, 10)));
 * }</pre>
 *
 * <p>BatchNorm is always in inference form (running statistics) and is folded into the
 * convolution or involution it follows when the network is built; a residual block's add and
 * activation are fused into the last convolution of its body.
 */
public sealed interface Layer
        permits Layer.Conv, Layer.Involution, Layer.BatchNorm, Layer.Pooling, Layer.Linear, Layer.Sequential,
                Layer.Residual {

    /** PyTorch's BatchNorm2d epsilon. */
    double BN_EPSILON = 1e-5;

    /** The module path, e.g. {@code layer1.0.conv1}; also what profiles and summaries show. */
    String name();

    /** A short description of the operation, e.g. {@code conv 3x3/2 3→32 +bn +relu}. */
    String describe();

    /**
     * The output shape for an input of shape {@code input}.
     *
     * @throws IllegalArgumentException naming the layer if the input does not fit
     */
    Shape outputShape(Shape input);

    /**
     * Every tensor the layer reads, by full {@code state_dict} name, with its shape, in
     * {@code state_dict} order; BatchNorm running statistics included.
     */
    Map<String, long[]> parameters();

    /**
     * The trainable parameters, counted as PyTorch's {@code sum(p.numel() for p in
     * model.parameters())}: weights, biases and BatchNorm weight and bias, not the running
     * statistics.
     */
    long parameterCount();

    /**
     * Multiply-accumulates of one forward pass over {@code input} (the whole batch):
     * convolutions, involution (kernel generation and aggregation), linear layers and
     * stand-alone BatchNorm; pooling, additions and BatchNorm folded into a convolution or
     * involution are not counted.
     */
    long macs(Shape input);

    /** The layers this one is made of, in execution order; empty for an operator. */
    default List<Layer> children() {
        return List.of();
    }

    /** {@code prefix.suffix}, or {@code suffix} alone when the prefix is empty. */
    static String join(String prefix, String suffix) {
        return prefix == null || prefix.isEmpty() ? suffix : prefix + "." + suffix;
    }

    /** The four tensors of an inference BatchNorm named {@code prefix}, each {@code [channels]}. */
    private static void batchNormParameters(Map<String, long[]> into, String prefix, long channels) {
        for (String suffix : new String[] {"weight", "bias", "running_mean", "running_var"}) {
            into.put(join(prefix, suffix), new long[] {channels});
        }
    }

    private static IllegalArgumentException wrap(String name, IllegalArgumentException e) {
        return new IllegalArgumentException(name + ": " + e.getMessage(), e);
    }

    /**
     * A convolution, optionally with a bias and followed by an inference BatchNorm (folded into
     * its weights at build time); {@code params.activation()} applies last.
     *
     * @param name      module path
     * @param params    hyper-parameters (activation included)
     * @param weight    full name of the weight tensor, {@code [out, in/groups, kh, kw]}
     * @param bias      full name of the bias tensor {@code [out]}, or null for none
     * @param batchNorm prefix of the BatchNorm tensors ({@code .weight}, {@code .bias},
     *                  {@code .running_mean}, {@code .running_var}), or null for none
     * @param bnEpsilon the BatchNorm epsilon
     */
    record Conv(String name, Conv2dParams params, String weight, String bias, String batchNorm,
                double bnEpsilon) implements Layer {

        public Conv {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(params, "params");
            Objects.requireNonNull(weight, "weight");
        }

        /** A convolution without bias or BatchNorm whose weight is {@code name.weight}. */
        public static Conv of(String name, Conv2dParams params) {
            return new Conv(name, params, join(name, "weight"), null, null, BN_EPSILON);
        }

        /** This convolution with the bias {@code name.bias}. */
        public Conv withBias() {
            return new Conv(name, params, weight, join(name, "bias"), batchNorm, bnEpsilon);
        }

        /** This convolution followed by the BatchNorm whose tensors start with {@code prefix}. */
        public Conv withBatchNorm(String prefix) {
            return new Conv(name, params, weight, bias, Objects.requireNonNull(prefix, "prefix"), bnEpsilon);
        }

        /** This convolution with its weight under another name (e.g. {@code stem.0.conv.weight}). */
        public Conv withWeight(String weightName) {
            return new Conv(name, params, weightName, bias, batchNorm, bnEpsilon);
        }

        /** This convolution with another fused activation. */
        public Conv withActivation(Activation activation) {
            Conv2dParams p = params;
            return new Conv(name, new Conv2dParams(p.inChannels(), p.outChannels(), p.kernelH(), p.kernelW(),
                    p.strideH(), p.strideW(), p.dilationH(), p.dilationW(), p.groups(), p.padding(), activation),
                    weight, bias, batchNorm, bnEpsilon);
        }

        @Override
        public String describe() {
            Conv2dParams p = params;
            String stride = p.strideH() == p.strideW() ? "/" + p.strideH() : "/" + p.strideH() + "x" + p.strideW();
            return "conv " + p.kernelH() + "x" + p.kernelW() + (p.strideH() == 1 && p.strideW() == 1 ? "" : stride)
                    + " " + p.inChannels() + "→" + p.outChannels()
                    + (p.groups() == 1 ? "" : " g" + p.groups())
                    + (bias == null ? "" : " +bias") + (batchNorm == null ? "" : " +bn")
                    + (p.activation() == Activation.NONE ? "" : " +" + p.activation().name().toLowerCase(Locale.ROOT));
        }

        @Override
        public Shape outputShape(Shape input) {
            try {
                return params.outputShape(input);
            } catch (IllegalArgumentException e) {
                throw wrap(name, e);
            }
        }

        @Override
        public Map<String, long[]> parameters() {
            Map<String, long[]> shapes = new LinkedHashMap<>();
            shapes.put(weight, params.weightShape().toArray());
            if (bias != null) {
                shapes.put(bias, new long[] {params.outChannels()});
            }
            if (batchNorm != null) {
                batchNormParameters(shapes, batchNorm, params.outChannels());
            }
            return shapes;
        }

        @Override
        public long parameterCount() {
            return params.weightShape().elementCount() + (bias == null ? 0 : params.outChannels())
                    + (batchNorm == null ? 0 : 2 * params.outChannels());
        }

        @Override
        public long macs(Shape input) {
            Shape out = outputShape(input);
            return out.elementCount() * (params.inChannels() / params.groups()) * params.kernelH() * params.kernelW();
        }
    }

    /**
     * The official involution module (see {@link Involution2d}), optionally followed by an
     * inference BatchNorm (RedNet's {@code bn2}, folded into the module's output affine) and an
     * activation.
     *
     * @param name       module path; the module's own tensors are {@code name.conv1.conv.weight},
     *                   {@code name.conv1.bn.*}, {@code name.conv2.conv.weight}, {@code name.conv2.conv.bias}
     * @param params     hyper-parameters
     * @param batchNorm  prefix of the BatchNorm after the module, or null for none
     * @param bnEpsilon  that BatchNorm's epsilon
     * @param activation applied last
     */
    record Involution(String name, Involution2dParams params, String batchNorm, double bnEpsilon,
                      Activation activation) implements Layer {

        public Involution {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(params, "params");
            Objects.requireNonNull(activation, "activation");
        }

        /** The official module with its defaults (16 channels per group, reduction 4), nothing after it. */
        public static Involution of(String name, long channels, long kernelSize, long stride) {
            return new Involution(name, Involution2dParams.of(channels, kernelSize, stride), null, BN_EPSILON,
                    Activation.NONE);
        }

        /** This module followed by the BatchNorm whose tensors start with {@code prefix}. */
        public Involution withBatchNorm(String prefix) {
            return new Involution(name, params, Objects.requireNonNull(prefix, "prefix"), bnEpsilon, activation);
        }

        public Involution withActivation(Activation act) {
            return new Involution(name, params, batchNorm, bnEpsilon, act);
        }

        @Override
        public String describe() {
            return "involution " + params.kernelSize() + "x" + params.kernelSize()
                    + (params.stride() == 1 ? "" : "/" + params.stride()) + " " + params.channels()
                    + " G" + params.groups() + (batchNorm == null ? "" : " +bn")
                    + (activation == Activation.NONE ? "" : " +" + activation.name().toLowerCase(Locale.ROOT));
        }

        @Override
        public Shape outputShape(Shape input) {
            try {
                return params.outputShape(input);
            } catch (IllegalArgumentException e) {
                throw wrap(name, e);
            }
        }

        @Override
        public Map<String, long[]> parameters() {
            Map<String, long[]> shapes = new LinkedHashMap<>();
            Involution2d.parameterShapes(params).forEach((suffix, shape) -> shapes.put(join(name, suffix), shape));
            if (batchNorm != null) {
                batchNormParameters(shapes, batchNorm, params.channels());
            }
            return shapes;
        }

        @Override
        public long parameterCount() {
            long reduced = params.reducedChannels();
            return reduced * params.channels() + 2 * reduced + params.spanChannels() * reduced + params.spanChannels()
                    + (batchNorm == null ? 0 : 2 * params.channels());
        }

        @Override
        public long macs(Shape input) {
            Shape out = outputShape(input);
            long pixels = out.n() * out.h() * out.w();
            long reduced = params.reducedChannels();
            long generation = pixels * (params.channels() * reduced + reduced * params.spanChannels());
            long aggregation = pixels * params.channels() * params.kernelSize() * params.kernelSize();
            return generation + aggregation;
        }
    }

    /**
     * A stand-alone inference BatchNorm (and activation), for where it does not follow a
     * convolution; it runs as a per-channel scale and shift.
     *
     * @param name       module path; tensors {@code name.weight}, {@code .bias}, {@code .running_mean}, {@code .running_var}
     * @param channels   channels
     * @param epsilon    epsilon
     * @param activation applied after
     */
    record BatchNorm(String name, long channels, double epsilon, Activation activation) implements Layer {

        public BatchNorm {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(activation, "activation");
            if (channels < 1) {
                throw new IllegalArgumentException(name + ": channels=" + channels + " must be >= 1");
            }
        }

        @Override
        public String describe() {
            return "batchnorm " + channels + (activation == Activation.NONE ? "" : " +" + activation.name().toLowerCase(Locale.ROOT));
        }

        @Override
        public Shape outputShape(Shape input) {
            requireChannels(name, input, channels);
            return input;
        }

        @Override
        public Map<String, long[]> parameters() {
            Map<String, long[]> shapes = new LinkedHashMap<>();
            batchNormParameters(shapes, name, channels);
            return shapes;
        }

        @Override
        public long parameterCount() {
            return 2 * channels;
        }

        @Override
        public long macs(Shape input) {
            return outputShape(input).elementCount();
        }
    }

    /** The pooling layers: no parameters, and no multiply-accumulates counted. */
    sealed interface Pooling extends Layer permits MaxPool, AvgPool, GlobalAveragePool {

        @Override
        default Map<String, long[]> parameters() {
            return Map.of();
        }

        @Override
        default long parameterCount() {
            return 0;
        }

        /** 0, after checking that the input fits. */
        @Override
        default long macs(Shape input) {
            outputShape(input);
            return 0;
        }
    }

    /**
     * Max pooling over {@code kernel × kernel} windows (PyTorch's {@code MaxPool2d}, floor mode).
     *
     * @param padding e.g. {@code Padding.explicit(1, 1, 1, 1)} for PyTorch's {@code padding=1}
     */
    record MaxPool(String name, long kernel, long stride, Padding padding) implements Pooling {

        public MaxPool {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(padding, "padding");
        }

        @Override
        public String describe() {
            return "maxpool " + kernel + "x" + kernel + "/" + stride;
        }

        @Override
        public Shape outputShape(Shape input) {
            return poolOutput(name, input, kernel, stride, padding);
        }
    }

    /**
     * Average pooling over {@code kernel × kernel} windows (PyTorch's {@code AvgPool2d}, floor mode).
     *
     * @param countIncludePad whether padded elements count in the divisor (PyTorch's default: true)
     */
    record AvgPool(String name, long kernel, long stride, Padding padding, boolean countIncludePad) implements Pooling {

        public AvgPool {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(padding, "padding");
        }

        @Override
        public String describe() {
            return "avgpool " + kernel + "x" + kernel + "/" + stride;
        }

        @Override
        public Shape outputShape(Shape input) {
            return poolOutput(name, input, kernel, stride, padding);
        }
    }

    /** Global average pooling: {@code [N, C, H, W] → [N, C, 1, 1]}. */
    record GlobalAveragePool(String name) implements Pooling {

        public GlobalAveragePool {
            Objects.requireNonNull(name, "name");
        }

        @Override
        public String describe() {
            return "global average pool";
        }

        @Override
        public Shape outputShape(Shape input) {
            return new Shape(input.n(), input.c(), 1, 1);
        }
    }

    /**
     * A fully connected layer on {@code [N, inFeatures, 1, 1]} (what a global pool produces),
     * giving {@code [N, outFeatures, 1, 1]}; it runs as a 1×1 convolution.
     *
     * @param weight full name of the weight, {@code [outFeatures, inFeatures]} (PyTorch's Linear)
     * @param bias   full name of the bias {@code [outFeatures]}, or null for none
     */
    record Linear(String name, long inFeatures, long outFeatures, String weight, String bias) implements Layer {

        public Linear {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(weight, "weight");
            if (inFeatures < 1 || outFeatures < 1) {
                throw new IllegalArgumentException(name + ": features " + inFeatures + "→" + outFeatures
                        + " must be >= 1");
            }
        }

        /** A linear layer with {@code name.weight} and {@code name.bias}. */
        public static Linear of(String name, long inFeatures, long outFeatures) {
            return new Linear(name, inFeatures, outFeatures, join(name, "weight"), join(name, "bias"));
        }

        @Override
        public String describe() {
            return "linear " + inFeatures + "→" + outFeatures + (bias == null ? "" : " +bias");
        }

        @Override
        public Shape outputShape(Shape input) {
            if (input.h() != 1 || input.w() != 1) {
                throw new IllegalArgumentException(name + ": input " + input
                        + " is not [N, features, 1, 1]; put a global pool before a linear layer");
            }
            requireChannels(name, input, inFeatures);
            return new Shape(input.n(), outFeatures, 1, 1);
        }

        @Override
        public Map<String, long[]> parameters() {
            Map<String, long[]> shapes = new LinkedHashMap<>();
            shapes.put(weight, new long[] {outFeatures, inFeatures});
            if (bias != null) {
                shapes.put(bias, new long[] {outFeatures});
            }
            return shapes;
        }

        @Override
        public long parameterCount() {
            return outFeatures * inFeatures + (bias == null ? 0 : outFeatures);
        }

        @Override
        public long macs(Shape input) {
            return outputShape(input).n() * inFeatures * outFeatures;
        }
    }

    /** Layers applied one after the other. */
    record Sequential(String name, List<Layer> layers) implements Layer {

        public Sequential {
            Objects.requireNonNull(name, "name");
            layers = List.copyOf(layers);
            if (layers.isEmpty()) {
                throw new IllegalArgumentException(name + ": a sequential layer needs at least one layer");
            }
        }

        @Override
        public String describe() {
            return "sequential (" + layers.size() + " layers)";
        }

        @Override
        public List<Layer> children() {
            return layers;
        }

        @Override
        public Shape outputShape(Shape input) {
            Shape shape = input;
            for (Layer layer : layers) {
                shape = layer.outputShape(shape);
            }
            return shape;
        }

        @Override
        public Map<String, long[]> parameters() {
            return collect(name, layers);
        }

        @Override
        public long parameterCount() {
            return layers.stream().mapToLong(Layer::parameterCount).sum();
        }

        @Override
        public long macs(Shape input) {
            long macs = 0;
            Shape shape = input;
            for (Layer layer : layers) {
                macs += layer.macs(shape);
                shape = layer.outputShape(shape);
            }
            return macs;
        }
    }

    /**
     * A residual block: {@code y = activation(body(x) + shortcut(x))}. The body's last layer is a
     * convolution without activation, into which the add and the activation are fused.
     *
     * @param body       the residual branch; ends with a {@link Conv} whose activation is NONE
     * @param shortcut   the shortcut branch (e.g. a strided 1×1 convolution with BatchNorm), or
     *                   null for the identity
     * @param activation applied after the add
     */
    record Residual(String name, List<Layer> body, Layer shortcut, Activation activation) implements Layer {

        public Residual {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(activation, "activation");
            body = List.copyOf(body);
            if (body.isEmpty() || !(body.getLast() instanceof Conv last)) {
                throw new IllegalArgumentException(name + ": a residual body must end with a convolution"
                        + " (the add is fused into it)");
            }
            if (last.params().activation() != Activation.NONE) {
                throw new IllegalArgumentException(name + ": the last convolution of the body, " + last.name()
                        + ", must have no activation; the block's activation applies after the add");
            }
        }

        /** The body's last convolution, which the add is fused into. */
        public Conv last() {
            return (Conv) body.getLast();
        }

        @Override
        public String describe() {
            return "residual (" + body.size() + " layers" + (shortcut == null ? ", identity" : ", projection")
                    + (activation == Activation.NONE ? "" : ", " + activation.name().toLowerCase(Locale.ROOT)) + ")";
        }

        @Override
        public List<Layer> children() {
            List<Layer> all = new ArrayList<>(body);
            if (shortcut != null) {
                all.add(shortcut);
            }
            return Collections.unmodifiableList(all);
        }

        @Override
        public Shape outputShape(Shape input) {
            Shape shape = input;
            for (Layer layer : body) {
                shape = layer.outputShape(shape);
            }
            Shape identity = shortcut == null ? input : shortcut.outputShape(input);
            if (!identity.equals(shape)) {
                throw new IllegalArgumentException(name + ": the body gives " + shape + " but the shortcut "
                        + identity + (shortcut == null ? " (identity); a projection shortcut is needed" : ""));
            }
            return shape;
        }

        @Override
        public Map<String, long[]> parameters() {
            return collect(name, children());
        }

        @Override
        public long parameterCount() {
            return children().stream().mapToLong(Layer::parameterCount).sum();
        }

        @Override
        public long macs(Shape input) {
            long macs = 0;
            Shape shape = input;
            for (Layer layer : body) {
                macs += layer.macs(shape);
                shape = layer.outputShape(shape);
            }
            return macs + (shortcut == null ? 0 : shortcut.macs(input));
        }
    }

    private static Map<String, long[]> collect(String name, List<Layer> layers) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (Layer layer : layers) {
            for (Map.Entry<String, long[]> e : layer.parameters().entrySet()) {
                long[] previous = shapes.putIfAbsent(e.getKey(), e.getValue());
                if (previous != null) {
                    throw new IllegalArgumentException(name + ": tensor '" + e.getKey() + "' is used by two layers ("
                            + Arrays.toString(previous) + " and " + Arrays.toString(e.getValue()) + ")");
                }
            }
        }
        return shapes;
    }

    private static void requireChannels(String name, Shape input, long channels) {
        if (input.c() != channels) {
            throw new IllegalArgumentException(name + ": input " + input + " has " + input.c()
                    + " channels but the layer expects " + channels);
        }
    }

    /** PyTorch's pooling output size (floor mode) per axis; an empty output is an error. */
    private static Shape poolOutput(String name, Shape input, long kernel, long stride, Padding padding) {
        if (kernel < 1 || stride < 1) {
            throw new IllegalArgumentException(name + ": kernel=" + kernel + " and stride=" + stride + " must be >= 1");
        }
        Padding.Explicit pads = padding.resolve(input.h(), input.w(), kernel, kernel, stride, stride, 1, 1);
        long outH = Math.floorDiv(input.h() + pads.top() + pads.bottom() - kernel, stride) + 1;
        long outW = Math.floorDiv(input.w() + pads.left() + pads.right() - kernel, stride) + 1;
        if (outH < 1 || outW < 1) {
            throw new IllegalArgumentException(name + ": input " + input + " is too small for a " + kernel + "x"
                    + kernel + " pool with stride " + stride);
        }
        return new Shape(input.n(), input.c(), outH, outW);
    }
}
