package dev.invconv.conformance;

import dev.invconv.Activation;
import dev.invconv.Conv2dParams;
import dev.invconv.Involution2dParams;
import dev.invconv.Padding;
import dev.invconv.Shape;
import dev.invconv.Vectors;
import dev.invconv.safetensors.SafeTensorsException;
import dev.invconv.safetensors.SafeTensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VectorCaseTest {

    @TempDir
    Path temp;

    @Test
    void loadsAConv2dVector() throws IOException {
        VectorCase vector = VectorCase.load(Vectors.file("conv_5x3_stride2_dil_groups"));
        VectorCase.Conv2dCase conv = assertInstanceOf(VectorCase.Conv2dCase.class, vector);
        assertEquals("conv2d", conv.op());
        assertEquals("conv_5x3_stride2_dil_groups", conv.name());
        assertEquals(new Conv2dParams(12, 6, 5, 3, 2, 1, 1, 2, 3, Padding.explicit(2, 0, 1, 3),
                Activation.NONE), conv.params());
        assertEquals(Padding.explicit(2, 0, 1, 3), conv.pads());
        assertEquals(Shape.nchw(2, 12, 17, 14), conv.data().inputShape());
        assertEquals(Shape.nchw(2, 6, 8, 13), conv.data().outputShape());
        assertEquals(6 * 4 * 5 * 3, conv.weight().length);
        assertEquals(6, conv.bias().length);
        assertEquals(2 * 6 * 8 * 13, conv.data().magnitude().length);
    }

    @Test
    void loadsModuleVectorsWithoutMagnitudes() throws IOException {
        VectorCase.Involution2dCase module = assertInstanceOf(VectorCase.Involution2dCase.class,
                VectorCase.load(Vectors.file("involution_module_c32_k3_s2")));
        assertEquals(new Involution2dParams(32, 3, 2, 1, 16, 4, 1e-5), module.params());
        assertNull(module.data().magnitude());
        assertEquals(18, module.spanBias().length);
    }

    @Test
    void loadsTheRednetBottleneckVector() throws IOException {
        VectorCase.RednetBottleneckCase block = assertInstanceOf(VectorCase.RednetBottleneckCase.class,
                VectorCase.load(Vectors.file("rednet_bottleneck_64_128_s2")));
        assertEquals("rednet_bottleneck", block.op());
        assertEquals(64, block.inChannels());
        assertEquals(128, block.outChannels());
        assertEquals(2, block.stride());
        assertEquals(Shape.nchw(1, 64, 16, 16), block.data().inputShape());
        assertEquals(Shape.nchw(1, 128, 8, 8), block.data().outputShape());
        assertNull(block.data().magnitude());
        assertEquals(26, block.parameters().size());
        assertEquals(98 * 8, block.parameters().get("conv2.conv2.conv.weight").length);
        assertEquals(128 * 64, block.parameters().get("downsample.0.weight").length);
    }

    @Test
    void unsupportedOpsAreNamed() throws IOException {
        Path path = temp.resolve("pooling.safetensors");
        metadata("op", "max_pool2d").add("input", new float[16], 1, 1, 4, 4).write(path);
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> VectorCase.load(path));
        assertEquals(path + ": op 'max_pool2d' is not supported; known ops: "
                + "[conv2d, involution2d, involution_aggregate, rednet_bottleneck, separable_conv2d]", e.getMessage());
    }

    private Path conv(String name, SafeTensorsWriter writer) throws IOException {
        Path path = temp.resolve(name + ".safetensors");
        writer.add("input", new float[8 * 4 * 4], 1, 8, 4, 4)
                .add("weight", new float[4 * 8 * 3 * 3], 4, 8, 3, 3)
                .add("expected", new double[4 * 2 * 2], 1, 4, 2, 2)
                .write(path);
        return path;
    }

    private static SafeTensorsWriter metadata(String... keyValues) {
        SafeTensorsWriter writer = new SafeTensorsWriter();
        for (int i = 0; i < keyValues.length; i += 2) {
            writer.metadata(keyValues[i], keyValues[i + 1]);
        }
        return writer;
    }

    @Test
    void defaultsApplyToOptionalSettings() throws IOException {
        Path path = conv("minimal", metadata("op", "conv2d", "stride", "1", "padding", "VALID"));
        VectorCase.Conv2dCase conv = assertInstanceOf(VectorCase.Conv2dCase.class, VectorCase.load(path));
        assertEquals(new Conv2dParams(8, 4, 3, 3, 1, 1, 1, 1, 1, Padding.VALID, Activation.NONE), conv.params());
        assertNull(conv.bias());
        assertNull(conv.pads());
        assertNull(conv.data().magnitude());
    }

    @Test
    void badMetadataIsReportedWithFileAndKey() throws IOException {
        Path missing = conv("missing", metadata("op", "conv2d", "padding", "VALID"));
        assertInvalid(missing, missing + ": metadata has no 'stride'");
        Path notInteger = conv("groups", metadata("op", "conv2d", "stride", "1,1", "padding", "VALID", "groups", "two"));
        assertInvalid(notInteger, notInteger + ": metadata 'groups'='two' is not an integer");
        Path mode = conv("mode", metadata("op", "conv2d", "stride", "1,1", "padding", "HALF"));
        assertInvalid(mode, mode + ": metadata 'padding'='HALF' is not VALID, SAME, FULL or EXPLICIT");
        Path explicit = conv("explicit", metadata("op", "conv2d", "stride", "1,1", "padding", "EXPLICIT"));
        assertInvalid(explicit, explicit + ": metadata 'padding'='EXPLICIT' needs 'pads'");
        Path activation = conv("activation", metadata("op", "conv2d", "stride", "1,1", "padding", "VALID", "activation", "GELU"));
        assertInvalid(activation, activation + ": metadata 'activation'='GELU' is not one of [NONE, RELU, RELU6]");
        Path groups = conv("groups3", metadata("op", "conv2d", "stride", "1,1", "padding", "VALID", "groups", "3"));
        assertInvalid(groups, groups + ": conv2d: groups=3 does not divide in_channels=8");
        Path noOp = conv("noop", metadata("stride", "1"));
        assertInvalid(noOp, noOp + ": metadata has no 'op'");
    }

    @Test
    void inconsistentTensorsAreReportedByName() throws IOException {
        // SAME keeps 4x4, but the file's expected output is 2x2.
        Path path = conv("same", metadata("op", "conv2d", "stride", "1,1", "padding", "SAME"));
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> VectorCase.load(path));
        assertEquals(path + ": tensor 'expected': shape [1, 4, 2, 2] expected [1, 4, 4, 4]", e.getMessage());

        Path noWeight = temp.resolve("noweight.safetensors");
        metadata("op", "conv2d", "stride", "1", "padding", "VALID").add("input", new float[16], 1, 1, 4, 4).write(noWeight);
        SafeTensorsException missing = assertThrows(SafeTensorsException.class, () -> VectorCase.load(noWeight));
        assertTrue(missing.getMessage().startsWith(noWeight + ": tensor 'weight': not in the file"), missing.getMessage());
    }

    private static void assertInvalid(Path path, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VectorCase.load(path));
        assertEquals(message, e.getMessage());
    }
}
