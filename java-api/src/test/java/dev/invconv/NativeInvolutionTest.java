package dev.invconv;

import dev.invconv.reference.ReferenceInvolution;
import dev.invconv.reference.ReferenceInvolution2d;
import dev.invconv.reference.Result;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static dev.invconv.ReferenceAssertions.assertExact;
import static dev.invconv.ReferenceAssertions.assertWithinModuleTolerance;
import static dev.invconv.ReferenceAssertions.assertWithinTolerance;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * The native involution aggregation and Involution2d module against the plain-Java float64
 * references: the aggregation within the operator tolerance of SPEC §3 (and bit for bit on
 * small-integer data), the module within the module tolerance of SPEC §8 (the reference's
 * magnitude covers only the aggregation, not the kernel generation). Operators are built at every
 * ISA level up to the active one ({@link IsaLevels}), so the scalar, AVX2 and AVX-512 paths are
 * all covered in one run.
 */
class NativeInvolutionTest {

    private static final long SEED = Long.getLong(NativeConvolutionTest.SEED_PROPERTY, 20_261_129L);

    private static Context context;

    @BeforeAll
    static void startContext() {
        context = Context.create(2);
    }

    @AfterAll
    static void stopContext() {
        context.close();
    }

    record AggregateCase(InvolutionParams params, long batch, long inH, long inW, Layout layout, long seed, Isa isa) {

        AggregateCase(InvolutionParams params, long batch, long inH, long inW, Layout layout, long seed) {
            this(params, batch, inH, inW, layout, seed, IsaLevels.top());
        }

        AggregateCase withIsa(Isa isa) {
            return new AggregateCase(params, batch, inH, inW, layout, seed, isa);
        }

        Shape inputShape() {
            return Shape.nchw(batch, params.channels(), inH, inW);
        }

        @Override
        public String toString() {
            return Problems.involution(params, batch, inH, inW, layout) + " seed=" + seed + " " + IsaLevels.describe(isa);
        }
    }

    record ModuleCase(Involution2dParams params, long batch, long inH, long inW, Layout layout, long seed, Isa isa) {

        ModuleCase(Involution2dParams params, long batch, long inH, long inW, Layout layout, long seed) {
            this(params, batch, inH, inW, layout, seed, IsaLevels.top());
        }

        ModuleCase withIsa(Isa isa) {
            return new ModuleCase(params, batch, inH, inW, layout, seed, isa);
        }

        Shape inputShape() {
            return Shape.nchw(batch, params.channels(), inH, inW);
        }

        @Override
        public String toString() {
            return Problems.involution2d(params, batch, inH, inW, layout) + " seed=" + seed + " " + IsaLevels.describe(isa);
        }
    }

    // ---- aggregation ----------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("aggregateCases")
    void aggregationMatchesTheReference(AggregateCase c) {
        Random random = new Random(c.seed());
        Shape inShape = c.inputShape();
        float[] x = RandomTensors.uniform(random, inShape.elementCount(), 1f);
        try (Arena arena = Arena.ofConfined();
             InvolutionAggregate op = IsaLevels.build(c.isa(), () -> InvolutionAggregate.create(c.params()))) {
            NativeConvolutionTest.assertKernelWithin(c, op.kernelName(), c.isa());
            Shape kernelsShape = op.kernelsShape(inShape);
            float[] k = RandomTensors.uniform(random, kernelsShape.elementCount(), 1f);
            Tensor input = RandomTensors.tensor(arena, inShape, c.layout(), x);
            Tensor kernels = RandomTensors.tensor(arena, kernelsShape, c.layout(), k);
            Tensor out = RandomTensors.poisoned(arena, op.outputShape(inShape), c.layout());
            op.apply(input, kernels, out, context);
            assertWithinTolerance(c.toString(), ReferenceInvolution.aggregate(c.params(), input, kernels),
                    RandomTensors.toNchw(out));
            assertArrayEquals(x, RandomTensors.toNchw(input), c + ": the input was modified");
            assertArrayEquals(k, RandomTensors.toNchw(kernels), c + ": the kernels were modified");
        }
    }

    /**
     * Every K in {1, 3, 5, 7, 9} × stride {1, 2} × dilation {1, 2} × group_channels {4, 8, 16, 32},
     * with one or two groups, batch 1 to 3, odd or even sizes (odd at stride 1 always), either layout.
     */
    static List<AggregateCase> aggregateCases() {
        Random r = new Random(SEED + 10);
        List<AggregateCase> cases = new ArrayList<>();
        for (long k : new long[] {1, 3, 5, 7, 9}) {
            for (long stride : new long[] {1, 2}) {
                for (long dilation : new long[] {1, 2}) {
                    for (long groupChannels : new long[] {4, 8, 16, 32}) {
                        long groups = groupChannels == 32 ? 1 : 1 + r.nextInt(2);
                        InvolutionParams p = new InvolutionParams(groupChannels * groups, k, stride, dilation, groupChannels);
                        long inH = stride == 1 ? 2L * r.nextInt(6) + 1 : 1 + r.nextInt(12);
                        long inW = stride == 1 ? 2L * r.nextInt(6) + 1 : 1 + r.nextInt(12);
                        cases.add(new AggregateCase(p, 1 + r.nextInt(3), inH, inW, NativeConvolutionTest.pick(r, Layout.values()),
                                r.nextLong(), IsaLevels.cycle(cases.size())));
                    }
                }
            }
        }
        // Several tasks per image (rows and channel blocks), and widths and channel blocks around the
        // SIMD tiles (14 or 12 pixels × 16 or 8 channels), in both layouts and at every ISA level.
        List<AggregateCase> fixed = new ArrayList<>();
        for (Layout layout : Layout.values()) {
            fixed.add(new AggregateCase(new InvolutionParams(64, 7, 1, 1, 16), 2, 15, 13, layout, r.nextLong()));
            fixed.add(new AggregateCase(new InvolutionParams(32, 3, 2, 1, 8), 1, 31, 29, layout, r.nextLong()));
            fixed.add(new AggregateCase(new InvolutionParams(64, 7, 1, 1, 16), 1, 14, 29, layout, r.nextLong()));
            fixed.add(new AggregateCase(new InvolutionParams(96, 5, 1, 2, 32), 1, 14, 14, layout, r.nextLong()));
            fixed.add(new AggregateCase(new InvolutionParams(16, 9, 1, 1, 16), 2, 13, 15, layout, r.nextLong()));
            fixed.add(new AggregateCase(new InvolutionParams(24, 3, 2, 2, 8), 1, 17, 31, layout, r.nextLong()));
            fixed.add(new AggregateCase(new InvolutionParams(40, 7, 2, 1, 8), 1, 28, 30, layout, r.nextLong()));
            fixed.add(new AggregateCase(new InvolutionParams(48, 3, 1, 1, 16), 1, 1, 27, layout, r.nextLong()));
            // Rows wide enough for NHWC input to be read in place between packed edges (AVX-512).
            fixed.add(new AggregateCase(new InvolutionParams(64, 7, 1, 1, 16), 1, 5, 43, layout, r.nextLong()));
            fixed.add(new AggregateCase(new InvolutionParams(32, 3, 2, 1, 16), 2, 6, 66, layout, r.nextLong()));
        }
        cases.addAll(NativeConvolutionTest.atEveryLevel(fixed, AggregateCase::withIsa));
        return cases;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("exactAggregateCases")
    void aggregationExactOnIntegerData(AggregateCase c) {
        Random random = new Random(c.seed());
        Shape inShape = c.inputShape();
        try (Arena arena = Arena.ofConfined();
             InvolutionAggregate op = IsaLevels.build(c.isa(), () -> InvolutionAggregate.create(c.params()))) {
            Shape kernelsShape = op.kernelsShape(inShape);
            Tensor input = RandomTensors.tensor(arena, inShape, c.layout(),
                    RandomTensors.integers(random, inShape.elementCount(), 4));
            Tensor kernels = RandomTensors.tensor(arena, kernelsShape, c.layout(),
                    RandomTensors.integers(random, kernelsShape.elementCount(), 3));
            Tensor out = RandomTensors.poisoned(arena, op.outputShape(inShape), c.layout());
            op.apply(input, kernels, out, context);
            assertExact(c.toString(), ReferenceInvolution.aggregate(c.params(), input, kernels), RandomTensors.toNchw(out));
        }
    }

    static List<AggregateCase> exactAggregateCases() {
        Random r = new Random(SEED + 11);
        List<AggregateCase> cases = new ArrayList<>();
        for (Layout layout : Layout.values()) {
            cases.add(new AggregateCase(new InvolutionParams(32, 7, 1, 1, 16), 2, 9, 11, layout, r.nextLong()));
            cases.add(new AggregateCase(new InvolutionParams(16, 3, 2, 2, 4), 1, 10, 9, layout, r.nextLong()));
            cases.add(new AggregateCase(new InvolutionParams(64, 7, 2, 1, 16), 1, 29, 30, layout, r.nextLong()));
            cases.add(new AggregateCase(new InvolutionParams(24, 3, 1, 1, 8), 2, 13, 15, layout, r.nextLong()));
        }
        return NativeConvolutionTest.atEveryLevel(cases, AggregateCase::withIsa);
    }

    // ---- Involution2d ---------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("moduleCases")
    void involution2dMatchesTheReference(ModuleCase c) {
        Random random = new Random(c.seed());
        Involution2dParams p = c.params();
        Shape inShape = c.inputShape();
        float[] x = RandomTensors.uniform(random, inShape.elementCount(), 1f);
        Map<String, float[]> parameters = randomParameters(random, p);
        try (Arena arena = Arena.ofConfined(); Involution2d op = IsaLevels.build(c.isa(), () -> Involution2d.create(p, parameters))) {
            NativeConvolutionTest.assertKernelWithin(c, op.kernelName(), c.isa());
            Tensor input = RandomTensors.tensor(arena, inShape, c.layout(), x);
            Result expected = ReferenceInvolution2d.run(p, input, parameters.get(Involution2d.REDUCE_WEIGHT),
                    parameters.get(Involution2d.BN_WEIGHT), parameters.get(Involution2d.BN_BIAS),
                    parameters.get(Involution2d.BN_RUNNING_MEAN), parameters.get(Involution2d.BN_RUNNING_VAR),
                    parameters.get(Involution2d.SPAN_WEIGHT), parameters.get(Involution2d.SPAN_BIAS));
            Tensor out = RandomTensors.poisoned(arena, op.outputShape(inShape), c.layout());
            op.apply(input, out, context);
            assertWithinModuleTolerance(c.toString(), expected, RandomTensors.toNchw(out));
            assertArrayEquals(x, RandomTensors.toNchw(input), c + ": the input was modified");
        }
    }

    /** K {3, 7} × stride {1, 2} × reduction ratio {1, 2, 4} × group_channels {8, 16} × both layouts. */
    static List<ModuleCase> moduleCases() {
        Random r = new Random(SEED + 12);
        List<ModuleCase> cases = new ArrayList<>();
        for (long k : new long[] {3, 7}) {
            for (long stride : new long[] {1, 2}) {
                for (long ratio : new long[] {1, 2, 4}) {
                    for (long groupChannels : new long[] {8, 16}) {
                        for (Layout layout : Layout.values()) {
                            long channels = groupChannels * (1 + r.nextInt(2));
                            Involution2dParams p = new Involution2dParams(channels, k, stride, 1, groupChannels, ratio, 1e-5);
                            // Stride 2 needs even sizes (the pooled size must equal the output size).
                            long inH = stride == 1 ? 1 + r.nextInt(11) : 2L * (1 + r.nextInt(6));
                            long inW = stride == 1 ? 1 + r.nextInt(11) : 2L * (1 + r.nextInt(6));
                            cases.add(new ModuleCase(p, 1 + r.nextInt(2), inH, inW, layout, r.nextLong(),
                                    IsaLevels.cycle(cases.size())));
                        }
                    }
                }
            }
        }
        // Several row tasks per image, dilation, the RedNet stem's shape (C=32, K=3, gc=16) and
        // RedNet's bottleneck shapes (K=7, gc=16), widths around the SIMD tiles, at every ISA level.
        List<ModuleCase> fixed = new ArrayList<>();
        for (Layout layout : Layout.values()) {
            fixed.add(new ModuleCase(new Involution2dParams(32, 7, 2, 1, 8, 4, 1e-5), 2, 32, 32, layout, r.nextLong()));
            fixed.add(new ModuleCase(new Involution2dParams(16, 3, 1, 2, 8, 2, 1e-5), 1, 9, 7, layout, r.nextLong()));
            fixed.add(new ModuleCase(Involution2dParams.of(32, 3, 1), 1, 16, 16, layout, r.nextLong()));
            fixed.add(new ModuleCase(Involution2dParams.of(64, 7, 1), 1, 14, 15, layout, r.nextLong()));
            fixed.add(new ModuleCase(Involution2dParams.of(64, 7, 2), 1, 28, 30, layout, r.nextLong()));
            fixed.add(new ModuleCase(new Involution2dParams(48, 3, 1, 1, 16, 2, 1e-5), 1, 15, 13, layout, r.nextLong()));
            fixed.add(new ModuleCase(new Involution2dParams(16, 3, 1, 1, 8, 1, 1e-5), 2, 29, 14, layout, r.nextLong()));
            // Rows wide enough for NHWC input to be read in place between packed edges (AVX-512).
            fixed.add(new ModuleCase(Involution2dParams.of(64, 7, 1), 1, 4, 44, layout, r.nextLong()));
            fixed.add(new ModuleCase(Involution2dParams.of(32, 3, 2), 1, 4, 64, layout, r.nextLong()));
        }
        cases.addAll(NativeConvolutionTest.atEveryLevel(fixed, ModuleCase::withIsa));
        return cases;
    }

    /** Random weights and BatchNorm statistics (positive variance, scales of both signs). */
    static Map<String, float[]> randomParameters(Random random, Involution2dParams p) {
        long reduced = p.reducedChannels();
        Map<String, float[]> parameters = new LinkedHashMap<>();
        parameters.put(Involution2d.REDUCE_WEIGHT, RandomTensors.uniform(random, p.reduceWeightShape().elementCount(),
                (float) (1 / Math.sqrt(p.channels()))));
        parameters.put(Involution2d.BN_WEIGHT, RandomTensors.uniform(random, reduced, 1.5f));
        parameters.put(Involution2d.BN_BIAS, RandomTensors.uniform(random, reduced, 0.5f));
        parameters.put(Involution2d.BN_RUNNING_MEAN, RandomTensors.uniform(random, reduced, 0.5f));
        parameters.put(Involution2d.BN_RUNNING_VAR, RandomTensors.between(random, reduced, 0.05f, 2f));
        parameters.put(Involution2d.SPAN_WEIGHT, RandomTensors.uniform(random, p.spanWeightShape().elementCount(),
                (float) (1 / Math.sqrt(reduced))));
        parameters.put(Involution2d.SPAN_BIAS, RandomTensors.uniform(random, p.spanChannels(), 0.2f));
        return parameters;
    }
}
