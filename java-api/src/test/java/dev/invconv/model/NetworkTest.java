package dev.invconv.model;

import dev.invconv.Activation;
import dev.invconv.Context;
import dev.invconv.Conv2d;
import dev.invconv.Conv2dParams;
import dev.invconv.Layout;
import dev.invconv.Padding;
import dev.invconv.RandomTensors;
import dev.invconv.ReferenceAssertions;
import dev.invconv.Shape;
import dev.invconv.Tensor;
import dev.invconv.reference.Result;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whole networks through the native operators against {@link ReferenceNetwork} (nothing
 * folded or fused, float64): SPEC §8's module tolerance {@code 1e-4 · max|ref| + 1e-6} on the
 * logits.
 */
class NetworkTest {

    private static Context context;
    /** Shared by the tests that only run it: building a network packs all its weights. */
    private static ModelWeights rednet26Weights;
    private static Network rednet26;

    @BeforeAll
    static void start() {
        context = Context.create(2);
        rednet26Weights = ModelWeights.random(Models.architecture("rednet26"), 26);
        rednet26 = Network.build(Models.architecture("rednet26"), rednet26Weights);
    }

    @AfterAll
    static void stop() {
        rednet26.close();
        rednet26Weights.close();
        context.close();
    }

    /** Runs {@code layer} natively and in the reference on a seeded input; returns the native output. */
    private static float[] assertMatchesReference(String problem, Layer layer, long seed, Shape inputShape,
                                                  Layout layout) {
        try (ModelWeights weights = ModelWeights.random(layer, seed);
             Network network = Network.build(layer, weights)) {
            return assertMatchesReference(problem, network, weights, seed, inputShape, layout);
        }
    }

    private static float[] assertMatchesReference(String problem, Network network, ModelWeights weights, long seed,
                                                  Shape inputShape, Layout layout) {
        try (Arena arena = Arena.ofConfined()) {
            float[] values = RandomTensors.uniform(new Random(seed), inputShape.elementCount(), 2f);
            Tensor input = RandomTensors.tensor(arena, inputShape, layout, values);
            Tensor output = network.forward(input, arena, context);
            float[] actual = RandomTensors.toNchw(output);
            double[] expected = ReferenceNetwork.forward(network.layer(), weights, input);
            Shape outShape = network.outputShape(inputShape);
            ReferenceAssertions.assertWithinModuleTolerance(problem + " " + layout,
                    new Result(outShape, expected, new double[expected.length]), actual);
            double max = 0;
            for (double v : expected) {
                max = Math.max(max, Math.abs(v));
            }
            assertTrue(max > 1e-3 && max < 1e4, problem + ": logits of a sane scale, max |ref| = " + max);
            return actual;
        }
    }

    @Test
    void rednet26At64MatchesTheReference() {
        assertMatchesReference("rednet26 mb1ic3ih64", rednet26, rednet26Weights, 26, Shape.nchw(1, 3, 64, 64),
                Layout.NCHW);
    }

    @Test
    void resnet50At64MatchesTheReference() {
        assertMatchesReference("resnet50 mb1ic3ih64", Models.architecture("resnet50"), 50, Shape.nchw(1, 3, 64, 64),
                Layout.NCHW);
    }

    /**
     * Winograd convolutions inside (layer1 at 28×28 and layer2 at 14×14 take them at 112×112):
     * within the tolerance, and not the direct network's bits.
     */
    @Test
    void resnet50WithWinogradMatchesTheReference() {
        Layer layer = Models.architecture("resnet50");
        Shape shape = Shape.nchw(1, 3, 112, 112);
        try (ModelWeights weights = ModelWeights.random(layer, 51);
             Network direct = Network.build(layer, weights);
             Network winograd = Network.build(layer, weights, Conv2d.Algorithm.WINOGRAD)) {
            float[] a = assertMatchesReference("resnet50 mb1ic3ih112 winograd", winograd, weights, 51, shape,
                    Layout.NCHW);
            try (Arena arena = Arena.ofConfined()) {
                Tensor input = RandomTensors.tensor(arena, shape, Layout.NCHW,
                        RandomTensors.uniform(new Random(51), shape.elementCount(), 2f));
                float[] b = RandomTensors.toNchw(direct.forward(input, arena, context));
                assertFalse(Arrays.equals(a, b), "the WINOGRAD network gave the direct network's bits");
            }
        }
    }

    /** Every kind of layer, NHWC and NCHW, batch 2, a grouped conv, stand-alone BN, average pool. */
    @Test
    void everyLayerKindMatchesTheReferenceInBothLayouts() {
        Layer layer = new Layer.Sequential("custom", List.of(
                Layer.Conv.of("conv1", new Conv2dParams(3, 32, 3, 3, 2, 2, 1, 1, 1, Padding.SAME, Activation.RELU))
                        .withBias().withBatchNorm("bn1"),
                new Layer.Involution("inv", dev.invconv.Involution2dParams.of(32, 5, 2), "inv_bn", 1e-5,
                        Activation.RELU6),
                new Layer.BatchNorm("bn2", 32, 1e-3, Activation.NONE),
                new Layer.AvgPool("avg", 3, 1, Padding.explicit(1, 1, 1, 1), false),
                Models.rednetBottleneck("block", 32, 64, 1),
                new Layer.Residual("res", List.of(
                        Layer.Conv.of("res.conv", new Conv2dParams(64, 64, 3, 3, 1, 1, 1, 1, 4,
                                Padding.explicit(1, 1, 1, 1), Activation.NONE)).withBatchNorm("res.bn")),
                        null, Activation.RELU),
                new Layer.MaxPool("max", 2, 2, Padding.VALID),
                new Layer.GlobalAveragePool("gap"),
                Layer.Linear.of("fc", 64, 10)));
        float[] nchw = assertMatchesReference("custom", layer, 7, Shape.nchw(2, 3, 20, 20), Layout.NCHW);
        float[] nhwc = assertMatchesReference("custom", layer, 7, Shape.nchw(2, 3, 20, 20), Layout.NHWC);
        assertArrayEquals(nchw, nhwc, "[N, 10, 1, 1] logits do not depend on the layout");
    }

    /**
     * A chain ending in identity blocks runs them in place in its output (written by the block
     * before them, a projection straight into it): the reference's results, and the caller's
     * input, which the chain's first block reads, left as it was (NHWC: the network runs on the
     * caller's tensor itself).
     */
    @Test
    void identityBlocksRunInPlaceAndLeaveTheInputAlone() {
        for (long channels : new long[] {32, 64}) { // the first block a projection, then an identity
            Layer layer = new Layer.Sequential(channels == 64 ? "identity first" : "projection first",
                    List.of(Models.rednetBottleneck("b0", channels, 64, 1), Models.rednetBottleneck("b1", 64, 64, 1),
                            Models.rednetBottleneck("b2", 64, 64, 1)));
            Shape shape = Shape.nchw(2, channels, 10, 9);
            try (ModelWeights weights = ModelWeights.random(layer, 13);
                 Network network = Network.build(layer, weights);
                 Arena arena = Arena.ofConfined()) {
                Tensor input = RandomTensors.tensor(arena, shape, Layout.NHWC,
                        RandomTensors.uniform(new Random(13), shape.elementCount(), 2f));
                float[] before = input.toArray();
                Tensor output = network.forward(input, arena, context);
                assertArrayEquals(before, input.toArray(), layer.name() + ": the network wrote into its input");
                double[] expected = ReferenceNetwork.forward(layer, weights, input);
                ReferenceAssertions.assertWithinModuleTolerance(layer.name(),
                        new Result(network.outputShape(shape), expected, new double[expected.length]),
                        RandomTensors.toNchw(output));
            }
        }
    }

    /** Runs NHWC inside: an NCHW input gives the same bits, also where the output is an image. */
    @Test
    void layoutsGiveTheSameBitsAndImagesComeBackInTheirLayout() {
        Layer layer = new Layer.Sequential("features", List.of(
                Layer.Conv.of("conv", new Conv2dParams(3, 20, 3, 3, 2, 2, 1, 1, 1, Padding.SAME, Activation.RELU))
                        .withBias(),
                new Layer.MaxPool("max", 3, 2, Padding.explicit(1, 1, 1, 1))));
        float[] nchw = assertMatchesReference("features", layer, 11, Shape.nchw(2, 3, 29, 23), Layout.NCHW);
        float[] nhwc = assertMatchesReference("features", layer, 11, Shape.nchw(2, 3, 29, 23), Layout.NHWC);
        assertArrayEquals(nchw, nhwc, "the same inner computation, converted back (both read in NCHW order)");
    }

    @Test
    void workspacesAreReusedAndResultsAreBitIdentical() throws Exception {
        Network network = rednet26;
        try (Arena arena = Arena.ofShared()) {
            Tensor small = Tensor.of(arena, Shape.nchw(1, 3, 32, 32),
                    RandomTensors.uniform(new Random(1), 3 * 32 * 32, 1f));
            Tensor large = Tensor.of(arena, Shape.nchw(2, 3, 64, 64),
                    RandomTensors.uniform(new Random(2), 2 * 3 * 64 * 64, 1f));
            float[] first = network.forward(small, arena, context).toArray();
            float[] afterLarger = network.forward(large, arena, context).toArray();
            assertArrayEquals(first, network.forward(small, arena, context).toArray(), "a grown workspace");
            try (Context one = Context.create(1)) {
                assertArrayEquals(first, network.forward(small, arena, one).toArray(), "any thread count");
            }
            ExecutorService pool = Executors.newFixedThreadPool(3);
            try {
                List<Future<float[]>> runs = new ArrayList<>();
                for (int i = 0; i < 6; i++) {
                    runs.add(pool.submit(() -> {
                        try (Arena local = Arena.ofConfined()) {
                            return network.forward(large, local, context).toArray();
                        }
                    }));
                }
                for (Future<float[]> run : runs) {
                    assertArrayEquals(afterLarger, run.get(), "concurrent forward passes");
                }
            } finally {
                pool.shutdown();
            }
        }
    }

    @Test
    void profileTimesEveryOperator() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor input = Tensor.allocate(arena, Shape.nchw(1, 3, 32, 32));
            Tensor output = Tensor.allocate(arena, rednet26.outputShape(input.shape()));
            Profile profile = new Profile();
            rednet26.forward(input, output, context, profile);
            rednet26.forward(input, output, context, profile);
            // The NCHW input's conversion to the inner layout, 3 stem operators (the last one
            // with the max pool: one pass), 8 blocks × 3 + 4 downsamples, global pool, head, the
            // output's conversion back
            List<Profile.Entry> entries = profile.entries();
            assertEquals(1 + 3 + 8 * 3 + 4 + 1 + 1 + 1, entries.size());
            assertEquals(2, profile.passes());
            assertEquals("input", entries.getFirst().name());
            assertEquals("layout NCHW→NHWC", entries.getFirst().description());
            assertEquals("output", entries.getLast().name());
            assertEquals(0, entries.getLast().macs());
            Profile.Entry fc = entries.get(entries.size() - 2);
            assertEquals("head.fc", fc.name());
            assertEquals(2, fc.calls());
            assertEquals(2 * 2048 * 1000, fc.macs());
            Profile.Entry stem = entries.get(3);
            assertEquals("stem.4+maxpool", stem.name());
            assertTrue(stem.description().endsWith(", maxpool 3x3/2"), stem.description());
            assertEquals(2 * 16 * 16 * 64 * 32 * 9, stem.macs(), "stem.4's multiply-adds at 16x16, twice");
            assertEquals(Shape.nchw(1, 64, 8, 8), stem.output());
            // Execution order: a block's shortcut runs before its body.
            assertEquals("layer1.0.downsample", entries.get(4).name());
            assertEquals("layer1.0.conv1", entries.get(5).name());
            assertEquals("involution 7x7 64 G4 +bn +relu", entries.get(6).description());
            String table = profile.format();
            assertTrue(table.contains("layer4.0.conv2") && table.contains("total"), table);
        }
    }

    @Test
    void badInputsAreReported() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor gray = Tensor.allocate(arena, Shape.nchw(1, 1, 64, 64));
            IllegalArgumentException channels = assertThrows(IllegalArgumentException.class,
                    () -> rednet26.forward(gray, arena, context));
            assertTrue(channels.getMessage().startsWith("stem.0: conv2d: input [1, 1, 64, 64] has 1 channels"),
                    channels.getMessage());
            Tensor input = Tensor.allocate(arena, Shape.nchw(1, 3, 64, 64));
            Tensor wrong = Tensor.allocate(arena, Shape.nchw(1, 10, 1, 1));
            IllegalArgumentException output = assertThrows(IllegalArgumentException.class,
                    () -> rednet26.forward(input, wrong, context));
            assertEquals("rednet26: output is [1, 10, 1, 1] NCHW but the network gives [1, 1000, 1, 1] NCHW for input "
                    + "[1, 3, 64, 64]", output.getMessage());
            Layer small = Models.rednetBottleneck("block", 32, 64, 2);
            Network network;
            try (ModelWeights weights = ModelWeights.random(small, 1)) {
                network = Network.build(small, weights);
            }
            Tensor x = Tensor.allocate(arena, Shape.nchw(1, 32, 8, 8));
            network.forward(x, arena, context);
            network.close();
            network.close();
            IllegalStateException closed = assertThrows(IllegalStateException.class,
                    () -> network.forward(x, arena, context));
            assertEquals("block is closed", closed.getMessage());
        }
    }

    @Test
    void foldedBatchNormMatchesTheUnfoldedOne() {
        double[] scale = BatchNormFolding.Affine.of(new float[] {2f, 0.5f}, new float[] {1f, -1f},
                new float[] {0.25f, -3f}, new float[] {3f, 0.0f}, 1e-5).scale();
        assertEquals(2 / Math.sqrt(3 + 1e-5), scale[0], 1e-15);
        assertEquals(0.5 / Math.sqrt(1e-5), scale[1], 1e-12);
        BatchNormFolding.Affine affine = BatchNormFolding.Affine.of(new float[] {2f}, new float[] {1f},
                new float[] {0.25f}, new float[] {3f}, 1e-5);
        float[][] folded = BatchNormFolding.intoConv(affine, new float[] {1f, -2f}, new float[] {0.5f});
        double s = 2 / Math.sqrt(3 + 1e-5);
        assertEquals((float) s, folded[0][0]);
        assertEquals((float) (-2 * s), folded[0][1]);
        assertEquals((float) (1 - 0.25 * s + 0.5 * s), folded[1][0]);
    }
}
