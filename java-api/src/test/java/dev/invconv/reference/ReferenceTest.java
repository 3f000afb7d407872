package dev.invconv.reference;

import dev.invconv.Activation;
import dev.invconv.Conv2dParams;
import dev.invconv.Involution2dParams;
import dev.invconv.InvolutionParams;
import dev.invconv.Layout;
import dev.invconv.Padding;
import dev.invconv.SeparableConv2dParams;
import dev.invconv.Shape;
import dev.invconv.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The references checked against hand-computed results and against each other (dilation as a
 * zero-stuffed kernel, stride as subsampling, groups as separate convolutions), independently
 * of the golden vectors. Inputs are small integers, so every float64 sum is exact and the
 * comparisons can demand equality.
 */
class ReferenceTest {

    private final Arena arena = Arena.ofAuto();

    private static float[] integers(Random random, long count, int bound) {
        float[] values = new float[(int) count];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextInt(2 * bound + 1) - bound;
        }
        return values;
    }

    private static Conv2dParams conv(long in, long out, long kh, long kw, long sh, long sw, long dh, long dw,
                                     long groups, Padding padding) {
        return new Conv2dParams(in, out, kh, kw, sh, sw, dh, dw, groups, padding, Activation.NONE);
    }

    @Test
    void conv2dMatchesAHandComputedExample() {
        // x = 1..9 in a 3x3 plane, w = [[1, 0], [0, -1]]: y[i][j] = x[i][j] − x[i+1][j+1] = −4.
        Tensor x = Tensor.of(arena, Shape.nchw(1, 1, 3, 3), new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
        Result valid = ReferenceConv2d.run(conv(1, 1, 2, 2, 1, 1, 1, 1, 1, Padding.VALID), x,
                new float[] {1, 0, 0, -1}, null, null);
        assertEquals(Shape.nchw(1, 1, 2, 2), valid.shape());
        assertArrayEquals(new double[] {-4, -4, -4, -4}, valid.values());
        assertArrayEquals(new double[] {1 + 5, 2 + 6, 4 + 8, 5 + 9}, valid.magnitude());

        // FULL pads by 1 on each side: the corners see one tap each.
        Result full = ReferenceConv2d.run(conv(1, 1, 2, 2, 1, 1, 1, 1, 1, Padding.FULL), x,
                new float[] {1, 0, 0, -1}, null, null);
        assertEquals(Shape.nchw(1, 1, 4, 4), full.shape());
        assertEquals(-1, full.values()[0]);
        assertEquals(9, full.values()[15]);
    }

    @Test
    void biasResidualAndActivationAreAppliedInOrder() {
        Tensor x = Tensor.of(arena, Shape.nchw(1, 1, 1, 2), new float[] {3, -5});
        Tensor residual = Tensor.of(arena, Shape.nchw(1, 2, 1, 2), new float[] {1, 1, -20, 2});
        Conv2dParams params = new Conv2dParams(1, 2, 1, 1, 1, 1, 1, 1, 1, Padding.VALID, Activation.RELU);
        Result result = ReferenceConv2d.run(params, x, new float[] {2, -1}, new float[] {0.5f, 4}, residual);
        // o=0: 2x + 0.5 + r → 7.5, −8.5 → ReLU 7.5, 0; o=1: −x + 4 + r → −19, 11 → 0, 11
        assertArrayEquals(new double[] {7.5, 0, 0, 11}, result.values());
        // magnitude: |w·x| + |bias| + |residual|
        assertArrayEquals(new double[] {6 + 0.5 + 1, 10 + 0.5 + 1, 3 + 4 + 20, 5 + 4 + 2}, result.magnitude());
    }

    @ParameterizedTest
    @EnumSource(Layout.class)
    void dilationEqualsAZeroStuffedKernel(Layout layout) {
        Random random = new Random(1);
        Shape shape = Shape.nchw(2, 3, 11, 10);
        Tensor x = Tensor.of(arena, shape, integers(random, shape.elementCount(), 3)).toLayout(arena, layout);
        float[] w = integers(random, 4L * 3 * 3 * 2, 3);
        Conv2dParams dilated = conv(3, 4, 3, 2, 1, 1, 2, 3, 1, Padding.SAME);
        // The same taps as a 5x4 kernel with zeros between them, and the same pads.
        float[] stuffed = new float[4 * 3 * 5 * 4];
        for (int o = 0; o < 4; o++) {
            for (int c = 0; c < 3; c++) {
                for (int kh = 0; kh < 3; kh++) {
                    for (int kw = 0; kw < 2; kw++) {
                        stuffed[((o * 3 + c) * 5 + kh * 2) * 4 + kw * 3] = w[((o * 3 + c) * 3 + kh) * 2 + kw];
                    }
                }
            }
        }
        Padding.Explicit pads = dilated.pads(shape.h(), shape.w());
        Conv2dParams plain = conv(3, 4, 5, 4, 1, 1, 1, 1, 1, pads);
        assertArrayEquals(ReferenceConv2d.run(plain, x, stuffed, null, null).values(),
                ReferenceConv2d.run(dilated, x, w, null, null).values());
    }

    @Test
    void strideSubsamplesTheStrideOneOutput() {
        Random random = new Random(2);
        Shape shape = Shape.nchw(1, 2, 9, 8);
        Tensor x = Tensor.of(arena, shape, integers(random, shape.elementCount(), 4));
        float[] w = integers(random, 3L * 2 * 3 * 3, 2);
        Padding pads = Padding.explicit(1, 0, 2, 1);
        Result dense = ReferenceConv2d.run(conv(2, 3, 3, 3, 1, 1, 1, 1, 1, pads), x, w, null, null);
        Result strided = ReferenceConv2d.run(conv(2, 3, 3, 3, 2, 3, 1, 1, 1, pads), x, w, null, null);
        Shape out = strided.shape();
        Shape full = dense.shape();
        for (int o = 0; o < out.c(); o++) {
            for (int i = 0; i < out.h(); i++) {
                for (int j = 0; j < out.w(); j++) {
                    assertEquals(dense.values()[(int) ((o * full.h() + 2 * i) * full.w() + 3 * j)],
                            strided.values()[(int) ((o * out.h() + i) * out.w() + j)]);
                }
            }
        }
    }

    @Test
    void groupsAreSeparateConvolutions() {
        Random random = new Random(3);
        Shape shape = Shape.nchw(1, 6, 5, 5);
        float[] input = integers(random, shape.elementCount(), 3);
        float[] w = integers(random, 4L * 3 * 3 * 3, 3); // groups=2: [4, 3, 3, 3]
        Result grouped = ReferenceConv2d.run(conv(6, 4, 3, 3, 1, 1, 1, 1, 2, Padding.SAME),
                Tensor.of(arena, shape, input), w, null, null);
        int plane = 25;
        for (int g = 0; g < 2; g++) {
            float[] half = Arrays.copyOfRange(input, g * 3 * plane, (g + 1) * 3 * plane);
            float[] halfWeights = Arrays.copyOfRange(w, g * 2 * 27, (g + 1) * 2 * 27);
            Result separate = ReferenceConv2d.run(conv(3, 2, 3, 3, 1, 1, 1, 1, 1, Padding.SAME),
                    Tensor.of(arena, Shape.nchw(1, 3, 5, 5), half), halfWeights, null, null);
            assertArrayEquals(separate.values(),
                    Arrays.copyOfRange(grouped.values(), g * 2 * plane, (g + 1) * 2 * plane));
        }
    }

    @Test
    void separableIsDepthwiseThenPointwise() {
        Random random = new Random(4);
        Shape shape = Shape.nchw(1, 3, 7, 6);
        Tensor x = Tensor.of(arena, shape, integers(random, shape.elementCount(), 3));
        SeparableConv2dParams params = new SeparableConv2dParams(3, 2, 5, 3, 3, 2, 2, 1, 1, Padding.SAME,
                Activation.RELU, Activation.NONE);
        float[] dw = integers(random, 6 * 9, 2);
        float[] db = integers(random, 6, 2);
        float[] pw = integers(random, 5 * 6, 2);
        float[] pb = integers(random, 5, 2);
        Result separable = ReferenceSeparableConv2d.run(params, x, dw, db, pw, pb);
        Result depthwise = ReferenceConv2d.run(params.depthwise(), x, dw, db, null);
        Tensor middle = depthwise.toTensor(arena, Layout.NCHW); // exact: small integers
        Result pointwise = ReferenceConv2d.run(params.pointwise(), middle, pw, pb, null);
        assertArrayEquals(pointwise.values(), separable.values());
        // The magnitude propagates: Σ_c |w_pw[o,c]| · m_dw[c] + |b_pw[o]|.
        int pixels = (int) (separable.shape().h() * separable.shape().w());
        for (int o = 0; o < 5; o++) {
            for (int p = 0; p < pixels; p++) {
                double expected = Math.abs(pb[o]);
                for (int c = 0; c < 6; c++) {
                    expected += Math.abs(pw[o * 6 + c]) * depthwise.magnitude()[c * pixels + p];
                }
                assertEquals(expected, separable.magnitude()[o * pixels + p]);
            }
        }
    }

    @Test
    void involutionWithUnitKernelsIsABoxFilter() {
        Shape shape = Shape.nchw(1, 2, 4, 5);
        float[] input = new float[(int) shape.elementCount()];
        for (int i = 0; i < input.length; i++) {
            input[i] = i;
        }
        InvolutionParams params = new InvolutionParams(2, 3, 1, 1, 2);
        Tensor ones = Tensor.allocate(arena, params.kernelsShape(shape));
        ones.copyFrom(filled(params.kernelsShape(shape), 1));
        Result result = ReferenceInvolution.aggregate(params, Tensor.of(arena, shape, input), ones);
        // Centre pixel (1, 1) of channel 0: the 3x3 block of rows 0–2, columns 0–2.
        double box = 0;
        for (int r = 0; r < 3; r++) {
            for (int c = 0; c < 3; c++) {
                box += input[r * 5 + c];
            }
        }
        assertEquals(box, result.values()[1 * 5 + 1]);
        // Corner (0, 0) sees the 2x2 block; padding reads as 0.
        assertEquals(input[0] + input[1] + input[5] + input[6], result.values()[0]);
    }

    @Test
    void involutionSharesOneKernelPerGroupAndPixel() {
        // K=1: y[n,c,i,j] = k[n, g(c), i, j] · x[n, c, i·s, j·s].
        Shape shape = Shape.nchw(1, 4, 4, 4);
        float[] input = new float[64];
        for (int i = 0; i < input.length; i++) {
            input[i] = i + 1;
        }
        InvolutionParams params = new InvolutionParams(4, 1, 2, 1, 2);
        Shape kernelShape = params.kernelsShape(shape);
        assertEquals(Shape.nchw(1, 2, 2, 2), kernelShape);
        float[] kernels = {1, 2, 3, 4, -1, -2, -3, -4};
        Result result = ReferenceInvolution.aggregate(params, Tensor.of(arena, shape, input),
                Tensor.of(arena, kernelShape, kernels));
        for (int c = 0; c < 4; c++) {
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 2; j++) {
                    double k = kernels[(c / 2 * 2 + i) * 2 + j];
                    double x = input[(c * 4 + 2 * i) * 4 + 2 * j];
                    assertEquals(k * x, result.values()[(c * 2 + i) * 2 + j]);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Layout.class)
    void involution2dComposesItsParts(Layout layout) {
        Random random = new Random(5);
        Involution2dParams params = new Involution2dParams(32, 3, 2, 1, 16, 4, 1e-5);
        Shape shape = Shape.nchw(2, 32, 6, 4);
        float[] input = integers(random, shape.elementCount(), 3);
        float[] reduce = integers(random, 8 * 32, 1);
        float[] gamma = integers(random, 8, 2);
        float[] beta = integers(random, 8, 2);
        float[] mean = integers(random, 8, 2);
        float[] var = new float[] {1, 2, 3, 4, 0.5f, 0.25f, 8, 9};
        float[] span = integers(random, 18 * 8, 1);
        float[] spanBias = integers(random, 18, 1);
        Result module = ReferenceInvolution2d.run(params, Tensor.of(arena, shape, input).toLayout(arena, layout),
                reduce, gamma, beta, mean, var, span, spanBias);

        // The same computation assembled from the other references.
        Shape pooledShape = Shape.nchw(2, 32, 3, 2);
        Tensor pooled = Tensor.allocate(arena, pooledShape);
        for (int p = 0; p < 64; p++) {
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 2; j++) {
                    double sum = 0;
                    for (int a = 0; a < 2; a++) {
                        for (int b = 0; b < 2; b++) {
                            sum += input[(p * 6 + 2 * i + a) * 4 + 2 * j + b];
                        }
                    }
                    pooled.segment().setAtIndex(ValueLayout.JAVA_FLOAT, (p * 3 + i) * 2 + j, (float) (sum / 4));
                }
            }
        }
        Result reduced = ReferenceConv2d.run(new Conv2dParams(32, 8, 1, 1, 1, 1, 1, 1, 1, Padding.VALID, Activation.NONE),
                pooled, reduce, null, null);
        double[] hidden = reduced.values().clone();
        for (int i = 0; i < hidden.length; i++) {
            int r = i / 6 % 8;
            hidden[i] = Math.max((hidden[i] - mean[r]) / Math.sqrt(var[r] + 1e-5) * gamma[r] + beta[r], 0);
        }
        Tensor hiddenTensor = new Result(reduced.shape(), hidden, hidden).toTensor(arena, Layout.NCHW);
        Result kernels = ReferenceConv2d.run(new Conv2dParams(8, 18, 1, 1, 1, 1, 1, 1, 1, Padding.VALID, Activation.NONE),
                hiddenTensor, span, spanBias, null);
        Result composed = ReferenceInvolution.aggregate(params.aggregation(), Tensor.of(arena, shape, input),
                kernels.toTensor(arena, Layout.NCHW));
        // The composition rounds the hidden values and kernels to float; the module does not.
        Tolerance.Report report = Tolerance.checkModule(composed.values(), module.values());
        assertTrue(report.passed(), report.describe(module.shape()));
    }

    @Test
    void referencesWorkInEveryLayout() {
        Random random = new Random(6);
        Shape shape = Shape.nchw(2, 4, 5, 6);
        float[] input = integers(random, shape.elementCount(), 3);
        Conv2dParams params = conv(4, 3, 3, 3, 1, 1, 1, 1, 1, Padding.SAME);
        float[] w = integers(random, params.weightShape().elementCount(), 3);
        Tensor nchw = Tensor.of(arena, shape, input);
        Tensor nhwc = nchw.toLayout(arena, Layout.NHWC);
        Result a = ReferenceConv2d.run(params, nchw, w, null, null);
        Result b = ReferenceConv2d.run(params, nhwc, w, null, null);
        assertArrayEquals(a.values(), b.values(), "results are always in NCHW order");
        Tensor out = a.toTensor(arena, Layout.NHWC);
        assertEquals((float) a.values()[((1 * 3 + 2) * 5 + 4) * 6 + 5], out.get(1, 2, 4, 5));
        assertArrayEquals(a.toFloatArray(), a.toTensor(arena, Layout.NCHW).toArray());
    }

    @Test
    void mismatchedArgumentsAreRejected() {
        Tensor x = Tensor.allocate(arena, Shape.nchw(1, 3, 5, 5));
        Conv2dParams params = conv(3, 4, 3, 3, 1, 1, 1, 1, 1, Padding.VALID);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ReferenceConv2d.run(params, x, new float[10], null, null));
        assertEquals("conv2d: weights has 10 elements but [4, 3, 3, 3] needs 108", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ReferenceConv2d.run(params, x, new float[108], new float[3], null));
        assertEquals("conv2d: bias has 3 elements but [4] needs 4", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ReferenceConv2d.run(params, x, new float[108], null,
                Tensor.allocate(arena, Shape.nchw(1, 4, 5, 5))));
        assertEquals("conv2d: residual [1, 4, 5, 5] does not match the output [1, 4, 3, 3]", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ReferenceConv2d.run(conv(4, 4, 3, 3, 1, 1, 1, 1, 1, Padding.VALID),
                x, new float[144], null, null));

        InvolutionParams involution = new InvolutionParams(16, 3, 1, 1, 16);
        Tensor y = Tensor.allocate(arena, Shape.nchw(1, 16, 5, 5));
        e = assertThrows(IllegalArgumentException.class,
                () -> ReferenceInvolution.aggregate(involution, y, Tensor.allocate(arena, Shape.nchw(1, 9, 4, 5))));
        assertEquals("involution: kernels [1, 9, 4, 5] do not match [1, 9, 5, 5] for input [1, 16, 5, 5]", e.getMessage());

        Involution2dParams module = Involution2dParams.of(16, 3, 1);
        e = assertThrows(IllegalArgumentException.class, () -> ReferenceInvolution2d.run(module, y, new float[64],
                new float[4], new float[4], new float[4], new float[3], new float[36], new float[9]));
        assertEquals("involution2d: conv1.bn.running_var has 3 elements but [4] needs 4", e.getMessage());

        Tensor closed = Tensor.allocate(Shape.nchw(1, 3, 5, 5));
        closed.close();
        assertThrows(IllegalStateException.class, () -> ReferenceConv2d.run(params, closed, new float[108], null, null));
    }

    private static float[] filled(Shape shape, float value) {
        float[] values = new float[(int) shape.elementCount()];
        Arrays.fill(values, value);
        return values;
    }
}
