package dev.invconv;

import dev.invconv.reference.ReferenceInvolution2d;
import dev.invconv.reference.Result;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static dev.invconv.ReferenceAssertions.assertBitIdentical;
import static dev.invconv.ReferenceAssertions.assertWithinModuleTolerance;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Involution2d's output epilogue, {@code y = activation(outScale[c] · y + outShift[c])}:
 * against the float64 reference (module tolerance, SPEC §8); bit for bit against the same
 * module without the epilogue followed by the affine in double and one rounding (what the
 * library promises); through every creation path; and its validation.
 */
class InvolutionEpilogueTest {

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

    record EpilogueCase(Involution2dParams params, Activation activation, boolean affine, long batch, long inH,
                        long inW, Layout layout, long seed) {

        Shape inputShape() {
            return Shape.nchw(batch, params.channels(), inH, inW);
        }

        @Override
        public String toString() {
            return Problems.involution2d(params, batch, inH, inW, layout) + "_" + activation.name().toLowerCase()
                    + (affine ? "_affine" : "") + " seed=" + seed;
        }
    }

    /** Activation {NONE, RELU, RELU6} × affine {no, yes} × stride {1, 2} × both layouts. */
    static List<EpilogueCase> cases() {
        Random r = new Random(SEED + 30);
        List<EpilogueCase> cases = new ArrayList<>();
        for (Activation activation : Activation.values()) {
            for (boolean affine : new boolean[] {false, true}) {
                for (long stride : new long[] {1, 2}) {
                    for (Layout layout : Layout.values()) {
                        long groupChannels = 4L << r.nextInt(3);
                        Involution2dParams p = new Involution2dParams(groupChannels * (1 + r.nextInt(2)),
                                NativeConvolutionTest.pick(r, 3L, 5L, 7L), stride, 1, groupChannels,
                                NativeConvolutionTest.pick(r, 1L, 2L, 4L), 1e-5);
                        long inH = stride * (1 + r.nextInt(7));
                        long inW = stride * (1 + r.nextInt(7));
                        cases.add(new EpilogueCase(p, activation, affine, 1 + r.nextInt(2), inH, inW, layout,
                                r.nextLong()));
                    }
                }
            }
        }
        // RedNet's bottleneck involution: C = 64, K = 7, bn2 folded, ReLU.
        for (Layout layout : Layout.values()) {
            cases.add(new EpilogueCase(Involution2dParams.of(64, 7, 2), Activation.RELU, true, 1, 28, 28, layout,
                    r.nextLong()));
        }
        return cases;
    }

    /** A BatchNorm-like affine: scales of both signs and magnitudes around 1, shifts around 0. */
    private static float[][] randomAffine(Random random, long channels) {
        float[] scale = RandomTensors.between(random, channels, 0.25f, 2f);
        for (int i = 0; i < scale.length; i += 3) {
            scale[i] = -scale[i];
        }
        float[] shift = RandomTensors.uniform(random, channels, 0.5f);
        return new float[][] {scale, shift};
    }

    private static Result reference(EpilogueCase c, Tensor input, Map<String, float[]> w, float[] scale,
                                    float[] shift) {
        return ReferenceInvolution2d.run(c.params(), input, w.get(Involution2d.REDUCE_WEIGHT),
                w.get(Involution2d.BN_WEIGHT), w.get(Involution2d.BN_BIAS), w.get(Involution2d.BN_RUNNING_MEAN),
                w.get(Involution2d.BN_RUNNING_VAR), w.get(Involution2d.SPAN_WEIGHT), w.get(Involution2d.SPAN_BIAS),
                c.activation(), scale, shift);
    }

    /** The C library's activation, to the bit: NaN and -0 pass through (a comparison with them is false). */
    private static float activate(float v, Activation activation) {
        if (activation == Activation.NONE || !(v < 0) && !(activation == Activation.RELU6 && v > 6)) {
            return v;
        }
        return v < 0 ? 0f : 6f;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void epilogueMatchesTheReference(EpilogueCase c) {
        Random random = new Random(c.seed());
        Involution2dParams p = c.params();
        Shape inShape = c.inputShape();
        Map<String, float[]> w = NativeInvolutionTest.randomParameters(random, p);
        float[][] affine = c.affine() ? randomAffine(random, p.channels()) : new float[][] {null, null};
        float[] x = RandomTensors.uniform(random, inShape.elementCount(), 1f);
        try (Arena arena = Arena.ofConfined();
             Involution2d op = Involution2d.create(p, w, c.activation(), affine[0], affine[1]);
             Involution2d plain = Involution2d.create(p, w)) {
            assertEquals(c.activation(), op.activation());
            assertEquals(c.affine(), op.hasOutputAffine());
            Tensor input = RandomTensors.tensor(arena, inShape, c.layout(), x);
            Tensor out = RandomTensors.poisoned(arena, op.outputShape(inShape), c.layout());
            op.apply(input, out, context);
            float[] y = RandomTensors.toNchw(out);
            assertWithinModuleTolerance(c.toString(), reference(c, input, w, affine[0], affine[1]), y);

            // Exactly the plain module's output through the affine (in double, rounded once) and activation.
            float[] z = RandomTensors.toNchw(plain.apply(input, arena));
            Shape outShape = out.shape();
            int plane = (int) (outShape.h() * outShape.w());
            float[] expected = new float[z.length];
            for (int i = 0; i < z.length; i++) {
                int ch = (int) (i / plane % outShape.c());
                float v = c.affine() ? (float) ((double) affine[0][ch] * z[i] + affine[1][ch]) : z[i];
                expected[i] = activate(v, c.activation());
            }
            assertBitIdentical(c + " vs plain + epilogue", outShape, expected, y);
        }
    }

    @Test
    void everyCreationPathCarriesTheEpilogue() {
        Random random = new Random(SEED + 31);
        Involution2dParams p = Involution2dParams.of(32, 3, 1);
        Map<String, float[]> w = NativeInvolutionTest.randomParameters(random, p);
        float[][] affine = randomAffine(random, p.channels());
        Shape inShape = Shape.nchw(1, 32, 9, 8);
        try (Arena arena = Arena.ofConfined()) {
            Tensor input = RandomTensors.tensor(arena, inShape, Layout.NHWC,
                    RandomTensors.uniform(random, inShape.elementCount(), 1f));
            Map<String, MemorySegment> segments = new LinkedHashMap<>();
            w.forEach((name, values) -> segments.put(name, arena.allocateFrom(ValueLayout.JAVA_FLOAT, values)));
            MemorySegment scale = arena.allocateFrom(ValueLayout.JAVA_FLOAT, affine[0]);
            MemorySegment shift = arena.allocateFrom(ValueLayout.JAVA_FLOAT, affine[1]);

            List<Involution2d> ops = List.of(
                    Involution2d.create(p, w, Activation.RELU6, affine[0], affine[1]),
                    Involution2d.createFromSegments(p, segments, Activation.RELU6, scale, shift),
                    Involution2d.builder(32, 3).outputAffine(affine[0], affine[1]).activation(Activation.RELU6)
                            .build(w),
                    Involution2d.builder(32, 3).outputAffine(scale, shift).activation(Activation.RELU6)
                            .buildFromSegments(segments));
            float[] first = null;
            try {
                for (Involution2d op : ops) {
                    assertEquals(Activation.RELU6, op.activation());
                    assertTrue(op.hasOutputAffine());
                    assertTrue(op.toString().contains("RELU6"), op.toString());
                    float[] y = RandomTensors.toNchw(op.apply(input, arena));
                    for (float v : y) {
                        assertTrue(v >= 0 && v <= 6, "relu6 range: " + v);
                    }
                    if (first == null) {
                        first = y;
                    } else {
                        assertBitIdentical(op.toString(), op.outputShape(inShape), first, y);
                    }
                }
            } finally {
                ops.forEach(Involution2d::close);
            }
            try (Involution2d relu = Involution2d.builder(32, 3).relu().build(w);
                 Involution2d none = Involution2d.create(p, w)) {
                assertEquals(Activation.RELU, relu.activation());
                assertFalse(relu.hasOutputAffine());
                assertEquals(Activation.NONE, none.activation());
                assertFalse(none.hasOutputAffine());
                float[] y = RandomTensors.toNchw(relu.apply(input, arena));
                float[] z = RandomTensors.toNchw(none.apply(input, arena));
                boolean clipped = false;
                for (int i = 0; i < y.length; i++) {
                    assertEquals(activate(z[i], Activation.RELU), y[i]);
                    clipped |= z[i] < 0;
                }
                assertTrue(clipped, "the data should have negative outputs to clip");
            }
        }
    }

    @Test
    void invalidEpiloguesAreNamed() {
        Involution2dParams p = Involution2dParams.of(16, 3, 1);
        Map<String, float[]> w = NativeInvolutionTest.randomParameters(new Random(SEED + 32), p);
        float[] sixteen = new float[16];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Involution2d.create(p, w, Activation.NONE, sixteen, null));
        assertEquals("involution2d: out_scale and out_shift must be given together (out_scale is set, out_shift "
                + "is null)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Involution2d.builder(16, 3).outputAffine(null, sixteen).build(w));
        assertTrue(e.getMessage().startsWith("involution2d: out_scale and out_shift must be given together"),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Involution2d.create(p, w, Activation.RELU, new float[3], sixteen));
        assertEquals("involution2d: out_scale has 3 elements but [16] needs 16", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Involution2d.create(p, w, Activation.RELU, sixteen, new float[17]));
        assertEquals("involution2d: out_shift has 17 elements but [16] needs 16", e.getMessage());
        assertThrows(NullPointerException.class, () -> Involution2d.create(p, w, null, null, null));
        assertThrows(NullPointerException.class, () -> Involution2d.builder(16, 3).activation(null));
        // The reference refuses the same.
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.allocate(arena, Shape.nchw(1, 16, 4, 4));
            assertThrows(IllegalArgumentException.class, () -> ReferenceInvolution2d.run(p, x,
                    w.get(Involution2d.REDUCE_WEIGHT), w.get(Involution2d.BN_WEIGHT), w.get(Involution2d.BN_BIAS),
                    w.get(Involution2d.BN_RUNNING_MEAN), w.get(Involution2d.BN_RUNNING_VAR),
                    w.get(Involution2d.SPAN_WEIGHT), w.get(Involution2d.SPAN_BIAS), Activation.NONE, sixteen, null));
        }
    }
}
