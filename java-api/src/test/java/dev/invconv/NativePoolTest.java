package dev.invconv;

import dev.invconv.bindings.invconv_h;
import dev.invconv.reference.ReferenceGlobalAveragePool;
import dev.invconv.reference.ReferencePool2d;
import dev.invconv.reference.Result;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static dev.invconv.ReferenceAssertions.assertBitIdentical;
import static dev.invconv.ReferenceAssertions.assertExact;
import static dev.invconv.ReferenceAssertions.assertWithinTolerance;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The native Pool2d and global average pooling against the plain-Java float64 references
 * (every padding mode, both kinds, count_include_pad both ways, both layouts), bit for bit on
 * small-integer data and for any thread count; Java's and C's validation agreeing on which
 * inputs fit and with the same messages; and the peak probe's sanity.
 */
class NativePoolTest {

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

    record PoolCase(Pool2dParams params, long batch, long inH, long inW, Layout layout, long seed) {

        Shape inputShape() {
            return Shape.nchw(batch, params.channels(), inH, inW);
        }

        @Override
        public String toString() {
            return Problems.pool2d(params, batch, inH, inW, layout) + " seed=" + seed;
        }
    }

    private static Padding randomPadding(Random r, long kernelH, long kernelW) {
        return switch (r.nextInt(4)) {
            case 0 -> Padding.VALID;
            case 1 -> Padding.SAME;
            case 2 -> Padding.FULL;
            default -> Padding.explicit(r.nextInt((int) kernelH), r.nextInt((int) kernelW),
                    r.nextInt((int) kernelH), r.nextInt((int) kernelW));
        };
    }

    private static Pool2dParams randomParams(Random r, PoolKind kind, boolean countIncludePad) {
        long kernelH = 1 + r.nextInt(5);
        long kernelW = 1 + r.nextInt(5);
        return new Pool2dParams(kind, 1 + r.nextInt(20), kernelH, kernelW, 1 + r.nextInt(3), 1 + r.nextInt(3),
                randomPadding(r, kernelH, kernelW), countIncludePad);
    }

    /** Random problems whose input fits: {MAX, AVERAGE incl., AVERAGE excl.} × 40, either layout. */
    static List<PoolCase> poolCases() {
        Random r = new Random(SEED + 20);
        List<PoolCase> cases = new ArrayList<>();
        for (int kindIndex = 0; kindIndex < 3; kindIndex++) {
            PoolKind kind = kindIndex == 0 ? PoolKind.MAX : PoolKind.AVERAGE;
            boolean countIncludePad = kindIndex == 1;
            while (cases.size() < 40 * (kindIndex + 1)) {
                Pool2dParams p = randomParams(r, kind, countIncludePad);
                long batch = 1 + r.nextInt(3);
                long inH = 1 + r.nextInt(14);
                long inW = 1 + r.nextInt(14);
                if (fits(p, Shape.nchw(batch, p.channels(), inH, inW))) {
                    cases.add(new PoolCase(p, batch, inH, inW, NativeConvolutionTest.pick(r, Layout.values()),
                            r.nextLong()));
                }
            }
        }
        // ResNet's stem pool, a SAME pool with odd sizes, a 7x7 average, a wide FULL one.
        for (Layout layout : Layout.values()) {
            cases.add(new PoolCase(Pool2dParams.max(64, 3, 2, Padding.explicit(1, 1, 1, 1)), 1, 56, 56, layout,
                    r.nextLong()));
            cases.add(new PoolCase(Pool2dParams.max(32, 3, 2, Padding.SAME), 2, 31, 30, layout, r.nextLong()));
            cases.add(new PoolCase(Pool2dParams.average(512, 7, 1, Padding.VALID, true), 2, 7, 7, layout,
                    r.nextLong()));
            cases.add(new PoolCase(new Pool2dParams(PoolKind.AVERAGE, 200, 3, 2, 1, 2, Padding.FULL, false), 1, 23,
                    37, layout, r.nextLong()));
        }
        return cases;
    }

    private static boolean fits(Pool2dParams p, Shape input) {
        try {
            p.outputShape(input);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("poolCases")
    void poolMatchesTheReference(PoolCase c) {
        Random random = new Random(c.seed());
        Shape inShape = c.inputShape();
        float[] x = RandomTensors.uniform(random, inShape.elementCount(), 2f);
        try (Arena arena = Arena.ofConfined(); Pool2d pool = Pool2d.create(c.params())) {
            Tensor input = RandomTensors.tensor(arena, inShape, c.layout(), x);
            Tensor out = RandomTensors.poisoned(arena, pool.outputShape(inShape), c.layout());
            pool.apply(input, out, context);
            Result expected = ReferencePool2d.run(c.params(), input);
            if (c.params().kind() == PoolKind.MAX) {
                assertExact(c.toString(), expected, RandomTensors.toNchw(out)); // a max is exact
            } else {
                assertWithinTolerance(c.toString(), expected, RandomTensors.toNchw(out));
            }
            assertArrayEquals(x, RandomTensors.toNchw(input), c + ": the input was modified");
            // The convenience overload gives the same bits, in the input's layout.
            Tensor y = pool.apply(input, arena);
            assertEquals(c.layout(), y.layout());
            assertBitIdentical(c.toString(), out.shape(), RandomTensors.toNchw(out), RandomTensors.toNchw(y));
        }
    }

    /** A mean of small integers is the correctly rounded quotient: bit equality with the reference. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("exactCases")
    void averageExactOnIntegerData(PoolCase c) {
        Random random = new Random(c.seed());
        Shape inShape = c.inputShape();
        try (Arena arena = Arena.ofConfined(); Pool2d pool = Pool2d.create(c.params())) {
            Tensor input = RandomTensors.tensor(arena, inShape, c.layout(),
                    RandomTensors.integers(random, inShape.elementCount(), 9));
            Tensor out = pool.apply(input, arena);
            assertExact(c.toString(), ReferencePool2d.run(c.params(), input), RandomTensors.toNchw(out));
        }
    }

    static List<PoolCase> exactCases() {
        Random r = new Random(SEED + 21);
        List<PoolCase> cases = new ArrayList<>();
        while (cases.size() < 24) {
            Pool2dParams p = randomParams(r, PoolKind.AVERAGE, r.nextBoolean());
            long inH = 1 + r.nextInt(12);
            long inW = 1 + r.nextInt(12);
            if (fits(p, Shape.nchw(1, p.channels(), inH, inW))) {
                cases.add(new PoolCase(p, 1 + r.nextInt(2), inH, inW, Layout.values()[cases.size() % 2], r.nextLong()));
            }
        }
        return cases;
    }

    @Test
    void semanticsOfPaddingAndDivisors() {
        try (Arena arena = Arena.ofConfined()) {
            float[] ramp = new float[16];
            for (int i = 0; i < ramp.length; i++) {
                ramp[i] = i;
            }
            Tensor x = Tensor.of(arena, Shape.nchw(1, 1, 4, 4), ramp);
            try (Pool2d max = Pool2d.max(1, 2, 2, Padding.VALID)) {
                assertArrayEquals(new float[] {5, 7, 13, 15}, max.apply(x, arena).toArray());
                assertTrue(max.kernelName().startsWith("f32_maxpool2d_"), max.kernelName());
            }
            // 3x3 SAME (pad 1): the corner window covers 0 1 4 5 — 10 / 9 with the padding, 10 / 4 without.
            try (Pool2d with = Pool2d.average(1, 3, 1, Padding.SAME, true);
                 Pool2d without = Pool2d.average(1, 3, 1, Padding.SAME, false)) {
                assertEquals((float) (10.0 / 9.0), with.apply(x, arena).get(0, 0, 0, 0));
                assertEquals(2.5f, without.apply(x, arena).get(0, 0, 0, 0));
                assertEquals(5f, with.apply(x, arena).get(0, 0, 1, 1));
                assertTrue(with.kernelName().startsWith("f32_avgpool2d_"), with.kernelName());
            }
            // Padding never wins a max, even over negative data.
            Tensor negative = Tensor.of(arena, Shape.nchw(1, 1, 2, 2), new float[] {-4, -3, -2, -1});
            try (Pool2d full = Pool2d.max(1, 2, 1, Padding.FULL)) {
                assertArrayEquals(new float[] {-4, -3, -3, -2, -1, -1, -2, -1, -1},
                        full.apply(negative, arena).toArray());
            }
        }
    }

    @Test
    void sameBitsForEveryThreadCount() {
        Pool2dParams[] params = {
                Pool2dParams.max(96, 3, 2, Padding.SAME),
                new Pool2dParams(PoolKind.AVERAGE, 150, 5, 3, 1, 2, Padding.explicit(2, 1, 2, 1), false),
        };
        Random random = new Random(SEED + 22);
        for (Pool2dParams p : params) {
            for (Layout layout : Layout.values()) {
                Shape in = Shape.nchw(2, p.channels(), 37, 41);
                try (Arena arena = Arena.ofConfined(); Pool2d pool = Pool2d.create(p)) {
                    Tensor input = RandomTensors.tensor(arena, in, layout,
                            RandomTensors.uniform(random, in.elementCount(), 3f));
                    float[] first = null;
                    for (int threads : new int[] {1, 2, 3, 7}) {
                        try (Context c = Context.create(threads)) {
                            Tensor out = RandomTensors.poisoned(arena, pool.outputShape(in), layout);
                            pool.apply(input, out, c);
                            float[] y = RandomTensors.toNchw(out);
                            if (first == null) {
                                first = y;
                            } else {
                                assertBitIdentical(Problems.pool2d(p, 2, 37, 41, layout) + " threads=" + threads,
                                        out.shape(), first, y);
                            }
                        }
                    }
                }
            }
        }
    }

    /** Java's outputShape and C's ic_pool2d_output_size accept exactly the same inputs. */
    @Test
    void javaAndNativeAgreeOnWhichInputsFit() {
        Random r = new Random(SEED + 23);
        int refused = 0;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sizes = arena.allocate(JAVA_LONG, 2);
            for (int i = 0; i < 400; i++) {
                long kernelH = 1 + r.nextInt(4);
                long kernelW = 1 + r.nextInt(4);
                // Bottom and right pads up to the kernel size: sometimes a last window in padding.
                Padding padding = r.nextInt(3) == 0 ? randomPadding(r, kernelH, kernelW)
                        : Padding.explicit(r.nextInt((int) kernelH), r.nextInt((int) kernelW),
                        r.nextInt((int) kernelH + 2), r.nextInt((int) kernelW + 2));
                Pool2dParams p = new Pool2dParams(PoolKind.MAX, 3, kernelH, kernelW, 1 + r.nextInt(4),
                        1 + r.nextInt(4), padding, false);
                Shape in = Shape.nchw(1, 3, 1 + r.nextInt(8), 1 + r.nextInt(8));
                try (Pool2d pool = Pool2d.create(p)) {
                    int status = invconv_h.ic_pool2d_output_size(pool.handle(), in.h(), in.w(), sizes,
                            sizes.asSlice(JAVA_LONG.byteSize()));
                    String problem = Problems.pool2d(p, 1, in.h(), in.w(), Layout.NCHW);
                    if (fits(p, in)) {
                        assertEquals(invconv_h.IC_STATUS_SUCCESS(), status, problem);
                        Shape out = p.outputShape(in);
                        assertEquals(out.h(), sizes.getAtIndex(JAVA_LONG, 0), problem);
                        assertEquals(out.w(), sizes.getAtIndex(JAVA_LONG, 1), problem);
                    } else {
                        refused++;
                        assertEquals(invconv_h.IC_STATUS_INVALID_ARGUMENT(), status, problem);
                        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                                () -> p.outputShape(in));
                        String nativeMessage = Status.string(invconv_h.ic_last_error());
                        if (nativeMessage.contains("entirely in padding")) {
                            assertEquals(nativeMessage, e.getMessage(), problem);
                        }
                    }
                }
            }
        }
        assertTrue(refused > 20, "only " + refused + " refused inputs: the test lost its edge");
    }

    // ---- global average pooling ---------------------------------------------------------------

    @Test
    void globalAveragePoolMatchesTheReference() {
        Random r = new Random(SEED + 24);
        for (int i = 0; i < 40; i++) {
            Shape in = Shape.nchw(1 + r.nextInt(3), 1 + r.nextInt(300), 1 + r.nextInt(10), 1 + r.nextInt(10));
            Layout layout = Layout.values()[i % 2];
            boolean exact = i % 4 < 2;
            String problem = "global_average_pool " + in + " " + layout + (exact ? " exact" : "");
            try (Arena arena = Arena.ofConfined()) {
                float[] x = exact ? RandomTensors.integers(r, in.elementCount(), 9)
                        : RandomTensors.uniform(r, in.elementCount(), 1f);
                Tensor input = RandomTensors.tensor(arena, in, layout, x);
                Tensor out = GlobalAveragePool.apply(input, arena);
                assertEquals(Shape.nchw(in.n(), in.c(), 1, 1), out.shape());
                assertEquals(layout, out.layout());
                Result expected = ReferenceGlobalAveragePool.run(input);
                if (exact) {
                    assertExact(problem, expected, out.toArray());
                } else {
                    assertWithinTolerance(problem, expected, out.toArray());
                }
                // [N, C, 1, 1] is the same memory in either layout: out may be in the other one.
                Layout other = layout == Layout.NCHW ? Layout.NHWC : Layout.NCHW;
                Tensor otherOut = RandomTensors.poisoned(arena, out.shape(), other);
                GlobalAveragePool.apply(input, otherOut, context);
                assertArrayEquals(out.toArray(), otherOut.toArray(), problem);
            }
        }
    }

    @Test
    void globalAveragePoolSameBitsForEveryThreadCount() {
        Shape in = Shape.nchw(2, 2048, 7, 7);
        try (Arena arena = Arena.ofConfined()) {
            for (Layout layout : Layout.values()) {
                Tensor input = RandomTensors.tensor(arena, in, layout,
                        RandomTensors.uniform(new Random(SEED + 25), in.elementCount(), 1f));
                float[] first = null;
                for (int threads : new int[] {1, 2, 5}) {
                    try (Context c = Context.create(threads)) {
                        Tensor out = Tensor.allocate(arena, GlobalAveragePool.outputShape(in), layout);
                        GlobalAveragePool.apply(input, out, c);
                        if (first == null) {
                            first = out.toArray();
                        } else {
                            assertBitIdentical("global_average_pool " + in + " threads=" + threads, out.shape(),
                                    first, out.toArray());
                        }
                    }
                }
            }
        }
    }

    // ---- errors -------------------------------------------------------------------------------

    private static void assertInvalid(String expected, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call, expected);
        assertTrue(e.getMessage().contains(expected),
                () -> "expected a message containing \"" + expected + "\" but got \"" + e.getMessage() + "\"");
    }

    @Test
    void invalidParametersAreNamed() {
        assertInvalid("pool2d: kernel_h=0", () -> Pool2dParams.max(4, 0, 1, Padding.VALID));
        assertInvalid("pool2d: channels=0", () -> Pool2dParams.max(0, 3, 1, Padding.VALID));
        assertInvalid("pool2d: stride_h=0", () -> Pool2dParams.average(4, 3, 0, Padding.VALID, true));
        assertInvalid("pool2d: kernel_w=-1",
                () -> new Pool2dParams(PoolKind.MAX, 4, 3, -1, 1, 1, Padding.VALID, false));
        assertInvalid("pool2d: count_include_pad=1 must be 0 for max pooling",
                () -> new Pool2dParams(PoolKind.MAX, 4, 3, 3, 1, 1, Padding.VALID, true));
        assertInvalid("pool2d: pad_top=3 must be less than kernel_h=3 (the first window would lie entirely in "
                + "padding)", () -> Pool2dParams.max(4, 3, 1, Padding.explicit(3, 0, 0, 0)));
        assertInvalid("pool2d: pad_left=2 must be less than kernel_w=2",
                () -> Pool2dParams.average(4, 2, 1, Padding.explicit(0, 2, 0, 0), false));
        assertThrows(NullPointerException.class, () -> Pool2dParams.max(4, 3, 1, null));
        assertThrows(NullPointerException.class,
                () -> new Pool2dParams(null, 4, 3, 3, 1, 1, Padding.VALID, false));

        Pool2dParams p = Pool2dParams.average(4, 2, 1, Padding.explicit(0, 0, 2, 0), true);
        assertInvalid("pool2d: the window of the last output row (input rows 5 to 6) lies entirely in padding: "
                + "in_h=5 with pad_bottom=2, kernel_h=2, stride_h=1", () -> p.outputShape(Shape.nchw(1, 4, 5, 5)));
        assertInvalid("pool2d: input [1, 3, 5, 5] has 3 channels but channels=4",
                () -> p.outputShape(Shape.nchw(1, 3, 5, 5)));
        assertInvalid("pool2d: input [1, 4, 1, 5] is too small",
                () -> Pool2dParams.max(4, 3, 1, Padding.VALID).outputShape(Shape.nchw(1, 4, 1, 5)));
    }

    @Test
    void badTensorsAreRefusedBeforeTheNativeCall() {
        try (Arena arena = Arena.ofConfined(); Pool2d pool = Pool2d.max(4, 3, 2, Padding.SAME)) {
            Tensor x = Tensor.allocate(arena, Shape.nchw(1, 4, 9, 9));
            assertInvalid("pool2d: out has shape [1, 4, 4, 4] but the output is [1, 4, 5, 5]",
                    () -> pool.apply(x, Tensor.allocate(arena, Shape.nchw(1, 4, 4, 4))));
            assertInvalid("pool2d: out is NHWC but the input is NCHW",
                    () -> pool.apply(x, Tensor.allocate(arena, Shape.nchw(1, 4, 5, 5), Layout.NHWC)));
            Tensor big = Tensor.allocate(arena, Shape.nchw(1, 4, 20, 20));
            Tensor inside = Tensor.wrap(big.segment().asSlice(0, Shape.nchw(1, 4, 9, 9).byteSize()),
                    Shape.nchw(1, 4, 9, 9), Layout.NCHW);
            Shape small = Shape.nchw(1, 4, 5, 5);
            Tensor overlapping = Tensor.wrap(big.segment().asSlice(100 * Float.BYTES, small.byteSize()), small,
                    Layout.NCHW);
            assertInvalid("pool2d: the output overlaps the input", () -> pool.apply(inside, overlapping));
            assertInvalid("pool2d: input is on the Java heap",
                    () -> pool.apply(Tensor.wrap(MemorySegment.ofArray(new float[324]), Shape.nchw(1, 4, 9, 9),
                            Layout.NCHW), arena));
            assertThrows(NullPointerException.class, () -> pool.apply(null, arena));
            assertThrows(NullPointerException.class, () -> pool.apply(x, x, null));
        }
        Pool2d closed = Pool2d.max(4, 3, 2, Padding.SAME);
        closed.close();
        closed.close(); // twice is fine
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.allocate(arena, Shape.nchw(1, 4, 9, 9));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> closed.apply(x, arena));
            assertTrue(e.getMessage().contains("pool2d is closed"), e.getMessage());
        }
    }

    @Test
    void globalAveragePoolChecksItsTensors() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.allocate(arena, Shape.nchw(2, 8, 3, 3));
            assertInvalid("global_average_pool: out has shape [2, 8, 1, 2] but the output is [2, 8, 1, 1]",
                    () -> GlobalAveragePool.apply(x, Tensor.allocate(arena, Shape.nchw(2, 8, 1, 2)), context));
            assertInvalid("global_average_pool: input is on the Java heap",
                    () -> GlobalAveragePool.apply(Tensor.wrap(MemorySegment.ofArray(new float[144]),
                            Shape.nchw(2, 8, 3, 3), Layout.NCHW), arena));
            Tensor inside = Tensor.wrap(x.segment().asSlice(0, 16 * Float.BYTES), Shape.nchw(2, 8, 1, 1), Layout.NCHW);
            assertInvalid("global_average_pool: the output overlaps the input",
                    () -> GlobalAveragePool.apply(x, inside, context));
            assertThrows(NullPointerException.class, () -> GlobalAveragePool.apply(null, arena));
            assertThrows(NullPointerException.class,
                    () -> GlobalAveragePool.apply(x, Tensor.allocate(arena, Shape.nchw(2, 8, 1, 1)), null));
            Tensor owned = Tensor.allocate(Shape.nchw(2, 8, 3, 3));
            owned.close();
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> GlobalAveragePool.apply(owned, arena));
            assertTrue(e.getMessage().contains("tensor is closed"), e.getMessage());
        }
    }

    // ---- peak ---------------------------------------------------------------------------------

    @Test
    void peakProbeIsPositiveAndPlausible() {
        double gflops = Invconv.measurePeakGflops(context, 0.1);
        // 2 FLOPs x 16 lanes x 2 pipes per cycle and core at most, at no more than 6 GHz, with room.
        assertTrue(gflops > 0.05 && gflops < 400.0 * context.threads(),
                gflops + " GFLOP/s on " + context.threads() + " threads at " + Invconv.activeIsa());
    }

    @Test
    void peakProbeChecksItsArguments() {
        assertInvalid("ic_measure_peak_gflops: seconds=0.01 must be between 0.05 and 10",
                () -> Invconv.measurePeakGflops(context, 0.01));
        assertInvalid("seconds=11.0 must be between 0.05 and 10", () -> Invconv.measurePeakGflops(context, 11));
        assertInvalid("seconds=NaN", () -> Invconv.measurePeakGflops(context, Double.NaN));
        assertThrows(NullPointerException.class, () -> Invconv.measurePeakGflops(null, 1));
    }

    // ---- bandwidth ----------------------------------------------------------------------------

    @Test
    void bandwidthProbeIsPositiveAndPlausible() {
        double gbps = Invconv.measureBandwidthGbps(context, 0.05);
        // Any machine copies faster than 0.1 GB/s; no memory system here moves 2 TB/s.
        assertTrue(gbps > 0.1 && gbps < 2000, gbps + " GB/s on " + context.threads() + " threads");
    }

    @Test
    void bandwidthProbeChecksItsArguments() {
        assertInvalid("ic_measure_bandwidth_gbps: seconds=0.01 must be between 0.05 and 10",
                () -> Invconv.measureBandwidthGbps(context, 0.01));
        assertInvalid("seconds=11.0 must be between 0.05 and 10", () -> Invconv.measureBandwidthGbps(context, 11));
        assertInvalid("seconds=NaN", () -> Invconv.measureBandwidthGbps(context, Double.NaN));
        assertThrows(NullPointerException.class, () -> Invconv.measureBandwidthGbps(null, 1));
    }
}
