package dev.invconv.model;

import dev.invconv.Activation;
import dev.invconv.Context;
import dev.invconv.Conv2dParams;
import dev.invconv.Padding;
import dev.invconv.Shape;
import dev.invconv.Tensor;
import dev.invconv.safetensors.DType;
import dev.invconv.safetensors.SafeTensorsException;
import dev.invconv.safetensors.SafeTensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loading, checking, exporting and generating weights. */
class ModelWeightsTest {

    @TempDir
    Path temp;

    /** A small model: conv + BN + ReLU, global pool, linear. */
    private static final Layer TINY = new Layer.Sequential("tiny", List.of(
            Layer.Conv.of("features.0", new Conv2dParams(3, 8, 3, 3, 1, 1, 1, 1, 1, Padding.SAME, Activation.RELU))
                    .withBatchNorm("features.1"),
            new Layer.GlobalAveragePool("pool"),
            Layer.Linear.of("head.fc", 8, 4)));

    private Path export(Layer layer, long seed) throws IOException {
        Path path = temp.resolve(layer.name() + "-" + seed + ".safetensors");
        try (ModelWeights weights = ModelWeights.random(layer, seed)) {
            weights.save(path);
        }
        return path;
    }

    @Test
    void exportedWeightsLoadMemoryMappedAndGiveTheSameOutput() throws IOException {
        Layer small = new Layer.Sequential("small", List.of(
                Layer.Conv.of("stem", new Conv2dParams(3, 32, 3, 3, 2, 2, 1, 1, 1, Padding.SAME, Activation.RELU))
                        .withBatchNorm("stem_bn"),
                Models.rednetBottleneck("layer1.0", 32, 64, 2),
                Models.rednetBottleneck("layer1.1", 64, 64, 1),
                new Layer.GlobalAveragePool("pool"),
                Layer.Linear.of("head.fc", 64, 10)));
        Path path = export(small, 5);
        try (Arena arena = Arena.ofConfined();
             Context context = Context.create(2);
             ModelWeights random = ModelWeights.random(small, 5);
             ModelWeights loaded = ModelWeights.open(path);
             Network a = Network.build(small, random);
             Network b = Network.build(small, loaded)) {
            assertEquals(small.parameters().keySet().stream().toList(), List.copyOf(loaded.names()),
                    "every tensor, in state_dict order");
            assertTrue(loaded.segment("layer1.0.conv1.weight").isMapped(), "zero-copy slice of the mapping");
            Tensor input = Tensor.allocate(arena, Shape.nchw(2, 3, 16, 16));
            input.segment().fill((byte) 0x3c); // 0x3c3c3c3c ≈ 0.0115
            assertArrayEquals(a.forward(input, arena, context).toArray(), b.forward(input, arena, context).toArray());
        }
    }

    @Test
    void randomWeightsAreSeeded() {
        try (ModelWeights a = ModelWeights.random(TINY, 1);
             ModelWeights b = ModelWeights.random(TINY, 1);
             ModelWeights c = ModelWeights.random(TINY, 2)) {
            assertArrayEquals(a.floats("features.0.weight"), b.floats("features.0.weight"));
            assertFalse(Arrays.equals(a.floats("features.0.weight"), c.floats("features.0.weight")));
            assertEquals("random weights (seed 1)", a.source());
            a.check(TINY);
            // He-like: variance about 2 / fan_in = 2 / 27.
            double sum = 0;
            for (float w : a.floats("features.0.weight")) {
                sum += w * w;
            }
            assertEquals(2.0 / 27, sum / (8 * 27), 0.03);
            for (float v : a.floats("features.1.running_var")) {
                assertTrue(v > 0.5 && v < 1.5, "sane running variance " + v);
            }
        }
    }

    @Test
    void everyProblemIsReportedAtOnceByName() throws IOException {
        Path path = temp.resolve("broken.safetensors");
        SafeTensorsWriter writer = new SafeTensorsWriter();
        try (ModelWeights good = ModelWeights.random(TINY, 0)) {
            for (String name : good.names()) {
                float[] values = good.floats(name);
                long[] shape = good.entry(name).shape();
                switch (name) {
                    case "features.1.running_var" -> { } // missing
                    case "head.fc.bias" -> { }           // missing
                    case "features.0.weight" -> writer.add(name, values, 8, 3, 9, 1);     // mis-shaped
                    case "head.fc.weight" -> writer.add(name, new double[values.length], shape); // F64
                    default -> writer.add(name, values, shape);
                }
            }
        }
        writer.add("fc.weight", new float[32], 4, 8);                 // unexpected
        writer.add("features.1.num_batches_tracked", new float[1], 1); // ignored, as PyTorch's counter
        writer.write(path);
        try (ModelWeights weights = ModelWeights.open(path)) {
            WeightsException e = assertThrows(WeightsException.class, () -> Network.build(TINY, weights));
            assertEquals(List.of("features.1.running_var", "head.fc.bias"), e.missing());
            assertEquals(List.of("fc.weight"), e.unexpected());
            assertEquals(List.of("features.0.weight"), e.wrongShape());
            assertEquals(List.of("head.fc.weight"), e.wrongDtype());
            assertEquals(path + " does not fit tiny: 2 missing, 1 unexpected, 1 with the wrong shape, 1 with the wrong dtype:\n"
                    + "  missing: 'features.1.running_var' [8], 'head.fc.bias' [4]\n"
                    + "  unexpected: 'fc.weight'\n"
                    + "  wrong shape: 'features.0.weight' is [8, 3, 9, 1], expected [8, 3, 3, 3]\n"
                    + "  wrong dtype: 'head.fc.weight' is F64, expected F32", e.getMessage());
        }
    }

    @Test
    void weightsOfAnotherModelGetAHint() throws IOException {
        Path tiny = export(TINY, 0);
        try (ModelWeights weights = ModelWeights.open(tiny)) {
            WeightsException e = assertThrows(WeightsException.class, () -> Models.create("rednet26", weights));
            // Only head.fc.* share their names, and their shapes differ.
            assertEquals(209, e.missing().size());
            assertEquals(5, e.unexpected().size());
            assertEquals(List.of("head.fc.weight", "head.fc.bias"), e.wrongShape());
            assertTrue(e.getMessage().startsWith(tiny + " does not fit rednet26: 209 missing, 5 unexpected, "
                    + "2 with the wrong shape:"), e.getMessage());
            assertTrue(e.getMessage().contains("'head.fc.bias' is [4], expected [1000]"), e.getMessage());
            assertTrue(e.getMessage().endsWith("(most tensors are missing: are these the weights of another model?)"),
                    e.getMessage());
        }
    }

    @Test
    void theBackbonePrefixOfMmclsIsAccepted() throws IOException {
        Path path = temp.resolve("mmcls.safetensors");
        SafeTensorsWriter writer = new SafeTensorsWriter().metadata("format", "pt");
        try (ModelWeights good = ModelWeights.random(TINY, 3)) {
            for (String name : good.names()) {
                String stored = name.startsWith("head.") ? name : ModelWeights.BACKBONE_PREFIX + name;
                writer.add(stored, good.floats(name), good.entry(name).shape());
            }
        }
        writer.write(path);
        try (ModelWeights weights = ModelWeights.open(path)) {
            weights.check(TINY);
            assertTrue(weights.has("features.0.weight"));
            assertTrue(weights.has("head.fc.bias"));
        }
    }

    @Test
    void aTruncatedFileIsAClearError() throws IOException {
        Path full = export(TINY, 0);
        byte[] bytes = Files.readAllBytes(full);
        Path truncated = temp.resolve("truncated.safetensors");
        Files.write(truncated, Arrays.copyOf(bytes, bytes.length - 100));
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> ModelWeights.open(truncated));
        assertTrue(e.getMessage().startsWith(truncated.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("head.fc"), "names the tensor past the end: " + e.getMessage());
        Path header = temp.resolve("header.safetensors");
        Files.write(header, Arrays.copyOf(bytes, 20));
        SafeTensorsException h = assertThrows(SafeTensorsException.class, () -> ModelWeights.open(header));
        assertTrue(h.getMessage().contains("header length"), h.getMessage());
    }

    @Test
    void buildersAndAccessors() {
        try (ModelWeights weights = ModelWeights.builder("arrays").add("a", new float[] {1, 2, 3, 4}, 2, 2).build()) {
            assertEquals(DType.F32, weights.entry("a").dtype());
            assertArrayEquals(new float[] {1, 2, 3, 4}, weights.floats("a"));
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> weights.entry("b"));
            assertEquals("arrays: no tensor 'b'", missing.getMessage());
        }
        IllegalArgumentException length = assertThrows(IllegalArgumentException.class,
                () -> ModelWeights.builder("x").add("a", new float[3], 2, 2));
        assertEquals("tensor 'a': 3 values for shape [2, 2]", length.getMessage());
        // Arrays of the wrong length for a layer become 1-D tensors, reported as mis-shaped.
        try (ModelWeights weights = ModelWeights.of(TINY, Map.of("head.fc.bias", new float[5]))) {
            WeightsException e = assertThrows(WeightsException.class, () -> weights.check(TINY));
            assertEquals(List.of("head.fc.bias"), e.wrongShape());
            assertNotEquals(0, e.missing().size());
        }
    }
}
