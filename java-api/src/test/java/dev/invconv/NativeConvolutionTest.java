package dev.invconv;

import dev.invconv.reference.ReferenceConv2d;
import dev.invconv.reference.ReferenceSeparableConv2d;
import dev.invconv.reference.Result;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.BiFunction;

import static dev.invconv.ReferenceAssertions.assertExact;
import static dev.invconv.ReferenceAssertions.assertWithinTolerance;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The native Conv2d (standard, grouped, depthwise, pointwise) and SeparableConv2d against the
 * plain-Java float64 references, on seeded random problems and hand-picked edge cases, within
 * the SPEC §3 tolerance {@code |y − ref| <= 1e-5 · m + 1e-6}; and, on small-integer data where
 * fp32 convolution is exact, bit for bit.
 *
 * <p>Operators are built at every ISA level up to the active one ({@link IsaLevels}): random
 * cases take the levels in turn, fixed cases run at each. Every case prints its problem string,
 * data seed and ISA. The cases are generated from a fixed seed; {@code -Dinvconv.test.seed=<n>}
 * explores others.
 */
class NativeConvolutionTest {

    static final String SEED_PROPERTY = "invconv.test.seed";
    private static final long SEED = Long.getLong(SEED_PROPERTY, 20_261_129L);

    private static Context context;

    @BeforeAll
    static void startContext() {
        context = Context.create(2);
    }

    @AfterAll
    static void stopContext() {
        context.close();
    }

    /** How a case uses the fused residual add. */
    enum Residual {
        NONE, SEPARATE, IN_PLACE;

        String suffix() {
            return switch (this) {
                case NONE -> "";
                case SEPARATE -> "_residual";
                case IN_PLACE -> "_residual(in place)";
            };
        }
    }

    /** A Conv2d problem, its options, the seed of its data and the algorithm it is built with. */
    record ConvCase(String label, Conv2dParams params, long batch, long inH, long inW, Layout layout,
                    boolean bias, Residual residual, float amplitude, long seed, Isa isa,
                    Conv2d.Algorithm algorithm) {

        ConvCase(String label, Conv2dParams params, long batch, long inH, long inW, Layout layout,
                 boolean bias, Residual residual, float amplitude, long seed, Isa isa) {
            this(label, params, batch, inH, inW, layout, bias, residual, amplitude, seed, isa,
                    Conv2d.Algorithm.DIRECT);
        }

        ConvCase withIsa(Isa isa) {
            return new ConvCase(label, params, batch, inH, inW, layout, bias, residual, amplitude, seed, isa,
                    algorithm);
        }

        Shape inputShape() {
            return Shape.nchw(batch, params.inChannels(), inH, inW);
        }

        @Override
        public String toString() {
            return (label.isEmpty() ? "" : label + ": ") + Problems.conv2d(params, batch, inH, inW, layout)
                    + (bias ? "_bias" : "") + residual.suffix() + " seed=" + seed + " " + IsaLevels.describe(isa)
                    + (algorithm == Conv2d.Algorithm.DIRECT ? "" : " " + algorithm);
        }
    }

    /** A SeparableConv2d problem, its options and the seed of its data. */
    record SeparableCase(String label, SeparableConv2dParams params, long batch, long inH, long inW, Layout layout,
                         boolean depthwiseBias, boolean pointwiseBias, float amplitude, long seed, Isa isa) {

        SeparableCase(String label, SeparableConv2dParams params, long batch, long inH, long inW, Layout layout,
                      boolean depthwiseBias, boolean pointwiseBias, float amplitude, long seed) {
            this(label, params, batch, inH, inW, layout, depthwiseBias, pointwiseBias, amplitude, seed, IsaLevels.top());
        }

        SeparableCase withIsa(Isa isa) {
            return new SeparableCase(label, params, batch, inH, inW, layout, depthwiseBias, pointwiseBias, amplitude,
                    seed, isa);
        }

        Shape inputShape() {
            return Shape.nchw(batch, params.inChannels(), inH, inW);
        }

        @Override
        public String toString() {
            return (label.isEmpty() ? "" : label + ": ") + Problems.separable(params, batch, inH, inW, layout)
                    + (depthwiseBias ? "_dwbias" : "") + (pointwiseBias ? "_pwbias" : "") + " seed=" + seed + " "
                    + IsaLevels.describe(isa);
        }
    }

    // ---- Conv2d ---------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("standardCases")
    void standardAndGroupedConvolution(ConvCase c) {
        checkConv(c);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("depthwiseCases")
    void depthwiseConvolution(ConvCase c) {
        String kernel = checkConv(c);
        assertTrue(kernel.contains("dwconv"), c + ": expected the depthwise kernel, got " + kernel);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("pointwiseCases")
    void pointwiseConvolution(ConvCase c) {
        String kernel = checkConv(c);
        assertTrue(kernel.contains("pwconv"), c + ": expected the pointwise kernel, got " + kernel);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("edgeCases")
    void edgeCases(ConvCase c) {
        checkConv(c);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("simdTileCases")
    void simdTileShapes(ConvCase c) {
        checkConv(c);
    }

    /**
     * {@link Conv2d.Algorithm#WINOGRAD} on 3×3 stride-1 convolutions whose runs take it (outputs
     * of 16 tiles of 4×4 and more, padding of at most 1; NHWC, and NCHW through NHWC copies), and
     * on ones it leaves to the direct kernels (smaller images; FULL and wider padding, where the
     * operator keeps no Winograd kernel): every case within the SPEC tolerance.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("winogradCases")
    void winogradConvolution(ConvCase c) {
        String kernel = checkConv(c);
        Padding.Explicit pads = c.params().pads(c.inH(), c.inW());
        boolean eligible = Math.max(Math.max(pads.top(), pads.left()), Math.max(pads.bottom(), pads.right())) <= 1;
        assertEquals(eligible, kernel.contains("+f32_winograd_4x4_3x3_"),
                c + ": kernels " + kernel + (eligible ? ", expected Winograd's too" : ", expected no Winograd"));
    }

    /**
     * A run of a WINOGRAD conv is Winograd's: its bits differ from the direct conv's, and the
     * NCHW run gives the NHWC run's bits.
     */
    @Test
    void winogradRunsItsOwnKernel() {
        Conv2dParams p = Conv2d.builder(32, 32, 3).padding(Padding.SAME).params();
        Random random = new Random(SEED);
        float[] w = RandomTensors.uniform(random, p.weightShape().elementCount(), 1f);
        Shape shape = Shape.nchw(1, 32, 20, 20);
        try (Arena arena = Arena.ofConfined();
             Conv2d direct = Conv2d.create(p, w, null);
             Conv2d winograd = Conv2d.create(p, w, null, Conv2d.Algorithm.WINOGRAD)) {
            Tensor x = RandomTensors.tensor(arena, shape, Layout.NHWC,
                    RandomTensors.uniform(random, shape.elementCount(), 1f));
            float[] a = RandomTensors.toNchw(direct.apply(x, arena));
            float[] b = RandomTensors.toNchw(winograd.apply(x, arena));
            assertFalse(Arrays.equals(a, b),
                    "the WINOGRAD conv gave the direct conv's bits: " + winograd.kernelName());
            Tensor xNchw = RandomTensors.tensor(arena, shape, Layout.NCHW, RandomTensors.toNchw(x));
            assertArrayEquals(b, RandomTensors.toNchw(winograd.apply(xNchw, arena)),
                    "the NCHW run of the WINOGRAD conv differs from its NHWC run");
            assertEquals(Conv2d.Algorithm.WINOGRAD, winograd.algorithm());
            assertTrue(winograd.toString().endsWith("[WINOGRAD]"), winograd.toString());
        }
    }

    static List<ConvCase> winogradCases() {
        Random r = new Random(SEED + 7);
        List<ConvCase> cases = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            Padding padding = i % 10 == 9 ? pick(r, Padding.FULL, Padding.explicit(2, 0, 1, 1)) // direct
                    : pick(r, Padding.SAME, Padding.VALID,
                    Padding.explicit(r.nextInt(2), r.nextInt(2), r.nextInt(2), r.nextInt(2)));
            Conv2dParams p = conv(2 + r.nextInt(40), 1 + r.nextInt(40), 3, 3, 1, 1, 1, 1, 1, padding,
                    pick(r, Activation.values()));
            long size = i % 5 == 4 ? 6 + r.nextInt(8) : 17 + r.nextInt(14); // some below 16 tiles
            Layout layout = i % 6 == 5 ? Layout.NCHW : Layout.NHWC;
            cases.add(new ConvCase("winograd", p, 1 + r.nextInt(2), size, size + r.nextInt(5), layout,
                    r.nextBoolean(), pick(r, Residual.NONE, Residual.SEPARATE, Residual.IN_PLACE),
                    amplitude(r, p.activation()), r.nextLong(), IsaLevels.cycle(i), Conv2d.Algorithm.WINOGRAD));
        }
        return cases;
    }

    /** Runs one case against the reference; returns the kernel name. */
    private static String checkConv(ConvCase c) {
        Random random = new Random(c.seed());
        Conv2dParams p = c.params();
        Shape inShape = c.inputShape();
        float[] x = RandomTensors.uniform(random, inShape.elementCount(), c.amplitude());
        float[] w = RandomTensors.uniform(random, p.weightShape().elementCount(), 1f);
        float[] b = c.bias() ? RandomTensors.uniform(random, p.outChannels(), 1f) : null;
        try (Arena arena = Arena.ofConfined(); Conv2d conv = IsaLevels.build(c.isa(), () -> Conv2d.create(p, w, b, c.algorithm()))) {
            assertKernelWithin(c, conv.kernelName(), c.isa());
            Shape outShape = conv.outputShape(inShape);
            Tensor input = RandomTensors.tensor(arena, inShape, c.layout(), x);
            Tensor shortcut = c.residual() == Residual.NONE ? null : RandomTensors.tensor(arena, outShape, c.layout(),
                    RandomTensors.uniform(random, outShape.elementCount(), c.amplitude()));
            Result expected = ReferenceConv2d.run(p, input, w, b, shortcut);

            Tensor out = c.residual() == Residual.IN_PLACE
                    ? shortcut.toLayout(arena, c.layout())
                    : RandomTensors.poisoned(arena, outShape, c.layout());
            Tensor residual = switch (c.residual()) {
                case NONE -> null;
                case SEPARATE -> shortcut;
                case IN_PLACE -> out;
            };
            conv.apply(input, residual, out, context);

            assertWithinTolerance(c.toString(), expected, RandomTensors.toNchw(out));
            assertArrayEquals(x, RandomTensors.toNchw(input), c + ": the input was modified");
            return conv.kernelName();
        }
    }

    static List<ConvCase> standardCases() {
        Random r = new Random(SEED);
        List<ConvCase> cases = new ArrayList<>();
        for (int i = 0; i < 150; i++) {
            long groups = pick(r, 1L, 1L, 1L, 2L, 3L);
            long kh = 1 + r.nextInt(5);
            long kw = r.nextInt(3) == 0 ? kh : 1 + r.nextInt(5);
            Conv2dParams p = new Conv2dParams(groups * (1 + r.nextInt(4)), groups * (1 + r.nextInt(4)), kh, kw,
                    stride(r), stride(r), dilation(r), dilation(r), groups, padding(r), pick(r, Activation.values()));
            cases.add(randomCase(r, "", p, IsaLevels.cycle(i)));
        }
        return cases;
    }

    static List<ConvCase> depthwiseCases() {
        Random r = new Random(SEED + 1);
        List<ConvCase> cases = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            long channels = 1 + r.nextInt(6);
            long kh = 1 + r.nextInt(5);
            long kw = r.nextBoolean() ? kh : 1 + r.nextInt(5);
            Conv2dParams p = DepthwiseConv2d.builder(channels, kh, kw).multiplier(1 + r.nextInt(3))
                    .stride(stride(r), stride(r)).dilation(dilation(r), dilation(r)).padding(padding(r))
                    .activation(pick(r, Activation.values())).params();
            boolean unpadded = !(p.padding() instanceof Padding.Explicit e)
                    || (e.top() == 0 && e.left() == 0 && e.bottom() == 0 && e.right() == 0);
            if (kh == 1 && kw == 1 && channels == 1 && unpadded) {
                continue; // an unpadded 1x1 single-channel conv (any stride) is pointwise, not depthwise
            }
            cases.add(randomCase(r, "", p, IsaLevels.cycle(i)));
        }
        return cases;
    }

    static List<ConvCase> pointwiseCases() {
        Random r = new Random(SEED + 2);
        List<ConvCase> cases = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            Conv2dParams p = PointwiseConv2d.builder(1 + r.nextInt(40), 1 + r.nextInt(40))
                    .activation(pick(r, Activation.values())).params();
            // Up to 24x24 pixels: runs shorter and longer than the 32-pixel tile, several tasks.
            cases.add(new ConvCase("", p, 1 + r.nextInt(3), 1 + r.nextInt(24), 1 + r.nextInt(24), pick(r, Layout.values()),
                    r.nextBoolean(), pick(r, Residual.values()), amplitude(r, p.activation()), r.nextLong(),
                    IsaLevels.cycle(i)));
        }
        // Strided 1x1 without padding: the pointwise kernels on the gathered pixels.
        Random s = new Random(SEED + 8);
        for (int i = 0; i < 12; i++) {
            Conv2dParams p = conv(1 + s.nextInt(40), 1 + s.nextInt(40), 1, 1, 1 + s.nextInt(3), 2 + s.nextInt(2), 1, 1, 1,
                    s.nextBoolean() ? Padding.VALID : Padding.SAME, pick(s, Activation.values()));
            cases.add(new ConvCase("strided", p, 1 + s.nextInt(3), 1 + s.nextInt(40), 1 + s.nextInt(40),
                    pick(s, Layout.values()), s.nextBoolean(), pick(s, Residual.values()), amplitude(s, p.activation()),
                    s.nextLong(), IsaLevels.cycle(i)));
        }
        return cases;
    }

    static List<ConvCase> edgeCases() {
        Random r = new Random(SEED + 3);
        List<ConvCase> cases = new ArrayList<>();
        for (Layout layout : Layout.values()) {
            // 1x1 inputs
            edge(cases, r, layout, "1x1 input, 3x3 same", conv(3, 4, 3, 3, 1, 1, 1, 1, 1, Padding.SAME, Activation.RELU), 2, 1, 1);
            edge(cases, r, layout, "1x1 input, 3x3 full", conv(3, 4, 3, 3, 1, 1, 1, 1, 1, Padding.FULL, Activation.NONE), 1, 1, 1);
            edge(cases, r, layout, "1x1 input, 1x1 kernel", conv(5, 3, 1, 1, 1, 1, 1, 1, 1, Padding.VALID, Activation.NONE), 3, 1, 1);
            edge(cases, r, layout, "1x1 input, stride 2 same", conv(2, 2, 3, 3, 2, 2, 1, 1, 1, Padding.SAME, Activation.NONE), 1, 1, 1);
            edge(cases, r, layout, "1x1 input, explicit pads", conv(2, 3, 2, 3, 1, 1, 1, 1, 1, Padding.explicit(1, 2, 0, 0), Activation.NONE), 2, 1, 1);
            edge(cases, r, layout, "1x1 input, depthwise full", conv(4, 8, 3, 3, 1, 1, 2, 2, 4, Padding.FULL, Activation.NONE), 1, 1, 1);
            // asymmetric explicit padding
            edge(cases, r, layout, "asymmetric pads", conv(4, 6, 3, 2, 1, 1, 1, 1, 2, Padding.explicit(0, 2, 3, 1), Activation.NONE), 2, 6, 5);
            edge(cases, r, layout, "asymmetric pads, stride 2", conv(3, 5, 3, 3, 2, 2, 1, 1, 1, Padding.explicit(3, 0, 1, 2), Activation.RELU), 1, 7, 9);
            edge(cases, r, layout, "pads wider than the kernel", conv(2, 3, 3, 3, 1, 1, 1, 1, 1, Padding.explicit(4, 5, 4, 5), Activation.NONE), 1, 3, 4);
            edge(cases, r, layout, "depthwise asymmetric pads", conv(3, 6, 3, 5, 1, 2, 1, 1, 3, Padding.explicit(2, 0, 0, 4), Activation.NONE), 2, 5, 8);
            // strides
            edge(cases, r, layout, "stride 3 > kernel 2", conv(3, 4, 2, 2, 3, 3, 1, 1, 1, Padding.VALID, Activation.NONE), 2, 11, 10);
            edge(cases, r, layout, "1x1 kernel, stride 4", conv(3, 5, 1, 1, 4, 4, 1, 1, 1, Padding.VALID, Activation.NONE), 1, 9, 13);
            edge(cases, r, layout, "stride larger than the input", conv(2, 3, 3, 3, 7, 9, 1, 1, 1, Padding.SAME, Activation.NONE), 1, 5, 6);
            edge(cases, r, layout, "stride 3x1, kernel 1x5", conv(2, 2, 1, 5, 3, 1, 1, 1, 1, Padding.SAME, Activation.NONE), 1, 8, 9);
            edge(cases, r, layout, "depthwise stride 4 > kernel 3", conv(5, 5, 3, 3, 4, 4, 1, 1, 5, Padding.SAME, Activation.NONE), 2, 13, 11);
            // dilation
            edge(cases, r, layout, "dilation 3", conv(3, 4, 3, 3, 1, 1, 3, 3, 1, Padding.VALID, Activation.NONE), 1, 9, 11);
            edge(cases, r, layout, "dilation 2x4, full", conv(2, 3, 2, 3, 1, 1, 2, 4, 1, Padding.FULL, Activation.NONE), 1, 4, 5);
            edge(cases, r, layout, "dilation 2, stride 2, same", conv(4, 4, 3, 3, 2, 2, 2, 2, 2, Padding.SAME, Activation.NONE), 2, 10, 9);
            edge(cases, r, layout, "dilated depthwise", conv(4, 4, 3, 3, 1, 1, 3, 2, 4, Padding.SAME, Activation.NONE), 1, 9, 7);
            // even kernels
            edge(cases, r, layout, "even kernel, same", conv(3, 3, 2, 2, 1, 1, 1, 1, 1, Padding.SAME, Activation.NONE), 1, 7, 7);
            edge(cases, r, layout, "even kernel, stride 2, same", conv(2, 4, 4, 4, 2, 2, 1, 1, 1, Padding.SAME, Activation.NONE), 1, 9, 8);
            edge(cases, r, layout, "even kernel, full", conv(2, 2, 4, 2, 1, 1, 1, 1, 1, Padding.FULL, Activation.NONE), 1, 5, 3);
            // paths
            edge(cases, r, layout, "grouped 1x1", conv(8, 12, 1, 1, 1, 1, 1, 1, 4, Padding.VALID, Activation.NONE), 2, 5, 7);
            edge(cases, r, layout, "depthwise multiplier 3", conv(5, 15, 3, 3, 1, 1, 2, 2, 5, Padding.SAME, Activation.NONE), 1, 8, 9);
            edge(cases, r, layout, "one input channel", conv(1, 8, 3, 3, 1, 1, 1, 1, 1, Padding.SAME, Activation.NONE), 2, 6, 7);
            edge(cases, r, layout, "1x1 with explicit zero pads", conv(6, 5, 1, 1, 1, 1, 1, 1, 1, Padding.explicit(0, 0, 0, 0), Activation.NONE), 1, 5, 5);
            edge(cases, r, layout, "1x1 with explicit pads", conv(6, 5, 1, 1, 1, 1, 1, 1, 1, Padding.explicit(1, 0, 2, 1), Activation.NONE), 1, 5, 5);
            // several tasks per run
            edge(cases, r, layout, "direct, several tasks", conv(8, 16, 3, 3, 1, 1, 1, 1, 1, Padding.SAME, Activation.RELU), 2, 20, 20);
            edge(cases, r, layout, "pointwise, several tasks", conv(32, 40, 1, 1, 1, 1, 1, 1, 1, Padding.VALID, Activation.NONE), 2, 24, 24);
            edge(cases, r, layout, "depthwise, several tasks", conv(32, 64, 3, 3, 1, 1, 1, 1, 32, Padding.SAME, Activation.NONE), 1, 24, 24);
            // activations: large values, so that RELU6 clamps
            edge(cases, r, layout, "relu6 clamps", conv(8, 8, 3, 3, 1, 1, 1, 1, 1, Padding.SAME, Activation.RELU6), 1, 7, 7);
            edge(cases, r, layout, "relu6 clamps, depthwise", conv(8, 8, 3, 3, 1, 1, 1, 1, 8, Padding.SAME, Activation.RELU6), 1, 7, 7);
            edge(cases, r, layout, "relu6 clamps, pointwise", conv(16, 8, 1, 1, 1, 1, 1, 1, 1, Padding.VALID, Activation.RELU6), 1, 7, 7);
        }
        // Every case above once more with each kind of residual, in NHWC and NCHW alternately.
        List<ConvCase> withResidual = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            ConvCase c = cases.get(i);
            Residual residual = i % 2 == 0 ? Residual.SEPARATE : Residual.IN_PLACE;
            withResidual.add(new ConvCase(c.label(), c.params(), c.batch(), c.inH(), c.inW(), c.layout(), !c.bias(),
                    residual, c.amplitude(), r.nextLong(), c.isa()));
        }
        cases.addAll(withResidual);
        return atEveryLevel(cases, ConvCase::withIsa);
    }

    /**
     * Channel counts and widths equal to, one below and one above the SIMD kernels' tiles (14
     * pixels × 32 channels for direct conv, 8×48 and 6×64 for pointwise, 16 channels for
     * depthwise), with the layers of real networks among them, at every ISA level.
     */
    static List<ConvCase> simdTileCases() {
        Random r = new Random(SEED + 7);
        List<ConvCase> cases = new ArrayList<>();
        for (Layout layout : Layout.values()) {
            // direct
            edge(cases, r, layout, "stem 3x3 s2", conv(3, 32, 3, 3, 2, 2, 1, 1, 1, Padding.SAME, Activation.RELU), 1, 31, 29);
            edge(cases, r, layout, "stem 7x7 s2", conv(3, 64, 7, 7, 2, 2, 1, 1, 1, Padding.explicit(3, 3, 3, 3), Activation.NONE), 1, 29, 31);
            edge(cases, r, layout, "oc 33, width 14", conv(16, 33, 3, 3, 1, 1, 1, 1, 1, Padding.SAME, Activation.NONE), 2, 15, 14);
            edge(cases, r, layout, "oc 64, widths 14 and 28", conv(17, 64, 3, 3, 1, 1, 1, 1, 1, Padding.VALID, Activation.RELU), 1, 16, 30);
            edge(cases, r, layout, "oc 31, width 15", conv(32, 31, 3, 3, 1, 1, 1, 1, 1, Padding.SAME, Activation.NONE), 1, 13, 15);
            edge(cases, r, layout, "oc 65, 5x5 asymmetric pads", conv(32, 65, 5, 5, 1, 1, 1, 1, 1, Padding.explicit(2, 1, 2, 3), Activation.NONE), 1, 13, 17);
            edge(cases, r, layout, "groups 2 of 32", conv(64, 64, 3, 3, 1, 1, 1, 1, 2, Padding.SAME, Activation.NONE), 1, 15, 15);
            edge(cases, r, layout, "1x1 stride 2 downsample", conv(32, 48, 1, 1, 2, 2, 1, 1, 1, Padding.VALID, Activation.NONE), 2, 15, 29);
            edge(cases, r, layout, "dilated, oc 31", conv(16, 31, 3, 3, 1, 1, 2, 2, 1, Padding.SAME, Activation.NONE), 1, 17, 19);
            edge(cases, r, layout, "3x3 s2, oc 96", conv(24, 96, 3, 3, 2, 2, 1, 1, 1, Padding.SAME, Activation.RELU6), 1, 29, 28);
            // input channels in several chunks of the reduction (partial sums carried between chunks)
            edge(cases, r, layout, "ic 64, 3x3", conv(64, 32, 3, 3, 1, 1, 1, 1, 1, Padding.SAME, Activation.NONE), 1, 9, 15);
            edge(cases, r, layout, "ic 20, 7x7", conv(20, 16, 7, 7, 1, 1, 1, 1, 1, Padding.SAME, Activation.RELU), 1, 11, 14);
            edge(cases, r, layout, "ic 50, 3x3 s2, groups 2", conv(100, 34, 3, 3, 2, 2, 1, 1, 2, Padding.SAME, Activation.NONE), 1, 13, 16);
            // pointwise
            edge(cases, r, layout, "pw 7->47", conv(7, 47, 1, 1, 1, 1, 1, 1, 1, Padding.VALID, Activation.NONE), 1, 5, 5);
            edge(cases, r, layout, "pw 64->48", conv(64, 48, 1, 1, 1, 1, 1, 1, 1, Padding.VALID, Activation.RELU), 2, 6, 7);
            edge(cases, r, layout, "pw 16->49", conv(16, 49, 1, 1, 1, 1, 1, 1, 1, Padding.VALID, Activation.NONE), 1, 9, 9);
            edge(cases, r, layout, "pw 64->64, 6 pixels", conv(64, 64, 1, 1, 1, 1, 1, 1, 1, Padding.VALID, Activation.NONE), 1, 1, 6);
            edge(cases, r, layout, "pw 33->65", conv(33, 65, 1, 1, 1, 1, 1, 1, 1, Padding.VALID, Activation.RELU6), 1, 7, 8);
            edge(cases, r, layout, "pw 96->128", conv(96, 128, 1, 1, 1, 1, 1, 1, 1, Padding.VALID, Activation.NONE), 1, 7, 7);
            edge(cases, r, layout, "pw 1->97", conv(1, 97, 1, 1, 1, 1, 1, 1, 1, Padding.VALID, Activation.NONE), 1, 3, 11);
            edge(cases, r, layout, "pw 128->16, 196 pixels", conv(128, 16, 1, 1, 1, 1, 1, 1, 1, Padding.VALID, Activation.NONE), 1, 14, 14);
            // depthwise
            edge(cases, r, layout, "dw 16", conv(16, 16, 3, 3, 1, 1, 1, 1, 16, Padding.SAME, Activation.RELU6), 1, 15, 15);
            edge(cases, r, layout, "dw 33 x2, 5x5 s2", conv(33, 66, 5, 5, 2, 2, 1, 1, 33, Padding.SAME, Activation.NONE), 1, 17, 29);
            edge(cases, r, layout, "dw 17, dilation 2", conv(17, 17, 3, 3, 1, 1, 2, 2, 17, Padding.SAME, Activation.NONE), 2, 14, 15);
        }
        // The same problems with a residual added in place.
        List<ConvCase> withResidual = new ArrayList<>();
        for (ConvCase c : cases) {
            withResidual.add(new ConvCase(c.label(), c.params(), c.batch(), c.inH(), c.inW(), c.layout(), false,
                    Residual.IN_PLACE, c.amplitude(), r.nextLong(), c.isa()));
        }
        cases.addAll(withResidual);
        return atEveryLevel(cases, ConvCase::withIsa);
    }

    private static void edge(List<ConvCase> cases, Random r, Layout layout, String label, Conv2dParams p,
                             long batch, long inH, long inW) {
        cases.add(new ConvCase(label, p, batch, inH, inW, layout, true, Residual.NONE,
                p.activation() == Activation.RELU6 ? 4f : 1f, r.nextLong(), IsaLevels.top()));
    }

    // ---- SeparableConv2d ------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("separableCases")
    void separableConvolution(SeparableCase c) {
        Random random = new Random(c.seed());
        SeparableConv2dParams p = c.params();
        Shape inShape = c.inputShape();
        float[] x = RandomTensors.uniform(random, inShape.elementCount(), c.amplitude());
        float[] dw = RandomTensors.uniform(random, p.depthwise().weightShape().elementCount(), 1f);
        float[] db = c.depthwiseBias() ? RandomTensors.uniform(random, p.depthwiseChannels(), 1f) : null;
        float[] pw = RandomTensors.uniform(random, p.pointwise().weightShape().elementCount(), 1f);
        float[] pb = c.pointwiseBias() ? RandomTensors.uniform(random, p.outChannels(), 1f) : null;
        try (Arena arena = Arena.ofConfined();
             SeparableConv2d sep = IsaLevels.build(c.isa(), () -> SeparableConv2d.create(p, dw, db, pw, pb))) {
            assertKernelWithin(c, sep.kernelName(), c.isa());
            Tensor input = RandomTensors.tensor(arena, inShape, c.layout(), x);
            Result expected = ReferenceSeparableConv2d.run(p, input, dw, db, pw, pb);
            Tensor out = RandomTensors.poisoned(arena, sep.outputShape(inShape), c.layout());
            sep.apply(input, out, context);
            assertWithinTolerance(c.toString(), expected, RandomTensors.toNchw(out));
            assertArrayEquals(x, RandomTensors.toNchw(input), c + ": the input was modified");
        }
    }

    static List<SeparableCase> separableCases() {
        Random r = new Random(SEED + 4);
        List<SeparableCase> cases = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            long kh = 1 + r.nextInt(5);
            long kw = r.nextBoolean() ? kh : 1 + r.nextInt(5);
            SeparableConv2dParams p = SeparableConv2d.builder(1 + r.nextInt(6), 1 + r.nextInt(8), kh, kw)
                    .multiplier(1 + r.nextInt(3)).stride(stride(r), stride(r)).dilation(dilation(r), dilation(r))
                    .padding(padding(r)).depthwiseActivation(pick(r, Activation.values()))
                    .activation(pick(r, Activation.values())).params();
            Conv2dParams dw = p.depthwise();
            long inH = Math.max(1 + r.nextInt(12), minimumInput(dw.padding(), dw.kernelH(), dw.dilationH(), true));
            long inW = Math.max(1 + r.nextInt(12), minimumInput(dw.padding(), dw.kernelW(), dw.dilationW(), false));
            boolean large = p.depthwiseActivation() == Activation.RELU6 || p.activation() == Activation.RELU6;
            cases.add(new SeparableCase("", p, 1 + r.nextInt(3), inH, inW, pick(r, Layout.values()), r.nextBoolean(),
                    r.nextBoolean(), large ? 4f : 1f, r.nextLong(), IsaLevels.cycle(i)));
        }
        List<SeparableCase> fixed = new ArrayList<>();
        // Every activation pair, and tiles of several rows per task and several tasks per image.
        for (Activation depthwise : Activation.values()) {
            for (Activation pointwise : Activation.values()) {
                for (Layout layout : Layout.values()) {
                    SeparableConv2dParams p = SeparableConv2d.builder(6, 5, 3).multiplier(2).padding(Padding.SAME)
                            .depthwiseActivation(depthwise).activation(pointwise).params();
                    fixed.add(new SeparableCase("activations", p, 2, 9, 7, layout, true, true, 4f, r.nextLong()));
                }
            }
        }
        for (Layout layout : Layout.values()) {
            SeparableConv2dParams p = SeparableConv2d.builder(32, 16, 3).multiplier(2).padding(Padding.SAME)
                    .depthwiseActivation(Activation.RELU).params();
            fixed.add(new SeparableCase("several tasks", p, 2, 32, 32, layout, true, true, 1f, r.nextLong()));
            SeparableConv2dParams stride2 = SeparableConv2d.builder(16, 8, 3).multiplier(4).stride(2)
                    .padding(Padding.SAME).relu().params();
            fixed.add(new SeparableCase("several tasks, stride 2", stride2, 2, 65, 66, layout, false, true, 1f, r.nextLong()));
            SeparableConv2dParams dilated = SeparableConv2d.builder(64, 4, 3).dilation(2)
                    .padding(Padding.explicit(1, 2, 3, 0)).depthwiseActivation(Activation.RELU6).params();
            fixed.add(new SeparableCase("several tasks, dilation, asymmetric pads", dilated, 1, 30, 40, layout, true,
                    false, 4f, r.nextLong()));
            SeparableConv2dParams strided = SeparableConv2d.builder(3, 4, 3, 2).stride(2, 3).dilation(2, 1)
                    .padding(Padding.explicit(0, 3, 2, 1)).params();
            fixed.add(new SeparableCase("stride, dilation, asymmetric pads", strided, 1, 11, 13, layout, false, true,
                    1f, r.nextLong()));
            SeparableConv2dParams tiny = SeparableConv2d.builder(2, 3, 3).padding(Padding.FULL).params();
            fixed.add(new SeparableCase("1x1 input", tiny, 1, 1, 1, layout, true, false, 1f, r.nextLong()));
            // Channel counts around the SIMD tiles of the depthwise and pointwise kernels.
            SeparableConv2dParams wide = SeparableConv2d.builder(32, 65, 3).padding(Padding.SAME)
                    .depthwiseActivation(Activation.RELU).params();
            fixed.add(new SeparableCase("SIMD tiles", wide, 1, 15, 14, layout, true, true, 1f, r.nextLong()));
            SeparableConv2dParams wideStrided = SeparableConv2d.builder(17, 48, 5).multiplier(2).stride(2)
                    .padding(Padding.SAME).relu().params();
            fixed.add(new SeparableCase("SIMD tiles, stride 2", wideStrided, 2, 29, 30, layout, false, true, 1f,
                    r.nextLong()));
        }
        cases.addAll(atEveryLevel(fixed, SeparableCase::withIsa));
        return cases;
    }

    // ---- exact data -----------------------------------------------------------------------------

    /** Small-integer data: every product and partial sum is an exact float, so the result is too. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("exactCases")
    void exactOnIntegerData(ConvCase c) {
        Random random = new Random(c.seed());
        Conv2dParams p = c.params();
        Shape inShape = c.inputShape();
        float[] x = RandomTensors.integers(random, inShape.elementCount(), 4);
        float[] w = RandomTensors.integers(random, p.weightShape().elementCount(), 3);
        float[] b = c.bias() ? RandomTensors.integers(random, p.outChannels(), 5) : null;
        try (Arena arena = Arena.ofConfined(); Conv2d conv = IsaLevels.build(c.isa(), () -> Conv2d.create(p, w, b))) {
            Shape outShape = conv.outputShape(inShape);
            Tensor input = RandomTensors.tensor(arena, inShape, c.layout(), x);
            Tensor out = c.residual() == Residual.NONE ? RandomTensors.poisoned(arena, outShape, c.layout())
                    : RandomTensors.tensor(arena, outShape, c.layout(), RandomTensors.integers(random, outShape.elementCount(), 9));
            Result expected = ReferenceConv2d.run(p, input, w, b, c.residual() == Residual.NONE ? null : out);
            conv.apply(input, c.residual() == Residual.NONE ? null : out, out, context);
            assertExact(c.toString(), expected, RandomTensors.toNchw(out));
        }
    }

    static List<ConvCase> exactCases() {
        Random r = new Random(SEED + 5);
        List<ConvCase> cases = new ArrayList<>();
        for (Layout layout : Layout.values()) {
            exact(cases, r, layout, "conv", conv(8, 6, 3, 3, 1, 1, 1, 1, 1, Padding.SAME, Activation.NONE), 2, 9, 7, Residual.NONE);
            exact(cases, r, layout, "conv, stride, dilation, groups", conv(6, 4, 3, 5, 2, 1, 1, 2, 2, Padding.explicit(1, 0, 2, 3), Activation.NONE), 2, 11, 10, Residual.NONE);
            exact(cases, r, layout, "conv, full, relu", conv(4, 5, 4, 4, 1, 1, 1, 1, 1, Padding.FULL, Activation.RELU), 1, 6, 5, Residual.NONE);
            exact(cases, r, layout, "conv, residual in place, relu6", conv(8, 8, 3, 3, 1, 1, 1, 1, 1, Padding.SAME, Activation.RELU6), 1, 8, 8, Residual.IN_PLACE);
            exact(cases, r, layout, "depthwise", conv(12, 12, 3, 3, 1, 1, 1, 1, 12, Padding.SAME, Activation.NONE), 2, 9, 11, Residual.NONE);
            exact(cases, r, layout, "depthwise multiplier 2, stride 2", conv(5, 10, 5, 5, 2, 2, 1, 1, 5, Padding.SAME, Activation.NONE), 1, 13, 12, Residual.NONE);
            exact(cases, r, layout, "depthwise, residual in place", conv(16, 16, 3, 3, 1, 1, 2, 2, 16, Padding.SAME, Activation.RELU), 1, 10, 10, Residual.IN_PLACE);
            exact(cases, r, layout, "pointwise", conv(24, 20, 1, 1, 1, 1, 1, 1, 1, Padding.VALID, Activation.NONE), 2, 9, 7, Residual.NONE);
            exact(cases, r, layout, "pointwise, several tasks", conv(32, 40, 1, 1, 1, 1, 1, 1, 1, Padding.VALID, Activation.NONE), 1, 24, 24, Residual.NONE);
            exact(cases, r, layout, "pointwise, residual in place", conv(16, 16, 1, 1, 1, 1, 1, 1, 1, Padding.VALID, Activation.RELU), 2, 6, 11, Residual.IN_PLACE);
            exact(cases, r, layout, "conv, full SIMD tiles", conv(32, 64, 3, 3, 1, 1, 1, 1, 1, Padding.SAME, Activation.NONE), 1, 14, 28, Residual.NONE);
            exact(cases, r, layout, "pointwise, full SIMD tiles", conv(64, 96, 1, 1, 1, 1, 1, 1, 1, Padding.VALID, Activation.NONE), 1, 8, 12, Residual.NONE);
        }
        return atEveryLevel(cases, ConvCase::withIsa);
    }

    private static void exact(List<ConvCase> cases, Random r, Layout layout, String label, Conv2dParams p,
                              long batch, long inH, long inW, Residual residual) {
        cases.add(new ConvCase(label, p, batch, inH, inW, layout, true, residual, 4f, r.nextLong(), IsaLevels.top()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("exactSeparableCases")
    void separableExactOnIntegerData(SeparableCase c) {
        Random random = new Random(c.seed());
        SeparableConv2dParams p = c.params();
        Shape inShape = c.inputShape();
        float[] x = RandomTensors.integers(random, inShape.elementCount(), 4);
        float[] dw = RandomTensors.integers(random, p.depthwise().weightShape().elementCount(), 3);
        float[] db = RandomTensors.integers(random, p.depthwiseChannels(), 5);
        float[] pw = RandomTensors.integers(random, p.pointwise().weightShape().elementCount(), 3);
        float[] pb = RandomTensors.integers(random, p.outChannels(), 5);
        try (Arena arena = Arena.ofConfined();
             SeparableConv2d sep = IsaLevels.build(c.isa(), () -> SeparableConv2d.create(p, dw, db, pw, pb))) {
            Tensor input = RandomTensors.tensor(arena, inShape, c.layout(), x);
            Tensor out = RandomTensors.poisoned(arena, sep.outputShape(inShape), c.layout());
            sep.apply(input, out, context);
            assertExact(c.toString(), ReferenceSeparableConv2d.run(p, input, dw, db, pw, pb), RandomTensors.toNchw(out));
        }
    }

    static List<SeparableCase> exactSeparableCases() {
        Random r = new Random(SEED + 6);
        List<SeparableCase> cases = new ArrayList<>();
        for (Layout layout : Layout.values()) {
            cases.add(new SeparableCase("exact", SeparableConv2d.builder(8, 12, 3).multiplier(2).stride(2)
                    .padding(Padding.SAME).depthwiseActivation(Activation.RELU6).relu().params(),
                    2, 11, 9, layout, true, true, 4f, r.nextLong()));
        }
        return atEveryLevel(cases, SeparableCase::withIsa);
    }

    // ---- case generation ------------------------------------------------------------------------

    /** Each case once per ISA level (same data), lowest level first. */
    static <C> List<C> atEveryLevel(List<C> cases, BiFunction<C, Isa, C> withIsa) {
        List<C> all = new ArrayList<>();
        for (Isa isa : IsaLevels.all()) {
            for (C c : cases) {
                all.add(withIsa.apply(c, isa));
            }
        }
        return all;
    }

    /** An operator built under an ISA limit never runs a kernel above it. */
    static void assertKernelWithin(Object problem, String kernelName, Isa limit) {
        assertTrue(IsaLevels.of(kernelName).compareTo(limit) <= 0,
                problem + ": kernel " + kernelName + " is above the ISA limit " + limit);
    }

    static Conv2dParams conv(long in, long out, long kh, long kw, long sh, long sw, long dh, long dw, long groups,
                             Padding padding, Activation activation) {
        return new Conv2dParams(in, out, kh, kw, sh, sw, dh, dw, groups, padding, activation);
    }

    /** Random batch, size that fits the kernel, layout, bias, residual and data seed for {@code p}, built at {@code isa}. */
    private static ConvCase randomCase(Random r, String label, Conv2dParams p, Isa isa) {
        long inH = Math.max(1 + r.nextInt(13), minimumInput(p.padding(), p.kernelH(), p.dilationH(), true));
        long inW = Math.max(1 + r.nextInt(13), minimumInput(p.padding(), p.kernelW(), p.dilationW(), false));
        return new ConvCase(label, p, 1 + r.nextInt(3), inH, inW, pick(r, Layout.values()), r.nextBoolean(),
                pick(r, Residual.NONE, Residual.NONE, Residual.SEPARATE, Residual.IN_PLACE),
                amplitude(r, p.activation()), r.nextLong(), isa);
    }

    /** The smallest input size along one axis that gives an output of at least 1. */
    static long minimumInput(Padding padding, long kernel, long dilation, boolean vertical) {
        long extent = (kernel - 1) * dilation + 1;
        if (padding instanceof Padding.Explicit e) {
            long pads = vertical ? e.top() + e.bottom() : e.left() + e.right();
            return Math.max(1, extent - pads);
        }
        return padding == Padding.VALID ? extent : 1;
    }

    /** Mostly 1 or 2, sometimes larger than any kernel. */
    private static long stride(Random r) {
        return r.nextInt(6) == 0 ? 4 + r.nextInt(3) : 1 + r.nextInt(3);
    }

    private static long dilation(Random r) {
        return r.nextInt(3) == 0 ? 2 + r.nextInt(2) : 1;
    }

    private static Padding padding(Random r) {
        return switch (r.nextInt(5)) {
            case 0 -> Padding.VALID;
            case 1 -> Padding.SAME;
            case 2 -> Padding.FULL;
            default -> Padding.explicit(r.nextInt(4), r.nextInt(4), r.nextInt(4), r.nextInt(4));
        };
    }

    /** Inputs large enough that RELU6 clamps some outputs at 6. */
    private static float amplitude(Random r, Activation activation) {
        return activation == Activation.RELU6 || r.nextInt(4) == 0 ? 4f : 1f;
    }

    @SafeVarargs
    static <T> T pick(Random r, T... choices) {
        return choices[r.nextInt(choices.length)];
    }
}
