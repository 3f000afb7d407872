package dev.invconv.model;

import dev.invconv.Activation;
import dev.invconv.Conv2d;
import dev.invconv.Conv2dParams;
import dev.invconv.Involution2dParams;
import dev.invconv.Padding;
import dev.invconv.Shape;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The model zoo: RedNet-26/38/50/101/152 as the official d-li14/involution {@code cls/}
 * backbone (mmcls), and ResNet-50/101/152 in torchvision's layout, with their official
 * {@code state_dict} names.
 *
 * <p>RedNet (official {@code RedNet} + {@code GlobalAveragePooling} neck + {@code LinearClsHead}):
 * <pre>
 * stem.0  conv 3×3/2 3→32 + BN + ReLU       (ConvModule: stem.0.conv.weight, stem.0.bn.*)
 * stem.1  involution(32, K=3, stride 1)      (stem.1.conv1.conv.weight, stem.1.conv1.bn.*, stem.1.conv2.conv.*)
 * stem.2  BN + ReLU                           (stem.2.*; folded into the involution)
 * stem.4  conv 3×3 32→64 + BN + ReLU        (stem.4.conv.weight, stem.4.bn.*)
 * maxpool 3×3/2, padding 1
 * layer1..4  bottlenecks (expansion 4, widths 64/128/256/512 → 256/512/1024/2048,
 *            stride 1/2/2/2 on the first block of each stage):
 *            conv1 1×1 + bn1 + ReLU, conv2 = involution(mid, K=7, stride) + bn2 + ReLU,
 *            conv3 1×1 + bn3, + shortcut, ReLU; the first block of each stage has the
 *            shortcut downsample.0 (1×1 conv, stride of the block, no bias) + downsample.1 (BN)
 * global average pool, head.fc Linear(2048, classes)
 * </pre>
 * ResNet (torchvision, v1.5): conv1 7×7/2 + bn1 + ReLU, maxpool 3×3/2 padding 1, bottlenecks
 * with the stride on the 3×3 conv2, downsample.0/1 shortcut, avgpool, fc.
 */
public final class Models {

    /** The model names {@link #architecture} knows. */
    public static final List<String> NAMES = List.of("rednet26", "rednet38", "rednet50", "rednet101", "rednet152",
            "resnet50", "resnet101", "resnet152");

    /** ImageNet's class count, the default head. */
    public static final long IMAGENET_CLASSES = 1000;

    private static final Map<Integer, int[]> REDNET_DEPTHS = Map.of(
            26, new int[] {1, 2, 4, 1},
            38, new int[] {2, 3, 5, 2},
            50, new int[] {3, 4, 6, 3},
            101, new int[] {3, 4, 23, 3},
            152, new int[] {3, 8, 36, 3});

    private static final Map<Integer, int[]> RESNET_DEPTHS = Map.of(
            50, new int[] {3, 4, 6, 3},
            101, new int[] {3, 4, 23, 3},
            152, new int[] {3, 8, 36, 3});

    private static final int EXPANSION = 4;
    private static final long[] STAGE_WIDTHS = {64, 128, 256, 512};
    private static final long[] STAGE_STRIDES = {1, 2, 2, 2};

    private Models() {}

    /** A model by name ({@link #NAMES}) with an ImageNet head of 1000 classes. */
    public static Layer architecture(String name) {
        return architecture(name, IMAGENET_CLASSES);
    }

    /**
     * A model by name with a head of {@code classes} outputs.
     *
     * @throws IllegalArgumentException if the name is not one of {@link #NAMES}
     */
    public static Layer architecture(String name, long classes) {
        String key = name.toLowerCase(Locale.ROOT).replace("-", "");
        try {
            if (key.startsWith("rednet")) {
                return rednet(Integer.parseInt(key.substring("rednet".length())), classes);
            }
            if (key.startsWith("resnet")) {
                return resnet(Integer.parseInt(key.substring("resnet".length())), classes);
            }
        } catch (IllegalArgumentException e) {
            // fall through to the uniform message
        }
        throw new IllegalArgumentException("unknown model '" + name + "'; known models: " + String.join(", ", NAMES));
    }

    /** The input shape the models are measured at: {@code [batch, 3, 224, 224]}. */
    public static Shape imagenetInput(long batch) {
        return Shape.nchw(batch, 3, 224, 224);
    }

    /**
     * Builds a model from a checkpoint's weights.
     *
     * @throws WeightsException if the weights do not fit, listing every problem
     */
    public static Network create(String name, ModelWeights weights) {
        return create(name, weights, Conv2d.Algorithm.DIRECT);
    }

    /** As {@link #create(String, ModelWeights)}, the convolutions created with {@code algorithm}. */
    public static Network create(String name, ModelWeights weights, Conv2d.Algorithm algorithm) {
        return Network.build(architecture(name), weights, algorithm);
    }

    /** Builds a model with seeded random weights ({@link ModelWeights#random}); for tests and benchmarks. */
    public static Network create(String name, long seed) {
        return create(name, seed, Conv2d.Algorithm.DIRECT);
    }

    /** As {@link #create(String, long)}, the convolutions created with {@code algorithm}. */
    public static Network create(String name, long seed, Conv2d.Algorithm algorithm) {
        Layer layer = architecture(name);
        try (ModelWeights weights = ModelWeights.random(layer, seed)) {
            return Network.build(layer, weights, algorithm);
        }
    }

    /**
     * RedNet of the given depth (26, 38, 50, 101 or 152), exactly the official {@code cls/} model.
     *
     * @throws IllegalArgumentException for another depth
     */
    public static Layer rednet(int depth, long classes) {
        int[] blocks = REDNET_DEPTHS.get(depth);
        if (blocks == null) {
            throw new IllegalArgumentException("RedNet depth " + depth + " is not one of 26, 38, 50, 101, 152");
        }
        List<Layer> layers = new ArrayList<>();
        layers.add(new Layer.Sequential("stem", List.of(
                convModule("stem.0", 3, 32, 3, 2, 1),
                new Layer.Involution("stem.1", Involution2dParams.of(32, 3, 1), "stem.2", Layer.BN_EPSILON,
                        Activation.RELU),
                convModule("stem.4", 32, 64, 3, 1, 1))));
        layers.add(new Layer.MaxPool("maxpool", 3, 2, Padding.explicit(1, 1, 1, 1)));
        long in = 64;
        for (int stage = 0; stage < 4; stage++) {
            long out = STAGE_WIDTHS[stage] * EXPANSION;
            List<Layer> stageBlocks = new ArrayList<>();
            for (int b = 0; b < blocks[stage]; b++) {
                String name = "layer" + (stage + 1) + "." + b;
                stageBlocks.add(rednetBottleneck(name, b == 0 ? in : out, out, b == 0 ? STAGE_STRIDES[stage] : 1));
            }
            layers.add(new Layer.Sequential("layer" + (stage + 1), stageBlocks));
            in = out;
        }
        layers.add(new Layer.GlobalAveragePool("neck"));
        layers.add(Layer.Linear.of("head.fc", in, classes));
        return new Layer.Sequential("rednet" + depth, layers);
    }

    /**
     * One RedNet bottleneck (the official {@code Bottleneck} of {@code rednet.py}, style pytorch):
     * {@code relu(bn3(conv3(relu(bn2(involution(relu(bn1(conv1(x))))))) + shortcut(x))} with
     * {@code mid = out / 4}, involution(mid, K=7, stride), and the shortcut
     * {@code downsample = conv 1×1/stride + BN} when {@code stride != 1 || in != out}, else the identity.
     *
     * @param prefix the block's module path, e.g. {@code layer2.0} (empty for bare names such as {@code conv1.weight})
     * @throws IllegalArgumentException if {@code out} is not a multiple of 64
     */
    public static Layer.Residual rednetBottleneck(String prefix, long in, long out, long stride) {
        long mid = out / EXPANSION;
        if (out % EXPANSION != 0 || mid % 16 != 0) {
            throw new IllegalArgumentException((prefix.isEmpty() ? "bottleneck" : prefix) + ": out_channels=" + out
                    + " must be a multiple of 64 (the expansion 4 times the involution's 16 channels per group)");
        }
        List<Layer> body = List.of(
                conv(Layer.join(prefix, "conv1"), in, mid, 1, 1, 0, Activation.RELU).withBatchNorm(Layer.join(prefix, "bn1")),
                new Layer.Involution(Layer.join(prefix, "conv2"), Involution2dParams.of(mid, 7, stride),
                        Layer.join(prefix, "bn2"), Layer.BN_EPSILON, Activation.RELU),
                conv(Layer.join(prefix, "conv3"), mid, out, 1, 1, 0, Activation.NONE).withBatchNorm(Layer.join(prefix, "bn3")));
        return new Layer.Residual(prefix.isEmpty() ? "bottleneck" : prefix, body, downsample(prefix, in, out, stride),
                Activation.RELU);
    }

    /**
     * ResNet of the given depth (50, 101 or 152) in torchvision's layout (v1.5: stride on the
     * 3×3 convolution).
     *
     * @throws IllegalArgumentException for another depth
     */
    public static Layer resnet(int depth, long classes) {
        int[] blocks = RESNET_DEPTHS.get(depth);
        if (blocks == null) {
            throw new IllegalArgumentException("ResNet depth " + depth + " is not one of 50, 101, 152");
        }
        List<Layer> layers = new ArrayList<>();
        layers.add(conv("conv1", 3, 64, 7, 2, 3, Activation.RELU).withBatchNorm("bn1"));
        layers.add(new Layer.MaxPool("maxpool", 3, 2, Padding.explicit(1, 1, 1, 1)));
        long in = 64;
        for (int stage = 0; stage < 4; stage++) {
            long width = STAGE_WIDTHS[stage];
            long out = width * EXPANSION;
            List<Layer> stageBlocks = new ArrayList<>();
            for (int b = 0; b < blocks[stage]; b++) {
                String name = "layer" + (stage + 1) + "." + b;
                long blockIn = b == 0 ? in : out;
                long stride = b == 0 ? STAGE_STRIDES[stage] : 1;
                List<Layer> body = List.of(
                        conv(name + ".conv1", blockIn, width, 1, 1, 0, Activation.RELU).withBatchNorm(name + ".bn1"),
                        conv(name + ".conv2", width, width, 3, stride, 1, Activation.RELU).withBatchNorm(name + ".bn2"),
                        conv(name + ".conv3", width, out, 1, 1, 0, Activation.NONE).withBatchNorm(name + ".bn3"));
                stageBlocks.add(new Layer.Residual(name, body, downsample(name, blockIn, out, stride), Activation.RELU));
            }
            layers.add(new Layer.Sequential("layer" + (stage + 1), stageBlocks));
            in = out;
        }
        layers.add(new Layer.GlobalAveragePool("avgpool"));
        layers.add(Layer.Linear.of("fc", in, classes));
        return new Layer.Sequential("resnet" + depth, layers);
    }

    /** {@code downsample.0} (1×1 conv with the block's stride) + {@code downsample.1} (BN), or null if not needed. */
    private static Layer downsample(String prefix, long in, long out, long stride) {
        if (stride == 1 && in == out) {
            return null;
        }
        String name = Layer.join(prefix, "downsample");
        return conv(name, in, out, 1, stride, 0, Activation.NONE)
                .withWeight(Layer.join(name, "0.weight")).withBatchNorm(Layer.join(name, "1"));
    }

    /** mmcv's ConvModule with BN and ReLU: {@code name.conv.weight} (no bias), {@code name.bn.*}. */
    private static Layer.Conv convModule(String name, long in, long out, long kernel, long stride, long padding) {
        return conv(name, in, out, kernel, stride, padding, Activation.RELU)
                .withWeight(name + ".conv.weight").withBatchNorm(name + ".bn");
    }

    /** A square convolution without bias, PyTorch's symmetric {@code padding}. */
    private static Layer.Conv conv(String name, long in, long out, long kernel, long stride, long padding,
                                   Activation activation) {
        Padding pads = padding == 0 ? Padding.VALID : Padding.explicit(padding, padding, padding, padding);
        return Layer.Conv.of(name, new Conv2dParams(in, out, kernel, kernel, stride, stride, 1, 1, 1, pads, activation));
    }
}
