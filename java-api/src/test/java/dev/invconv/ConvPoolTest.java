package dev.invconv;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.Random;

import static dev.invconv.ReferenceAssertions.assertBitIdentical;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Conv2d#applyPooled}: a convolution and a pool in one pass give the bits of the two
 * run one after the other (random direct convolutions and pools, both layouts, 1 to 3
 * threads); {@link Conv2d#poolsInOnePass} says which convolutions can, and the others refuse
 * with the reason; bad arguments are named.
 */
class ConvPoolTest {

    private static final long SEED = Long.getLong(NativeConvolutionTest.SEED_PROPERTY, 20_261_130L);

    private static Context[] contexts;

    @BeforeAll
    static void startContexts() {
        contexts = new Context[] {Context.create(1), Context.create(2), Context.create(3)};
    }

    @AfterAll
    static void stopContexts() {
        for (Context context : contexts) {
            context.close();
        }
    }

    private static Conv2d conv(Conv2dParams params, Conv2d.Algorithm algorithm, Random random) {
        float[] weights = RandomTensors.uniform(random, params.weightShape().elementCount(), 1f);
        float[] bias = RandomTensors.uniform(random, params.outChannels(), 1f);
        return Conv2d.create(params, weights, bias, algorithm);
    }

    /** One pass against apply then pool, on every context and in both layouts. */
    private static void assertPooledMatches(String problem, Conv2d conv, Pool2d pool, Shape input, Random random) {
        assertTrue(conv.poolsInOnePass(pool, input), problem);
        float[] x = RandomTensors.uniform(random, input.elementCount(), 1f);
        for (Layout layout : Layout.values()) {
            try (Arena arena = Arena.ofConfined()) {
                Tensor in = RandomTensors.tensor(arena, input, layout, x);
                Tensor expected = pool.apply(conv.apply(in, arena), arena);
                for (Context context : contexts) {
                    Tensor out = RandomTensors.poisoned(arena, expected.shape(), layout);
                    conv.applyPooled(pool, in, out, context);
                    assertBitIdentical(problem + " " + layout + " " + context.threads() + " threads",
                            expected.shape(), RandomTensors.toNchw(expected), RandomTensors.toNchw(out));
                }
                assertBitIdentical(problem + " " + layout + " new tensor", expected.shape(),
                        RandomTensors.toNchw(expected), RandomTensors.toNchw(conv.applyPooled(pool, in, arena)));
            }
        }
    }

    @Test
    void onePassGivesTheBitsOfConvThenPool() {
        Random random = new Random(SEED);
        int fused = 0;
        for (int i = 0; i < 40; i++) {
            long groups = 1 + random.nextInt(2);
            long kernel = 2 + random.nextInt(3);
            long stride = 1 + random.nextInt(2);
            Conv2dParams params = new Conv2dParams(groups * (1 + random.nextInt(8)), groups * (1 + random.nextInt(20)),
                    kernel, kernel, stride, stride, 1, 1 + random.nextInt(2), groups,
                    random.nextBoolean() ? Padding.SAME : Padding.explicit(1, 0, 1, 2),
                    random.nextBoolean() ? Activation.RELU : Activation.NONE);
            long poolKernel = 1 + random.nextInt(3);
            long poolStride = 1 + random.nextInt(3);
            Pool2dParams poolParams = random.nextBoolean()
                    ? Pool2dParams.max(params.outChannels(), poolKernel, poolStride, Padding.VALID)
                    : Pool2dParams.average(params.outChannels(), poolKernel, poolStride, Padding.SAME, random.nextBoolean());
            Shape input = Shape.nchw(1 + random.nextInt(2), params.inChannels(), 8 + random.nextInt(40),
                    8 + random.nextInt(30));
            try (Conv2d conv = conv(params, Conv2d.Algorithm.DIRECT, random);
                 Pool2d pool = Pool2d.create(poolParams)) {
                if (params.groups() == params.inChannels()) {
                    continue; // depthwise: see the test below
                }
                assertPooledMatches(Problems.conv2d(params, input.n(), input.h(), input.w(), Layout.NCHW)
                        + " then " + poolParams, conv, pool, input, random);
                fused++;
            }
        }
        assertTrue(fused >= 30, fused + " of 40 random pairs ran");
    }

    /** ResNet-50's stem: the 7×7/2 convolution and the 3×3/2 max pool at 224×224. */
    @Test
    void resnetStem() {
        Random random = new Random(SEED + 1);
        try (Conv2d conv = conv(new Conv2dParams(3, 64, 7, 7, 2, 2, 1, 1, 1, Padding.explicit(3, 3, 3, 3),
                Activation.RELU), Conv2d.Algorithm.DIRECT, random);
             Pool2d pool = Pool2d.max(64, 3, 2, Padding.explicit(1, 1, 1, 1))) {
            assertPooledMatches("resnet stem", conv, pool, Shape.nchw(1, 3, 224, 224), random);
        }
    }

    /** Pointwise, depthwise and Winograd convolutions do not pool as they compute, and say so. */
    @Test
    void otherPathsRefuseWithTheReason() {
        Random random = new Random(SEED + 2);
        Pool2d pool = Pool2d.max(32, 2, 2, Padding.VALID);
        try (pool; Arena arena = Arena.ofConfined()) {
            Shape input = Shape.nchw(1, 32, 20, 20);
            Tensor in = Tensor.allocate(arena, input, Layout.NHWC);
            Conv2dParams pointwise = new Conv2dParams(32, 32, 1, 1, 1, 1, 1, 1, 1, Padding.VALID, Activation.NONE);
            Conv2dParams depthwise = new Conv2dParams(32, 32, 3, 3, 1, 1, 1, 1, 32, Padding.SAME, Activation.NONE);
            Conv2dParams threeByThree = new Conv2dParams(32, 32, 3, 3, 1, 1, 1, 1, 1, Padding.SAME, Activation.NONE);
            try (Conv2d p = conv(pointwise, Conv2d.Algorithm.DIRECT, random);
                 Conv2d d = conv(depthwise, Conv2d.Algorithm.DIRECT, random);
                 Conv2d w = conv(threeByThree, Conv2d.Algorithm.WINOGRAD, random)) {
                assertFalse(p.poolsInOnePass(pool, input));
                assertFalse(d.poolsInOnePass(pool, input));
                var e = assertThrows(UnsupportedOperationException.class, () -> p.applyPooled(pool, in, arena));
                assertTrue(e.getMessage().contains("pointwise"), e.getMessage());
                e = assertThrows(UnsupportedOperationException.class, () -> d.applyPooled(pool, in, arena));
                assertTrue(e.getMessage().contains("depthwise"), e.getMessage());
                boolean winograd = w.kernelName().contains("+");
                assertEquals(!winograd, w.poolsInOnePass(pool, input), w.kernelName());
                // 8x8 is too small for Winograd (4 tiles): the direct kernel, which pools.
                assertPooledMatches("winograd conv on 8x8", w, pool, Shape.nchw(1, 32, 8, 8), random);
            }
        }
    }

    @Test
    void badArgumentsAreNamed() {
        Random random = new Random(SEED + 3);
        try (Conv2d conv = conv(new Conv2dParams(4, 8, 3, 3, 1, 1, 1, 1, 1, Padding.SAME, Activation.NONE),
                Conv2d.Algorithm.DIRECT, random);
             Pool2d pool = Pool2d.max(8, 2, 2, Padding.VALID);
             Pool2d six = Pool2d.max(6, 2, 2, Padding.VALID);
             Arena arena = Arena.ofConfined()) {
            Tensor in = Tensor.allocate(arena, Shape.nchw(1, 4, 8, 8), Layout.NHWC);
            var e = assertThrows(IllegalArgumentException.class, () -> conv.applyPooled(six, in, arena));
            assertEquals("conv2d: the pool has 6 channels but the convolution gives 8", e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> conv.poolsInOnePass(six, in.shape()));
            Tensor wrong = Tensor.allocate(arena, Shape.nchw(1, 8, 8, 8), Layout.NHWC);
            e = assertThrows(IllegalArgumentException.class, () -> conv.applyPooled(pool, in, wrong, contexts[0]));
            assertTrue(e.getMessage().contains("out has shape"), e.getMessage());
            Tensor nchw = Tensor.allocate(arena, Shape.nchw(1, 8, 4, 4), Layout.NCHW);
            e = assertThrows(IllegalArgumentException.class, () -> conv.applyPooled(pool, in, nchw, contexts[0]));
            assertTrue(e.getMessage().contains("NCHW"), e.getMessage());
            assertThrows(NullPointerException.class, () -> conv.applyPooled(null, in, arena));
            pool.close();
            assertThrows(IllegalStateException.class, () -> conv.applyPooled(pool, in, arena));
        }
    }
}
