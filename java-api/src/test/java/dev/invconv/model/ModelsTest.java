package dev.invconv.model;

import dev.invconv.Activation;
import dev.invconv.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The zoo's architectures: parameter counts, official names, shapes and MACs. */
class ModelsTest {

    /**
     * Parameter counts as PyTorch's {@code sum(p.numel() for p in model.parameters())}; the
     * paper's table (RedNet) and torchvision's (ResNet). The RedNet values are those of the
     * official code, which round to the paper's 9.23M, 12.39M, 15.54M, 25.65M and 33.99M
     * (33.98M: within the table's ±0.01M).
     */
    @ParameterizedTest(name = "{0}: {1} parameters, paper {2}M")
    @CsvSource({
            "rednet26, 9233166, 9.23",
            "rednet38, 12386986, 12.39",
            "rednet50, 15540806, 15.54",
            "rednet101, 25652950, 25.65",
            "rednet152, 33984582, 33.99",
            "resnet50, 25557032, 25.56",
            "resnet101, 44549160, 44.55",
            "resnet152, 60192808, 60.19"})
    void parameterCountsMatchThePaperAndTorchvision(String name, long exact, double paperMillions) {
        Layer model = Models.architecture(name);
        assertEquals(exact, model.parameterCount(), name);
        assertEquals(paperMillions, model.parameterCount() / 1e6, 0.0100001, name + " vs the paper's table");
        // The tensors a checkpoint holds: parameters plus BatchNorm running statistics.
        long stored = model.parameters().values().stream().mapToLong(s -> Arrays.stream(s).reduce(1, Math::multiplyExact)).sum();
        assertTrue(stored > exact, name);
    }

    @Test
    void rednetUsesTheOfficialStateDictNames() {
        Map<String, long[]> p = Models.architecture("rednet26").parameters();
        assertArrayEquals(new long[] {32, 3, 3, 3}, p.get("stem.0.conv.weight"));
        assertArrayEquals(new long[] {32}, p.get("stem.0.bn.running_var"));
        assertArrayEquals(new long[] {8, 32, 1, 1}, p.get("stem.1.conv1.conv.weight"));
        assertArrayEquals(new long[] {18, 8, 1, 1}, p.get("stem.1.conv2.conv.weight"));
        assertArrayEquals(new long[] {32}, p.get("stem.2.weight"));
        assertArrayEquals(new long[] {64, 32, 3, 3}, p.get("stem.4.conv.weight"));
        assertArrayEquals(new long[] {64, 64, 1, 1}, p.get("layer1.0.conv1.weight"));
        assertArrayEquals(new long[] {16, 64, 1, 1}, p.get("layer1.0.conv2.conv1.conv.weight"));
        assertArrayEquals(new long[] {196, 16, 1, 1}, p.get("layer1.0.conv2.conv2.conv.weight"));
        assertArrayEquals(new long[] {196}, p.get("layer1.0.conv2.conv2.conv.bias"));
        assertArrayEquals(new long[] {64}, p.get("layer1.0.bn2.running_mean"));
        assertArrayEquals(new long[] {256, 64, 1, 1}, p.get("layer1.0.conv3.weight"));
        assertArrayEquals(new long[] {256, 64, 1, 1}, p.get("layer1.0.downsample.0.weight"));
        assertArrayEquals(new long[] {256}, p.get("layer1.0.downsample.1.bias"));
        assertArrayEquals(new long[] {1024, 512, 1, 1}, p.get("layer3.0.downsample.0.weight"));
        assertFalse(p.containsKey("layer1.1.downsample.0.weight"), "only the first block of a stage projects");
        assertArrayEquals(new long[] {1000, 2048}, p.get("head.fc.weight"));
        assertArrayEquals(new long[] {1000}, p.get("head.fc.bias"));
        // As the official state_dict without its num_batches_tracked counters.
        assertEquals(211, p.size());
        assertEquals("stem.0.conv.weight", p.keySet().iterator().next(), "state_dict order");
    }

    @Test
    void rednetStrideSitsOnTheInvolutionAndTheDownsample() {
        Layer.Sequential model = assertInstanceOf(Layer.Sequential.class, Models.architecture("rednet50"));
        Layer.Sequential layer2 = assertInstanceOf(Layer.Sequential.class, model.layers().get(3));
        Layer.Residual first = assertInstanceOf(Layer.Residual.class, layer2.layers().getFirst());
        Layer.Conv conv1 = assertInstanceOf(Layer.Conv.class, first.body().get(0));
        Layer.Involution involution = assertInstanceOf(Layer.Involution.class, first.body().get(1));
        Layer.Conv downsample = assertInstanceOf(Layer.Conv.class, first.shortcut());
        assertEquals(1, conv1.params().strideH());
        assertEquals(2, involution.params().stride());
        assertEquals(7, involution.params().kernelSize());
        assertEquals(16, involution.params().groupChannels());
        assertEquals(4, involution.params().reductionRatio());
        assertEquals(Activation.RELU, involution.activation());
        assertEquals("layer2.0.bn2", involution.batchNorm());
        assertEquals(2, downsample.params().strideH());
        assertEquals(1, downsample.params().kernelH());
        Layer.Residual second = assertInstanceOf(Layer.Residual.class, layer2.layers().get(1));
        assertNull(second.shortcut(), "identity shortcut");
        assertEquals(Activation.RELU, second.activation());
    }

    @Test
    void resnetUsesTorchvisionNamesWithTheStrideOnTheThreeByThree() {
        Layer model = Models.architecture("resnet50");
        Map<String, long[]> p = model.parameters();
        assertArrayEquals(new long[] {64, 3, 7, 7}, p.get("conv1.weight"));
        assertArrayEquals(new long[] {64}, p.get("bn1.running_mean"));
        assertArrayEquals(new long[] {128, 128, 3, 3}, p.get("layer2.0.conv2.weight"));
        assertArrayEquals(new long[] {512, 256, 1, 1}, p.get("layer2.0.downsample.0.weight"));
        assertArrayEquals(new long[] {1000, 2048}, p.get("fc.weight"));
        assertEquals(267, p.size(), "torchvision's 320 state_dict entries less 53 num_batches_tracked");
        Layer.Sequential seq = (Layer.Sequential) model;
        Layer.Residual block = (Layer.Residual) ((Layer.Sequential) seq.layers().get(3)).layers().getFirst();
        assertEquals(1, ((Layer.Conv) block.body().get(0)).params().strideH());
        assertEquals(2, ((Layer.Conv) block.body().get(1)).params().strideH(), "v1.5: stride on conv2");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"rednet26, 1.685", "rednet50, 2.649", "rednet101, 4.659", "resnet50, 4.089", "resnet101, 7.801"})
    void macsAt224(String name, double gmacs) {
        Layer model = Models.architecture(name);
        assertEquals(gmacs, model.macs(Models.imagenetInput(1)) / 1e9, 0.0006, name);
        assertEquals(2 * model.macs(Models.imagenetInput(1)), model.macs(Models.imagenetInput(2)), "linear in the batch");
    }

    @Test
    void outputShapes() {
        for (String name : Models.NAMES) {
            Layer model = Models.architecture(name);
            assertEquals(Shape.nchw(2, 1000, 1, 1), model.outputShape(Models.imagenetInput(2)), name);
            assertEquals(Shape.nchw(1, 1000, 1, 1), model.outputShape(Shape.nchw(1, 3, 64, 64)), name);
        }
        assertEquals(Shape.nchw(1, 10, 1, 1), Models.architecture("rednet26", 10).outputShape(Shape.nchw(1, 3, 64, 64)));
    }

    @Test
    void badInputsAndNamesAreReported() {
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> Models.architecture("rednet27"));
        assertEquals("unknown model 'rednet27'; known models: rednet26, rednet38, rednet50, rednet101, rednet152, "
                + "resnet50, resnet101, resnet152", unknown.getMessage());
        assertEquals(9233166, Models.architecture("RedNet-26").parameterCount(), "case and dash tolerated");
        IllegalArgumentException channels = assertThrows(IllegalArgumentException.class,
                () -> Models.architecture("rednet26").outputShape(Shape.nchw(1, 1, 64, 64)));
        assertTrue(channels.getMessage().startsWith("stem.0: conv2d: input [1, 1, 64, 64] has 1 channels"),
                channels.getMessage());
        // The involution of layer2.0 needs an even input: 66 → 33 (stem) → 17 (maxpool) is odd.
        IllegalArgumentException odd = assertThrows(IllegalArgumentException.class,
                () -> Models.architecture("rednet26").outputShape(Shape.nchw(1, 3, 66, 66)));
        assertTrue(odd.getMessage().startsWith("layer2.0.conv2: involution2d: in_h=17 is not a multiple of stride=2"),
                odd.getMessage());
    }

    @Test
    void residualBlocksCheckTheirShape() {
        IllegalArgumentException noConv = assertThrows(IllegalArgumentException.class, () -> new Layer.Residual("b",
                java.util.List.of(new Layer.GlobalAveragePool("p")), null, Activation.RELU));
        assertEquals("b: a residual body must end with a convolution (the add is fused into it)", noConv.getMessage());
        IllegalArgumentException narrow = assertThrows(IllegalArgumentException.class,
                () -> Models.rednetBottleneck("layer9.0", 16, 32, 1));
        assertEquals("layer9.0: out_channels=32 must be a multiple of 64 (the expansion 4 times the involution's 16 "
                + "channels per group)", narrow.getMessage());
        IllegalArgumentException projection = assertThrows(IllegalArgumentException.class,
                () -> Models.rednetBottleneck("x", 64, 128, 1).outputShape(Shape.nchw(1, 32, 8, 8)));
        assertTrue(projection.getMessage().contains("x.conv1: conv2d: input [1, 32, 8, 8] has 32 channels"),
                projection.getMessage());
    }
}
