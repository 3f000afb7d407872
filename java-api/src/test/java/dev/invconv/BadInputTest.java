package dev.invconv;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input through the public API (SPEC §7): every mistake is an exception whose message names
 * the parameter and its value — IllegalArgumentException for bad values and shapes,
 * IllegalStateException for closed objects, NullPointerException for nulls — and never a JVM
 * crash or a silent wrong result. Messages are checked by substring: the part a user needs.
 */
class BadInputTest {

    private Arena arena;

    @BeforeEach
    void openArena() {
        arena = Arena.ofConfined();
    }

    @AfterEach
    void closeArena() {
        arena.close();
    }

    private static <T extends Throwable> T assertFails(Class<T> type, String expected, Executable call) {
        T e = assertThrows(type, call, () -> "expected " + type.getSimpleName() + " with \"" + expected + "\"");
        assertTrue(e.getMessage() != null && e.getMessage().contains(expected),
                () -> "expected a message containing \"" + expected + "\" but got \"" + e.getMessage() + "\"");
        return e;
    }

    private static void assertInvalid(String expected, Executable call) {
        assertFails(IllegalArgumentException.class, expected, call);
    }

    private static void assertClosed(String expected, Executable call) {
        assertFails(IllegalStateException.class, expected, call);
    }

    private Tensor tensor(Shape shape, Layout layout) {
        return Tensor.allocate(arena, shape, layout);
    }

    private Tensor tensor(Shape shape) {
        return tensor(shape, Layout.NCHW);
    }

    /** conv2d 8 → 4, 3×3, VALID, with bias. */
    private static Conv2d conv8to4() {
        return Conv2d.builder(8, 4, 3).build(new float[4 * 8 * 3 * 3], new float[4]);
    }

    private static InvolutionAggregate aggregate16() {
        return InvolutionAggregate.builder(16, 3).groupChannels(8).build();
    }

    private static Map<String, float[]> involutionParameters(Involution2dParams p) {
        Map<String, float[]> parameters = new LinkedHashMap<>();
        Involution2d.parameterShapes(p).forEach((name, shape) -> {
            long count = 1;
            for (long dim : shape) {
                count *= dim;
            }
            parameters.put(name, new float[(int) count]);
        });
        java.util.Arrays.fill(parameters.get(Involution2d.BN_RUNNING_VAR), 1f);
        return parameters;
    }

    private static Involution2d involution16(long stride) {
        Involution2dParams p = new Involution2dParams(16, 3, stride, 1, 8, 4, 1e-5);
        return Involution2d.create(p, involutionParameters(p));
    }

    // ---- hyper-parameters -----------------------------------------------------------------------

    @Nested
    class HyperParameters {

        @Test
        void groupsMustDivideBothChannelCounts() {
            assertInvalid("conv2d: groups=3 does not divide in_channels=8",
                    () -> Conv2d.builder(8, 6, 3).groups(3).build(new float[6 * 3 * 9], null));
            assertInvalid("conv2d: groups=4 does not divide out_channels=6",
                    () -> Conv2d.builder(8, 6, 3).groups(4).build(new float[6 * 2 * 9], null));
            assertInvalid("conv2d: groups=0 must be >= 1", () -> Conv2d.builder(8, 8, 3).groups(0).params());
            assertInvalid("conv2d: groups=3 does not divide in_channels=4",
                    () -> PointwiseConv2d.builder(4, 6).groups(3).params());
        }

        @Test
        void channelCountsMustBePositive() {
            assertInvalid("conv2d: in_channels=0 must be >= 1", () -> Conv2d.builder(0, 4, 3).params());
            assertInvalid("conv2d: out_channels=-2 must be >= 1", () -> Conv2d.builder(8, -2, 3).params());
            assertInvalid("conv2d: out_channels=0 must be >= 1", () -> PointwiseConv2d.builder(4, 0).params());
            assertInvalid("conv2d: in_channels=-3 must be >= 1", () -> DepthwiseConv2d.builder(-3, 3).params());
            assertInvalid("separable_conv2d: in_channels=0 must be >= 1", () -> SeparableConv2d.builder(0, 4, 3).params());
            assertInvalid("separable_conv2d: out_channels=-1 must be >= 1", () -> SeparableConv2d.builder(4, -1, 3).params());
            assertInvalid("involution: channels=0 must be >= 1", () -> InvolutionAggregate.builder(0, 3).params());
            assertInvalid("involution2d: channels=-16 must be >= 1", () -> Involution2d.builder(-16, 3).params());
        }

        @Test
        void kernelStrideAndDilationMustBePositive() {
            assertInvalid("conv2d: kernel_h=0 must be >= 1", () -> Conv2d.builder(8, 4, 0).params());
            assertInvalid("conv2d: kernel_w=-1 must be >= 1", () -> Conv2d.builder(8, 4, 3, -1).params());
            assertInvalid("conv2d: stride_h=0 must be >= 1", () -> Conv2d.builder(8, 4, 3).stride(0).params());
            assertInvalid("conv2d: stride_w=-2 must be >= 1", () -> Conv2d.builder(8, 4, 3).stride(1, -2).params());
            assertInvalid("conv2d: dilation_h=0 must be >= 1", () -> Conv2d.builder(8, 4, 3).dilation(0).params());
            assertInvalid("conv2d: dilation_w=0 must be >= 1", () -> Conv2d.builder(8, 4, 3).dilation(1, 0).params());
            assertInvalid("conv2d: stride_h=-1 must be >= 1", () -> DepthwiseConv2d.builder(4, 3).stride(-1).params());
            assertInvalid("separable_conv2d: kernel_w=0 must be >= 1", () -> SeparableConv2d.builder(4, 4, 3, 0).params());
            assertInvalid("separable_conv2d: dilation_h=-4 must be >= 1",
                    () -> SeparableConv2d.builder(4, 4, 3).dilation(-4, 1).params());
            assertInvalid("involution: kernel_size=-3 must be >= 1", () -> InvolutionAggregate.builder(16, -3).params());
            assertInvalid("involution: stride=0 must be >= 1", () -> InvolutionAggregate.builder(16, 3).stride(0).params());
            assertInvalid("involution: dilation=-1 must be >= 1", () -> InvolutionAggregate.builder(16, 3).dilation(-1).params());
            assertInvalid("involution2d: stride=0 must be >= 1", () -> Involution2d.builder(16, 3).stride(0).params());
        }

        @Test
        void multipliersMustBePositive() {
            assertInvalid("depthwise_conv2d: multiplier=0 must be >= 1", () -> DepthwiseConv2d.builder(4, 3).multiplier(0).params());
            assertInvalid("separable_conv2d: depth_multiplier=-1 must be >= 1",
                    () -> SeparableConv2d.builder(4, 4, 3).multiplier(-1).params());
        }

        @Test
        void explicitPadsMustNotBeNegative() {
            assertInvalid("padding: pad_top=-1 must be >= 0", () -> Padding.explicit(-1, 0, 0, 0));
            assertInvalid("padding: pad_left=-2 must be >= 0", () -> Padding.explicit(0, -2, 0, 0));
            assertInvalid("padding: pad_bottom=-3 must be >= 0", () -> Padding.explicit(0, 0, -3, 0));
            assertInvalid("padding: pad_right=-4 must be >= 0", () -> Padding.explicit(0, 0, 0, -4));
        }

        @Test
        void sizesThatOverflowAreRejected() {
            assertInvalid("conv2d: kernel_h=3 with dilation_h=" + Long.MAX_VALUE + " overflows",
                    () -> Conv2d.builder(8, 4, 3).dilation(Long.MAX_VALUE, 1).params());
            try (Conv2d conv = Conv2d.builder(8, 4, 3).padding(Padding.explicit(Long.MAX_VALUE, 0, 0, 0))
                    .build(new float[4 * 8 * 9], null)) {
                assertInvalid("conv2d: the padded input height 8 + " + Long.MAX_VALUE + " + 0 overflows",
                        () -> conv.apply(tensor(Shape.nchw(1, 8, 8, 8)), arena));
            }
        }

        @Test
        void involutionKernelMustBeOdd() {
            assertInvalid("involution: kernel_size=4 must be odd", () -> InvolutionAggregate.builder(16, 4).build());
            assertInvalid("involution2d: kernel_size=6 must be odd", () -> Involution2d.builder(16, 6).params());
        }

        @Test
        void involutionChannelsMustBeAMultipleOfGroupChannels() {
            assertInvalid("involution: channels=24 is not a multiple of group_channels=16",
                    () -> InvolutionAggregate.builder(24, 3).build());
            assertInvalid("involution2d: channels=20 is not a multiple of group_channels=8",
                    () -> Involution2d.builder(20, 3).groupChannels(8).params());
            assertInvalid("involution: group_channels=0 must be >= 1",
                    () -> InvolutionAggregate.builder(16, 3).groupChannels(0).build());
        }

        @Test
        void involution2dReductionAndBatchNorm() {
            assertInvalid("involution2d: reduction_ratio=0 must be >= 1",
                    () -> Involution2d.builder(16, 3).reductionRatio(0).params());
            assertInvalid("involution2d: channels=16 / reduction_ratio=32 leaves no reduced channels",
                    () -> Involution2d.builder(16, 3).reductionRatio(32).params());
            assertInvalid("involution2d: bn_epsilon=-1.0 must be finite and >= 0",
                    () -> Involution2d.builder(16, 3).bnEpsilon(-1).params());
            // Caught by the C library, whose message reaches Java unchanged.
            Involution2dParams p = new Involution2dParams(16, 3, 1, 1, 8, 4, 1e-5);
            Map<String, float[]> negativeVariance = involutionParameters(p);
            negativeVariance.get(Involution2d.BN_RUNNING_VAR)[2] = -1f;
            assertInvalid("involution2d: bn_running_var[2]=-1 plus bn_epsilon=1e-05 is not positive",
                    () -> Involution2d.create(p, negativeVariance));
        }

        /** bn_epsilon = 0 is valid, as in PyTorch, as long as every running variance is positive. */
        @Test
        void zeroBatchNormEpsilonNeedsPositiveVariances() {
            Involution2dParams p = new Involution2dParams(16, 3, 1, 1, 8, 4, 0);
            try (Involution2d ok = Involution2d.create(p, involutionParameters(p))) {
                assertEquals(0.0, ok.params().bnEpsilon());
            }
            Map<String, float[]> zeroVariance = involutionParameters(p);
            zeroVariance.get(Involution2d.BN_RUNNING_VAR)[1] = 0f;
            assertInvalid("involution2d: bn_running_var[1]=0 plus bn_epsilon=0 is not positive",
                    () -> Involution2d.create(p, zeroVariance));
        }

        @Test
        void contextThreadCounts() {
            assertInvalid("context: threads=-1 must be >= 0", () -> Context.create(-1));
            // Checked by the C library.
            assertInvalid("context: num_threads=100000 exceeds the limit of 1024", () -> Context.create(100_000));
        }
    }

    // ---- weights --------------------------------------------------------------------------------

    @Nested
    class Weights {

        @Test
        void weightsOfTheWrongLength() {
            assertInvalid("conv2d: weights has 10 elements but [4, 8, 3, 3] needs 288",
                    () -> Conv2d.builder(8, 4, 3).build(new float[10], null));
            assertInvalid("conv2d: weights has 72 elements but [4, 4, 3, 3] needs 144",
                    () -> Conv2d.builder(8, 4, 3).groups(2).build(new float[72], null));
            assertInvalid("depthwise_conv2d: weights has 9 elements but [8, 1, 3, 3] needs 72",
                    () -> DepthwiseConv2d.builder(4, 3).multiplier(2).build(new float[9], null));
            assertInvalid("pointwise_conv2d: weights has 5 elements but [3, 2, 1, 1] needs 6",
                    () -> PointwiseConv2d.builder(2, 3).build(new float[5], null));
            assertInvalid("separable_conv2d: depthwise weights has 1 elements but [4, 1, 3, 3] needs 36",
                    () -> SeparableConv2d.builder(4, 2, 3).build(new float[1], null, new float[8], null));
            assertInvalid("separable_conv2d: pointwise weights has 9 elements but [2, 4, 1, 1] needs 8",
                    () -> SeparableConv2d.builder(4, 2, 3).build(new float[36], null, new float[9], null));
            MemorySegment segment = arena.allocate(7 * Float.BYTES);
            assertInvalid("conv2d: weights has 7 elements but [4, 8, 3, 3] needs 288",
                    () -> Conv2d.builder(8, 4, 3).build(segment, null));
            assertInvalid("is not a whole number of floats",
                    () -> Conv2d.builder(8, 4, 3).build(arena.allocate(6), null));
        }

        @Test
        void biasOfTheWrongLength() {
            assertInvalid("conv2d: bias has 3 elements but [4] needs 4",
                    () -> Conv2d.builder(8, 4, 3).build(new float[288], new float[3]));
            assertInvalid("depthwise_conv2d: bias has 4 elements but [8] needs 8",
                    () -> DepthwiseConv2d.builder(4, 3).multiplier(2).build(new float[72], new float[4]));
            assertInvalid("separable_conv2d: depthwise bias has 2 elements but [4] needs 4",
                    () -> SeparableConv2d.builder(4, 2, 3).build(new float[36], new float[2], new float[8], null));
            assertInvalid("separable_conv2d: pointwise bias has 4 elements but [2] needs 2",
                    () -> SeparableConv2d.builder(4, 2, 3).build(new float[36], null, new float[8], new float[4]));
        }

        @Test
        void involution2dParametersOfTheWrongLength() {
            Involution2dParams p = new Involution2dParams(16, 3, 1, 1, 8, 4, 1e-5);
            Map<String, float[]> parameters = involutionParameters(p);
            parameters.put(Involution2d.SPAN_BIAS, new float[5]);
            parameters.put(Involution2d.REDUCE_WEIGHT, new float[3]);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Involution2d.create(p, parameters));
            assertTrue(e.getMessage().contains("'conv1.conv.weight' has 3 elements but [4, 16, 1, 1] needs 64"), e.getMessage());
            assertTrue(e.getMessage().contains("'conv2.conv.bias' has 5 elements but [18] needs 18"), e.getMessage());
        }

        @Test
        void missingInvolution2dParametersAreAllListedByName() {
            Involution2dParams p = new Involution2dParams(16, 3, 1, 1, 8, 4, 1e-5);
            Map<String, float[]> parameters = involutionParameters(p);
            parameters.remove(Involution2d.BN_WEIGHT);
            parameters.remove(Involution2d.SPAN_BIAS);
            parameters.put(Involution2d.BN_RUNNING_MEAN, null);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Involution2d.create(p, parameters));
            String message = e.getMessage();
            assertTrue(message.startsWith("involution2d: "), message);
            assertTrue(message.contains("'conv1.bn.weight' is missing (expected [4])"), message);
            assertTrue(message.contains("'conv1.bn.running_mean' is missing (expected [4])"), message);
            assertTrue(message.contains("'conv2.conv.bias' is missing (expected [18])"), message);
            assertTrue(!message.contains("conv1.conv.weight") && !message.contains("conv2.conv.weight"),
                    "only the missing ones: " + message);
        }
    }

    // ---- tensors at run time --------------------------------------------------------------------

    @Nested
    class Tensors {

        @Test
        void inputTooSmallForTheKernel() {
            try (Conv2d conv = Conv2d.builder(8, 4, 5).build(new float[4 * 8 * 25], null)) {
                assertInvalid("conv2d: input [1, 8, 4, 4] is too small for kernel 5x5",
                        () -> conv.apply(tensor(Shape.nchw(1, 8, 4, 4)), arena));
                assertInvalid("output height would be 0", () -> conv.apply(tensor(Shape.nchw(1, 8, 4, 9)), arena));
                assertInvalid("output width would be -1", () -> conv.apply(tensor(Shape.nchw(1, 8, 9, 3)), arena));
            }
            try (Conv2d dilated = Conv2d.builder(2, 2, 3).dilation(3).padding(Padding.explicit(1, 1, 1, 1))
                    .build(new float[2 * 2 * 9], null)) {
                // (3 − 1)·3 + 1 = 7 > 4 + 1 + 1
                assertInvalid("output height would be 0", () -> dilated.apply(tensor(Shape.nchw(1, 2, 4, 4)), arena));
            }
            try (SeparableConv2d sep = SeparableConv2d.builder(2, 2, 5).build(new float[50], null, new float[4], null)) {
                assertInvalid("separable_conv2d: input [2, 2, 3, 3] is too small for kernel 5x5",
                        () -> sep.apply(tensor(Shape.nchw(2, 2, 3, 3)), arena));
            }
        }

        @Test
        void inputChannelCountMismatch() {
            try (Conv2d conv = conv8to4(); InvolutionAggregate agg = aggregate16(); Involution2d inv = involution16(1)) {
                assertInvalid("conv2d: input [1, 6, 8, 8] has 6 channels but in_channels=8",
                        () -> conv.apply(tensor(Shape.nchw(1, 6, 8, 8)), arena));
                Tensor x8 = tensor(Shape.nchw(1, 8, 5, 5));
                assertInvalid("involution: input [1, 8, 5, 5] has 8 channels but channels=16",
                        () -> agg.apply(x8, tensor(Shape.nchw(1, 18, 5, 5)), arena));
                assertInvalid("involution2d: input [1, 8, 5, 5] has 8 channels but channels=16",
                        () -> inv.apply(x8, arena));
            }
        }

        @Test
        void outOfTheWrongShape() {
            try (Conv2d conv = conv8to4()) {
                Tensor x = tensor(Shape.nchw(1, 8, 8, 8));
                assertInvalid("conv2d: out has shape [1, 4, 5, 5] but the output is [1, 4, 6, 6]",
                        () -> conv.apply(x, tensor(Shape.nchw(1, 4, 5, 5))));
                assertInvalid("conv2d: out has shape [2, 4, 6, 6] but the output is [1, 4, 6, 6]",
                        () -> conv.apply(x, tensor(Shape.nchw(2, 4, 6, 6))));
                assertInvalid("conv2d: residual has shape [1, 4, 6, 5] but the output is [1, 4, 6, 6]",
                        () -> conv.apply(x, tensor(Shape.nchw(1, 4, 6, 5)), tensor(Shape.nchw(1, 4, 6, 6)), Context.shared()));
            }
            try (InvolutionAggregate agg = aggregate16()) {
                Tensor x = tensor(Shape.nchw(1, 16, 8, 8));
                assertInvalid("involution: out has shape [1, 16, 4, 4] but the output is [1, 16, 8, 8]",
                        () -> agg.apply(x, tensor(Shape.nchw(1, 18, 8, 8)), tensor(Shape.nchw(1, 16, 4, 4))));
            }
        }

        @Test
        void outInAnotherLayout() {
            try (Conv2d conv = conv8to4(); InvolutionAggregate agg = aggregate16()) {
                Tensor x = tensor(Shape.nchw(1, 8, 8, 8), Layout.NCHW);
                assertInvalid("conv2d: out is NHWC but the input is NCHW",
                        () -> conv.apply(x, tensor(Shape.nchw(1, 4, 6, 6), Layout.NHWC)));
                assertInvalid("conv2d: residual is NHWC but the input is NCHW",
                        () -> conv.apply(x, tensor(Shape.nchw(1, 4, 6, 6), Layout.NHWC), tensor(Shape.nchw(1, 4, 6, 6)),
                                Context.shared()));
                Tensor y = tensor(Shape.nchw(1, 16, 8, 8), Layout.NHWC);
                assertInvalid("involution: kernels is NCHW but the input is NHWC",
                        () -> agg.apply(y, tensor(Shape.nchw(1, 18, 8, 8), Layout.NCHW), arena));
                assertInvalid("involution: out is NCHW but the input is NHWC",
                        () -> agg.apply(y, tensor(Shape.nchw(1, 18, 8, 8), Layout.NHWC), tensor(Shape.nchw(1, 16, 8, 8))));
            }
        }

        @Test
        void involutionKernelsOfTheWrongShape() {
            try (InvolutionAggregate agg = aggregate16(); InvolutionAggregate strided = InvolutionAggregate.builder(16, 3)
                    .groupChannels(8).stride(2).build()) {
                Tensor x = tensor(Shape.nchw(1, 16, 8, 8));
                assertInvalid("involution: kernels has shape [1, 9, 8, 8] but input [1, 16, 8, 8] needs [1, 18, 8, 8]",
                        () -> agg.apply(x, tensor(Shape.nchw(1, 9, 8, 8)), arena));
                assertInvalid("kernels has shape [1, 18, 8, 8] but input [1, 16, 8, 8] needs [1, 18, 4, 4]",
                        () -> strided.apply(x, tensor(Shape.nchw(1, 18, 8, 8)), arena));
                assertInvalid("kernels has shape [2, 18, 8, 8]", () -> agg.apply(x, tensor(Shape.nchw(2, 18, 8, 8)), arena));
            }
        }

        @Test
        void involution2dStrideNeedsSizesThatAreMultiplesOfIt() {
            try (Involution2d inv = involution16(2)) {
                assertInvalid("involution2d: in_h=7 is not a multiple of stride=2 (the pooled size 3 would differ from the output size 4)",
                        () -> inv.apply(tensor(Shape.nchw(1, 16, 7, 8)), arena));
                assertInvalid("involution2d: in_w=9 is not a multiple of stride=2 (the pooled size 4 would differ from the output size 5)",
                        () -> inv.apply(tensor(Shape.nchw(1, 16, 8, 9)), arena));
                assertDoesNotThrow(() -> inv.apply(tensor(Shape.nchw(1, 16, 8, 6)), arena));
            }
        }

        @Test
        void outputOverlappingAnInput() {
            Shape in = Shape.nchw(1, 8, 8, 8);
            Shape out = Shape.nchw(1, 4, 6, 6);
            MemorySegment memory = arena.allocate(in.byteSize() + out.byteSize(), 64);
            Tensor x = Tensor.wrap(memory, in, Layout.NCHW);
            try (Conv2d conv = conv8to4()) {
                assertInvalid("conv2d: the output overlaps the input",
                        () -> conv.apply(x, Tensor.wrap(memory, out, Layout.NCHW)));
                assertInvalid("conv2d: the output overlaps the input",
                        () -> conv.apply(x, Tensor.wrap(memory.asSlice(in.byteSize() - 4), out, Layout.NCHW)));
                Tensor y = Tensor.wrap(memory.asSlice(in.byteSize()), out, Layout.NCHW);
                assertDoesNotThrow(() -> conv.apply(x, y), "adjacent, not overlapping");
                Tensor shifted = Tensor.wrap(memory.asSlice(in.byteSize() - 8), out, Layout.NCHW);
                assertInvalid("conv2d: the output overlaps the residual",
                        () -> conv.apply(tensor(in), shifted, y, Context.shared()));
            }
            try (InvolutionAggregate agg = aggregate16()) {
                Shape x16 = Shape.nchw(1, 16, 4, 4);
                Shape kernels = Shape.nchw(1, 18, 4, 4);
                MemorySegment shared = arena.allocate(kernels.byteSize(), 64);
                Tensor k = Tensor.wrap(shared, kernels, Layout.NCHW);
                assertInvalid("involution: the output overlaps the kernels",
                        () -> agg.apply(tensor(x16), k, Tensor.wrap(shared, x16, Layout.NCHW)));
                Tensor input = tensor(x16);
                assertInvalid("involution: the output overlaps the input", () -> agg.apply(input, k, input));
            }
            try (SeparableConv2d sep = SeparableConv2d.builder(8, 8, 1).build(new float[8], null, new float[64], null);
                 Involution2d inv = involution16(1)) {
                Tensor x8 = tensor(Shape.nchw(1, 8, 4, 4));
                assertInvalid("separable_conv2d: the output overlaps the input", () -> sep.apply(x8, x8));
                Tensor x16 = tensor(Shape.nchw(1, 16, 4, 4));
                assertInvalid("involution2d: the output overlaps the input", () -> inv.apply(x16, x16));
            }
        }

        @Test
        void heapTensorsAreRejectedBeforeNativeCode() {
            Shape in = Shape.nchw(1, 8, 8, 8);
            Shape out = Shape.nchw(1, 4, 6, 6);
            Tensor heapInput = Tensor.wrap(MemorySegment.ofArray(new float[(int) in.elementCount()]), in, Layout.NCHW);
            float[] heapOut = new float[(int) out.elementCount()];
            java.util.Arrays.fill(heapOut, 42f);
            try (Conv2d conv = Conv2d.builder(8, 4, 3).build(new float[288], new float[] {1, 1, 1, 1})) {
                Tensor y = tensor(out);
                assertInvalid("conv2d: input is on the Java heap", () -> conv.apply(heapInput, y));
                assertArrayEquals(new float[(int) out.elementCount()], y.toArray(), "the native kernel did not run");
                assertInvalid("conv2d: out is on the Java heap",
                        () -> conv.apply(tensor(in), Tensor.wrap(MemorySegment.ofArray(heapOut), out, Layout.NCHW)));
                assertTrue(java.util.Arrays.equals(heapOut, filled(heapOut.length, 42f)), "the heap output is untouched");
                assertInvalid("conv2d: residual is on the Java heap",
                        () -> conv.apply(tensor(in), Tensor.wrap(MemorySegment.ofArray(heapOut), out, Layout.NCHW), y,
                                Context.shared()));
            }
            try (InvolutionAggregate agg = aggregate16()) {
                Shape kernels = Shape.nchw(1, 18, 4, 4);
                assertInvalid("involution: kernels is on the Java heap", () -> agg.apply(tensor(Shape.nchw(1, 16, 4, 4)),
                        Tensor.wrap(MemorySegment.ofArray(new float[(int) kernels.elementCount()]), kernels, Layout.NCHW), arena));
            }
        }

        private static float[] filled(int length, float value) {
            float[] values = new float[length];
            java.util.Arrays.fill(values, value);
            return values;
        }
    }

    // ---- closed objects and nulls ---------------------------------------------------------------

    @Nested
    class Lifecycle {

        @Test
        void closedOwnedTensors() {
            try (Conv2d conv = conv8to4(); InvolutionAggregate agg = aggregate16()) {
                Tensor x = Tensor.allocate(Shape.nchw(1, 8, 8, 8));
                Tensor y = Tensor.allocate(Shape.nchw(1, 4, 6, 6));
                conv.apply(x, y);
                x.close();
                assertClosed("tensor is closed", () -> conv.apply(x, y));
                Tensor x2 = Tensor.allocate(Shape.nchw(1, 8, 8, 8));
                y.close();
                assertClosed("tensor is closed", () -> conv.apply(x2, y));
                Tensor residual = Tensor.allocate(Shape.nchw(1, 4, 6, 6));
                residual.close();
                assertClosed("tensor is closed", () -> conv.apply(x2, residual, tensor(Shape.nchw(1, 4, 6, 6)), Context.shared()));
                x2.close();

                Tensor kernels = Tensor.allocate(Shape.nchw(1, 18, 4, 4));
                kernels.close();
                assertClosed("tensor is closed", () -> agg.apply(tensor(Shape.nchw(1, 16, 4, 4)), kernels, arena));
            }
        }

        @Test
        void tensorsOfAClosedArena() {
            try (Conv2d conv = conv8to4()) {
                Arena caller = Arena.ofConfined();
                Tensor x = Tensor.allocate(caller, Shape.nchw(1, 8, 8, 8), Layout.NHWC);
                Tensor y = Tensor.allocate(caller, Shape.nchw(1, 4, 6, 6), Layout.NHWC);
                conv.apply(x, y);
                caller.close();
                assertClosed("tensor is closed", () -> conv.apply(x, y));
                assertClosed("tensor is closed", () -> conv.apply(x, tensor(Shape.nchw(1, 4, 6, 6), Layout.NHWC)));
                assertClosed("tensor is closed", () -> conv.apply(tensor(Shape.nchw(1, 8, 8, 8), Layout.NHWC), y));
                // A borrowing tensor closed on its own, its arena still open.
                Tensor z = tensor(Shape.nchw(1, 4, 6, 6));
                z.close();
                assertClosed("tensor is closed", () -> conv.apply(tensor(Shape.nchw(1, 8, 8, 8)), z));
            }
        }

        @Test
        void closedOperators() {
            Conv2d conv = conv8to4();
            SeparableConv2d sep = SeparableConv2d.builder(8, 4, 3).build(new float[72], null, new float[32], null);
            InvolutionAggregate agg = aggregate16();
            Involution2d inv = involution16(1);
            conv.close();
            sep.close();
            agg.close();
            inv.close();
            Tensor x8 = tensor(Shape.nchw(1, 8, 8, 8));
            Tensor x16 = tensor(Shape.nchw(1, 16, 8, 8));
            assertClosed("conv2d is closed", () -> conv.apply(x8, arena));
            assertClosed("conv2d is closed", conv::kernelName);
            assertClosed("separable_conv2d is closed", () -> sep.apply(x8, arena));
            assertClosed("separable_conv2d is closed", sep::kernelName);
            assertClosed("involution is closed", () -> agg.apply(x16, tensor(Shape.nchw(1, 18, 8, 8)), arena));
            assertClosed("involution is closed", agg::kernelName);
            assertClosed("involution2d is closed", () -> inv.apply(x16, arena));
            assertClosed("involution2d is closed", inv::kernelName);
            assertDoesNotThrow(conv::close, "closing twice");
            // Shape arithmetic needs no native object.
            assertEquals(Shape.nchw(1, 4, 6, 6), conv.outputShape(x8.shape()));
        }

        @Test
        void closedContext() {
            Context context = Context.create(2);
            context.close();
            assertDoesNotThrow(context::close, "closing twice");
            try (Conv2d conv = conv8to4(); InvolutionAggregate agg = aggregate16()) {
                Tensor y = tensor(Shape.nchw(1, 4, 6, 6));
                assertClosed("context is closed", () -> conv.apply(tensor(Shape.nchw(1, 8, 8, 8)), null, y, context));
                Tensor x16 = tensor(Shape.nchw(1, 16, 4, 4));
                assertClosed("context is closed",
                        () -> agg.apply(x16, tensor(Shape.nchw(1, 18, 4, 4)), tensor(Shape.nchw(1, 16, 4, 4)), context));
            }
            assertClosed("the shared context cannot be closed", () -> Context.shared().close());
        }

        @Test
        void nullArguments() {
            try (Conv2d conv = conv8to4(); InvolutionAggregate agg = aggregate16(); Involution2d inv = involution16(1)) {
                Tensor x = tensor(Shape.nchw(1, 8, 8, 8));
                Tensor y = tensor(Shape.nchw(1, 4, 6, 6));
                assertThrows(NullPointerException.class, () -> conv.apply(null, y));
                assertThrows(NullPointerException.class, () -> conv.apply(x, (Tensor) null));
                assertThrows(NullPointerException.class, () -> conv.apply(x, (Arena) null));
                assertThrows(NullPointerException.class, () -> conv.apply(null, arena));
                assertFails(NullPointerException.class, "context", () -> conv.apply(x, null, y, null));
                assertFails(NullPointerException.class, "conv2d: input is null", () -> conv.apply(null, null, y, Context.shared()));
                assertFails(NullPointerException.class, "conv2d: out is null", () -> conv.apply(x, null, null, Context.shared()));

                Tensor x16 = tensor(Shape.nchw(1, 16, 4, 4));
                assertFails(NullPointerException.class, "involution: kernels is null", () -> agg.apply(x16, null, arena));
                assertThrows(NullPointerException.class, () -> agg.apply(null, tensor(Shape.nchw(1, 18, 4, 4)), arena));
                assertThrows(NullPointerException.class, () -> inv.apply(null, arena));
                assertThrows(NullPointerException.class, () -> inv.apply(x16, (Tensor) null));
            }
            assertFails(NullPointerException.class, "conv2d: weights is null", () -> Conv2d.builder(8, 4, 3).build((float[]) null, null));
            assertFails(NullPointerException.class, "pointwise_conv2d: weights is null",
                    () -> PointwiseConv2d.builder(8, 4).build((MemorySegment) null, null));
            assertThrows(NullPointerException.class, () -> Conv2d.create(null, new float[1], null));
            assertThrows(NullPointerException.class, () -> Conv2d.builder(8, 4, 3).padding(null));
            assertThrows(NullPointerException.class, () -> Conv2d.builder(8, 4, 3).activation(null));
            assertThrows(NullPointerException.class, () -> Conv2d.builder(8, 4, 3).algorithm(null));
            assertFails(NullPointerException.class, "conv2d: algorithm must not be null",
                    () -> Conv2d.create(Conv2d.builder(8, 4, 3).params(), new float[8 * 4 * 9], null, null));
            assertThrows(NullPointerException.class, () -> SeparableConv2d.builder(8, 4, 3).depthwiseActivation(null));
            assertThrows(NullPointerException.class, () -> Involution2d.builder(16, 3).build(null));
            assertThrows(NullPointerException.class, () -> InvolutionAggregate.create(null));
            assertThrows(NullPointerException.class, () -> Tensor.allocate(arena, null));
        }
    }

    /** A run right after all the failures above still computes the right thing. */
    @Test
    void operatorsStillWorkAfterRejectedCalls() {
        Random random = new Random(7);
        float[] w = RandomTensors.uniform(random, 4 * 8 * 9, 1f);
        try (Conv2d conv = Conv2d.builder(8, 4, 3).build(w, null)) {
            Tensor x = RandomTensors.tensor(arena, Shape.nchw(1, 8, 8, 8), Layout.NCHW,
                    RandomTensors.uniform(random, 8 * 64, 1f));
            assertThrows(IllegalArgumentException.class, () -> conv.apply(x, tensor(Shape.nchw(1, 4, 5, 5))));
            Tensor y = conv.apply(x, arena);
            ReferenceAssertions.assertWithinTolerance("conv after a rejected call",
                    dev.invconv.reference.ReferenceConv2d.run(conv.params(), x, w, null, null), y.toArray());
        }
    }
}
