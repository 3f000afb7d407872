package dev.invconv.conformance;

import dev.invconv.Activation;
import dev.invconv.Conv2dParams;
import dev.invconv.Involution2dParams;
import dev.invconv.InvolutionParams;
import dev.invconv.Padding;
import dev.invconv.SeparableConv2dParams;
import dev.invconv.Shape;
import dev.invconv.model.Layer;
import dev.invconv.model.Models;
import dev.invconv.safetensors.DType;
import dev.invconv.safetensors.SafeTensors;
import dev.invconv.safetensors.SafeTensorsException;
import dev.invconv.safetensors.TensorView;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Supplier;

/** Turns a vector file's metadata and tensors into a {@link VectorCase}. */
final class VectorCaseLoader {

    private final SafeTensors file;
    private final Map<String, String> metadata;
    private final String name;

    private VectorCaseLoader(SafeTensors file) {
        this.file = file;
        this.metadata = file.metadata();
        String fileName = file.path().getFileName().toString();
        this.name = fileName.endsWith(".safetensors")
                ? fileName.substring(0, fileName.length() - ".safetensors".length()) : fileName;
    }

    static VectorCase load(Path path) throws IOException {
        try (SafeTensors file = SafeTensors.open(path)) {
            VectorCaseLoader loader = new VectorCaseLoader(file);
            String op = loader.string("op");
            return switch (op) {
                case "conv2d" -> loader.conv2d();
                case "separable_conv2d" -> loader.separableConv2d();
                case "involution_aggregate" -> loader.involutionAggregate();
                case "involution2d" -> loader.involution2d();
                case "rednet_bottleneck" -> loader.rednetBottleneck();
                default -> throw new UnsupportedOperationException(path + ": op '" + op
                        + "' is not supported; known ops: " + new TreeSet<>(VectorCase.OPS));
            };
        }
    }

    private VectorCase.Conv2dCase conv2d() {
        Shape input = inputShape();
        long[] weight = file.tensor("weight").shape();
        if (weight.length != 4) {
            throw new SafeTensorsException(file.path() + ": tensor 'weight': shape " + Arrays.toString(weight)
                    + " is not 4-D [out, in/groups, kh, kw]");
        }
        long[] stride = pair("stride", null);
        long[] dilation = pair("dilation", new long[] {1, 1});
        long groups = integer("groups", 1);
        Padding.Explicit pads = pads();
        Padding padding = padding(pads);
        Activation activation = activation("activation");
        Conv2dParams params = check(() -> new Conv2dParams(input.c(), weight[0], weight[2], weight[3],
                stride[0], stride[1], dilation[0], dilation[1], groups, padding, activation));
        float[] weights = floats("weight", params.weightShape());
        float[] bias = file.has("bias") ? floats("bias", params.outChannels()) : null;
        return new VectorCase.Conv2dCase(data(input, check(() -> params.outputShape(input))), params, pads,
                weights, bias);
    }

    private VectorCase.SeparableConv2dCase separableConv2d() {
        Shape input = inputShape();
        long[] depthwise = file.tensor("depthwise.weight").shape();
        long[] pointwise = file.tensor("pointwise.weight").shape();
        if (depthwise.length != 4 || pointwise.length != 4) {
            throw new SafeTensorsException(file.path() + ": depthwise.weight " + Arrays.toString(depthwise)
                    + " and pointwise.weight " + Arrays.toString(pointwise) + " must be 4-D");
        }
        long[] stride = pair("stride", null);
        long[] dilation = pair("dilation", new long[] {1, 1});
        long multiplier = integer("depth_multiplier", 1);
        Padding.Explicit pads = pads();
        Padding padding = padding(pads);
        Activation depthwiseActivation = activation("depthwise_activation");
        Activation activation = activation("activation");
        SeparableConv2dParams params = check(() -> new SeparableConv2dParams(input.c(), multiplier, pointwise[0],
                depthwise[2], depthwise[3], stride[0], stride[1], dilation[0], dilation[1], padding,
                depthwiseActivation, activation));
        Conv2dParams dw = params.depthwise();
        Conv2dParams pw = params.pointwise();
        return new VectorCase.SeparableConv2dCase(data(input, check(() -> params.outputShape(input))), params, pads,
                floats("depthwise.weight", dw.weightShape()),
                file.has("depthwise.bias") ? floats("depthwise.bias", dw.outChannels()) : null,
                floats("pointwise.weight", pw.weightShape()),
                file.has("pointwise.bias") ? floats("pointwise.bias", pw.outChannels()) : null);
    }

    private VectorCase.InvolutionAggregateCase involutionAggregate() {
        Shape input = inputShape();
        long kernelSize = integer("kernel_size");
        long stride = integer("stride", 1);
        long dilation = integer("dilation", 1);
        long groupChannels = integer("group_channels", 16);
        long padding = metadata.containsKey("padding") ? integer("padding") : -1;
        InvolutionParams params = check(() -> new InvolutionParams(input.c(), kernelSize, stride, dilation,
                groupChannels));
        Shape kernels = check(() -> params.kernelsShape(input));
        return new VectorCase.InvolutionAggregateCase(data(input, params.outputShape(input)), params, padding,
                floats("kernel", kernels));
    }

    private VectorCase.Involution2dCase involution2d() {
        Shape input = inputShape();
        long channels = integer("channels", input.c());
        long kernelSize = integer("kernel_size");
        long stride = integer("stride", 1);
        long dilation = integer("dilation", 1);
        long groupChannels = integer("group_channels", 16);
        long reductionRatio = integer("reduction_ratio", 4);
        double bnEpsilon = real("bn_epsilon", 1e-5);
        Involution2dParams params = check(() -> new Involution2dParams(channels, kernelSize, stride, dilation,
                groupChannels, reductionRatio, bnEpsilon));
        Shape output = check(() -> params.outputShape(input));
        long reduced = params.reducedChannels();
        return new VectorCase.Involution2dCase(data(input, output), params,
                floats("conv1.conv.weight", params.reduceWeightShape()),
                floats("conv1.bn.weight", reduced), floats("conv1.bn.bias", reduced),
                floats("conv1.bn.running_mean", reduced), floats("conv1.bn.running_var", reduced),
                floats("conv2.conv.weight", params.spanWeightShape()),
                floats("conv2.conv.bias", params.spanChannels()));
    }

    private VectorCase.RednetBottleneckCase rednetBottleneck() {
        Shape input = inputShape();
        long in = integer("in_channels", input.c());
        long out = integer("out_channels");
        long stride = integer("stride", 1);
        if (in != input.c()) {
            throw invalid("metadata 'in_channels'=" + in + " but the input " + input + " has " + input.c() + " channels");
        }
        Layer.Residual block = check(() -> Models.rednetBottleneck("", in, out, stride));
        Shape output = check(() -> block.outputShape(input));
        Map<String, float[]> parameters = new LinkedHashMap<>();
        block.parameters().forEach((name, shape) ->
                parameters.put(name, file.require(name, DType.F32, shape).toFloatArray()));
        return new VectorCase.RednetBottleneckCase(data(input, output), in, out, stride, parameters);
    }

    // ---- tensors ---------------------------------------------------------------------------

    private Shape inputShape() {
        TensorView input = file.tensor("input");
        if (input.dtype() != DType.F32 || input.shape().length != 4) {
            throw new SafeTensorsException(file.path() + ": tensor 'input' is " + input
                    + ", expected a 4-D F32 tensor");
        }
        return Shape.of(input.shape());
    }

    private CaseData data(Shape input, Shape output) {
        double[] magnitude = file.has("magnitude")
                ? file.require("magnitude", DType.F64, output.toArray()).toDoubleArray() : null;
        return new CaseData(name, metadata, input, file.tensor("input").toFloatArray(), output,
                file.require("expected", DType.F64, output.toArray()).toDoubleArray(), magnitude);
    }

    private float[] floats(String tensor, Shape shape) {
        return file.require(tensor, DType.F32, shape.toArray()).toFloatArray();
    }

    private float[] floats(String tensor, long length) {
        return file.require(tensor, DType.F32, length).toFloatArray();
    }

    // ---- metadata --------------------------------------------------------------------------

    /** Runs a params constructor or shape computation, naming the file in its error. */
    private <T> T check(Supplier<T> build) {
        try {
            return build.get();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file.path() + ": " + e.getMessage(), e);
        }
    }

    private String string(String key) {
        String value = metadata.get(key);
        if (value == null) {
            throw invalid("metadata has no '" + key + "'");
        }
        return value.trim();
    }

    /** An integer setting, or {@code fallback} when absent. */
    private long integer(String key, long fallback) {
        return metadata.containsKey(key) ? integer(key) : fallback;
    }

    /** A required integer setting. */
    private long integer(String key) {
        String value = string(key);
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw invalid("metadata '" + key + "'='" + value + "' is not an integer");
        }
    }

    private double real(String key, double fallback) {
        if (!metadata.containsKey(key)) {
            return fallback;
        }
        String value = string(key);
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw invalid("metadata '" + key + "'='" + value + "' is not a number");
        }
    }

    /** "a,b" → {a, b}; {@code fallback} when absent (required if null); a single "a" means "a,a". */
    private long[] pair(String key, long[] fallback) {
        if (fallback != null && !metadata.containsKey(key)) {
            return fallback;
        }
        long[] values = integers(key);
        if (values.length == 1) {
            return new long[] {values[0], values[0]};
        }
        if (values.length != 2) {
            throw invalid("metadata '" + key + "'='" + metadata.get(key) + "' is not one or two integers");
        }
        return values;
    }

    /** The {@code pads} metadata, "top,left,bottom,right", or null if absent. */
    private Padding.Explicit pads() {
        if (!metadata.containsKey("pads")) {
            return null;
        }
        long[] values = integers("pads");
        if (values.length != 4) {
            throw invalid("metadata 'pads'='" + metadata.get("pads") + "' is not four integers top,left,bottom,right");
        }
        return check(() -> Padding.explicit(values[0], values[1], values[2], values[3]));
    }

    /** The {@code padding} mode; EXPLICIT takes its values from {@code pads}. */
    private Padding padding(Padding.Explicit pads) {
        String mode = string("padding");
        return switch (mode) {
            case "VALID" -> Padding.VALID;
            case "SAME" -> Padding.SAME;
            case "FULL" -> Padding.FULL;
            case "EXPLICIT" -> {
                if (pads == null) {
                    throw invalid("metadata 'padding'='EXPLICIT' needs 'pads'");
                }
                yield pads;
            }
            default -> throw invalid("metadata 'padding'='" + mode + "' is not VALID, SAME, FULL or EXPLICIT");
        };
    }

    /** An activation setting; NONE when absent. */
    private Activation activation(String key) {
        if (!metadata.containsKey(key)) {
            return Activation.NONE;
        }
        String value = string(key);
        try {
            return Activation.valueOf(value);
        } catch (IllegalArgumentException e) {
            throw invalid("metadata '" + key + "'='" + value + "' is not one of " + Arrays.toString(Activation.values()));
        }
    }

    private long[] integers(String key) {
        String value = string(key);
        try {
            return Arrays.stream(value.split(",")).map(String::trim).mapToLong(Long::parseLong).toArray();
        } catch (NumberFormatException e) {
            throw invalid("metadata '" + key + "'='" + value + "' is not a list of integers");
        }
    }

    private IllegalArgumentException invalid(String message) {
        return new IllegalArgumentException(file.path() + ": " + message);
    }
}
