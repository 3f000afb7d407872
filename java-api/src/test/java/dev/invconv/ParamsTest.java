package dev.invconv;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ParamsTest {

    private static void assertInvalid(String message, Executable construct) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, construct);
        assertEquals(message, e.getMessage());
    }

    private static Conv2dParams conv(long in, long out, long k, long stride, long dilation, long groups, Padding padding) {
        return new Conv2dParams(in, out, k, k, stride, stride, dilation, dilation, groups, padding, Activation.NONE);
    }

    // ---- Conv2dParams ---------------------------------------------------------------------------

    @Test
    void conv2dValidatesEveryParameter() {
        Padding v = Padding.VALID;
        Activation a = Activation.NONE;
        assertInvalid("conv2d: in_channels=0 must be >= 1", () -> new Conv2dParams(0, 8, 3, 3, 1, 1, 1, 1, 1, v, a));
        assertInvalid("conv2d: out_channels=-1 must be >= 1", () -> new Conv2dParams(8, -1, 3, 3, 1, 1, 1, 1, 1, v, a));
        assertInvalid("conv2d: kernel_h=0 must be >= 1", () -> new Conv2dParams(8, 8, 0, 3, 1, 1, 1, 1, 1, v, a));
        assertInvalid("conv2d: kernel_w=0 must be >= 1", () -> new Conv2dParams(8, 8, 3, 0, 1, 1, 1, 1, 1, v, a));
        assertInvalid("conv2d: stride_h=0 must be >= 1", () -> new Conv2dParams(8, 8, 3, 3, 0, 1, 1, 1, 1, v, a));
        assertInvalid("conv2d: stride_w=0 must be >= 1", () -> new Conv2dParams(8, 8, 3, 3, 1, 0, 1, 1, 1, v, a));
        assertInvalid("conv2d: dilation_h=0 must be >= 1", () -> new Conv2dParams(8, 8, 3, 3, 1, 1, 0, 1, 1, v, a));
        assertInvalid("conv2d: dilation_w=0 must be >= 1", () -> new Conv2dParams(8, 8, 3, 3, 1, 1, 1, 0, 1, v, a));
        assertInvalid("conv2d: groups=0 must be >= 1", () -> new Conv2dParams(8, 8, 3, 3, 1, 1, 1, 1, 0, v, a));
        assertInvalid("conv2d: groups=3 does not divide in_channels=8", () -> new Conv2dParams(8, 6, 3, 3, 1, 1, 1, 1, 3, v, a));
        assertInvalid("conv2d: groups=4 does not divide out_channels=6", () -> new Conv2dParams(8, 6, 3, 3, 1, 1, 1, 1, 4, v, a));
        assertInvalid("conv2d: kernel_h=3 with dilation_h=" + Long.MAX_VALUE + " overflows a 64-bit size",
                () -> new Conv2dParams(8, 8, 3, 3, 1, 1, Long.MAX_VALUE, 1, 1, v, a));
        assertInvalid("conv2d: the size of the weights overflows a 64-bit size",
                () -> new Conv2dParams(1L << 31, 1L << 31, 3, 3, 1, 1, 1, 1, 1, v, a));
        NullPointerException e = assertThrows(NullPointerException.class,
                () -> new Conv2dParams(8, 8, 3, 3, 1, 1, 1, 1, 1, null, a));
        assertEquals("conv2d: padding must not be null", e.getMessage());
        e = assertThrows(NullPointerException.class, () -> new Conv2dParams(8, 8, 3, 3, 1, 1, 1, 1, 1, v, null));
        assertEquals("conv2d: activation must not be null", e.getMessage());
    }

    @Test
    void conv2dOutputSizes() {
        Shape input = Shape.nchw(2, 8, 10, 12);
        assertEquals(Shape.nchw(2, 16, 8, 10), conv(8, 16, 3, 1, 1, 1, Padding.VALID).outputShape(input));
        assertEquals(Shape.nchw(2, 16, 10, 12), conv(8, 16, 3, 1, 1, 1, Padding.SAME).outputShape(input));
        assertEquals(Shape.nchw(2, 16, 5, 6), conv(8, 16, 3, 2, 1, 1, Padding.SAME).outputShape(input));
        assertEquals(Shape.nchw(2, 16, 12, 14), conv(8, 16, 3, 1, 1, 1, Padding.FULL).outputShape(input));
        assertEquals(Shape.nchw(2, 16, 6, 8), conv(8, 16, 3, 1, 2, 1, Padding.VALID).outputShape(input));
        // floor((10 + 2 + 1 − 5) / 2) + 1 = 5, floor((12 + 0 + 3 − 5) / 1) + 1 = 11 (kernel 5x3, dilation 1x2)
        Conv2dParams explicit = new Conv2dParams(8, 4, 5, 3, 2, 1, 1, 2, 2, Padding.explicit(2, 0, 1, 3), Activation.RELU);
        assertEquals(Shape.nchw(2, 4, 5, 11), explicit.outputShape(input));
        // The vector conv_5x3_stride2_dil_groups: 17x14 → 8x13.
        assertEquals(Shape.nchw(2, 6, 8, 13),
                new Conv2dParams(12, 6, 5, 3, 2, 1, 1, 2, 3, Padding.explicit(2, 0, 1, 3), Activation.NONE)
                        .outputShape(Shape.nchw(2, 12, 17, 14)));
    }

    @Test
    void conv2dRejectsInputsTooSmallOrWithOtherChannels() {
        Conv2dParams params = conv(3, 4, 5, 1, 1, 1, Padding.VALID);
        assertInvalid("conv2d: input [1, 3, 2, 2] is too small for kernel 5x5 with stride 1x1, dilation 1x1 and pads "
                + "0,0,0,0 (top,left,bottom,right): output height would be -2", () -> params.outputShape(Shape.nchw(1, 3, 2, 2)));
        assertInvalid("conv2d: input [1, 3, 9, 2] is too small for kernel 5x5 with stride 2x2, dilation 1x1 and pads "
                + "0,0,0,0 (top,left,bottom,right): output width would be -1",
                () -> conv(3, 4, 5, 2, 1, 1, Padding.VALID).outputShape(Shape.nchw(1, 3, 9, 2)));
        assertInvalid("conv2d: input [1, 4, 8, 8] has 4 channels but in_channels=3", () -> params.outputShape(Shape.nchw(1, 4, 8, 8)));
        // SAME and FULL always fit.
        assertEquals(Shape.nchw(1, 4, 2, 2), conv(3, 4, 5, 1, 1, 1, Padding.SAME).outputShape(Shape.nchw(1, 3, 2, 2)));
    }

    @Test
    void conv2dDerivedProperties() {
        Conv2dParams grouped = conv(8, 6, 3, 1, 1, 2, Padding.SAME);
        assertEquals(Shape.nchw(6, 4, 3, 3), grouped.weightShape());
        assertFalse(grouped.isDepthwise());
        assertFalse(grouped.isPointwise());
        IllegalStateException e = assertThrows(IllegalStateException.class, grouped::depthMultiplier);
        assertEquals("conv2d: not depthwise (groups=2, in_channels=8), so it has no depth multiplier", e.getMessage());

        Conv2dParams depthwise = conv(8, 16, 3, 1, 1, 8, Padding.SAME);
        assertTrue(depthwise.isDepthwise());
        assertEquals(2, depthwise.depthMultiplier());
        assertEquals(Shape.nchw(16, 1, 3, 3), depthwise.weightShape());

        assertTrue(conv(24, 40, 1, 1, 1, 1, Padding.VALID).isPointwise());
        assertTrue(conv(24, 40, 1, 1, 1, 1, Padding.SAME).isPointwise());
        assertTrue(conv(24, 40, 1, 1, 1, 1, Padding.explicit(0, 0, 0, 0)).isPointwise());
        assertFalse(conv(24, 40, 1, 1, 1, 1, Padding.explicit(0, 1, 0, 0)).isPointwise());
        assertFalse(conv(24, 40, 1, 2, 1, 1, Padding.VALID).isPointwise());
        assertFalse(conv(24, 40, 3, 1, 1, 1, Padding.VALID).isPointwise());

        assertEquals(Padding.explicit(1, 1, 2, 1), conv(4, 5, 4, 2, 1, 1, Padding.SAME).pads(9, 8));
    }

    // ---- SeparableConv2dParams ------------------------------------------------------------------

    private static SeparableConv2dParams separable(long in, long multiplier, long out, long k, long stride) {
        return new SeparableConv2dParams(in, multiplier, out, k, k, stride, stride, 1, 1, Padding.SAME,
                Activation.RELU6, Activation.RELU);
    }

    @Test
    void separableValidatesEveryParameter() {
        Padding p = Padding.SAME;
        Activation a = Activation.NONE;
        assertInvalid("separable_conv2d: in_channels=0 must be >= 1",
                () -> new SeparableConv2dParams(0, 1, 8, 3, 3, 1, 1, 1, 1, p, a, a));
        assertInvalid("separable_conv2d: depth_multiplier=0 must be >= 1",
                () -> new SeparableConv2dParams(8, 0, 8, 3, 3, 1, 1, 1, 1, p, a, a));
        assertInvalid("separable_conv2d: out_channels=0 must be >= 1",
                () -> new SeparableConv2dParams(8, 1, 0, 3, 3, 1, 1, 1, 1, p, a, a));
        assertInvalid("separable_conv2d: kernel_w=0 must be >= 1",
                () -> new SeparableConv2dParams(8, 1, 8, 3, 0, 1, 1, 1, 1, p, a, a));
        assertInvalid("separable_conv2d: stride_h=0 must be >= 1",
                () -> new SeparableConv2dParams(8, 1, 8, 3, 3, 0, 1, 1, 1, p, a, a));
        assertInvalid("separable_conv2d: dilation_w=-1 must be >= 1",
                () -> new SeparableConv2dParams(8, 1, 8, 3, 3, 1, 1, 1, -1, p, a, a));
        assertInvalid("separable_conv2d: the size of the depthwise output channels overflows a 64-bit size",
                () -> new SeparableConv2dParams(1L << 40, 1L << 40, 8, 3, 3, 1, 1, 1, 1, p, a, a));
        NullPointerException e = assertThrows(NullPointerException.class,
                () -> new SeparableConv2dParams(8, 1, 8, 3, 3, 1, 1, 1, 1, p, null, a));
        assertEquals("separable_conv2d: depthwise_activation must not be null", e.getMessage());
    }

    @Test
    void separableSplitsIntoDepthwiseAndPointwise() {
        SeparableConv2dParams params = separable(16, 2, 24, 3, 2);
        assertEquals(32, params.depthwiseChannels());
        Conv2dParams dw = params.depthwise();
        assertEquals(new Conv2dParams(16, 32, 3, 3, 2, 2, 1, 1, 16, Padding.SAME, Activation.RELU6), dw);
        assertTrue(dw.isDepthwise());
        assertEquals(2, dw.depthMultiplier());
        Conv2dParams pw = params.pointwise();
        assertEquals(new Conv2dParams(32, 24, 1, 1, 1, 1, 1, 1, 1, Padding.VALID, Activation.RELU), pw);
        assertTrue(pw.isPointwise());
        Shape input = Shape.nchw(1, 16, 14, 14);
        assertEquals(Shape.nchw(1, 24, 7, 7), params.outputShape(input));
        assertEquals(pw.outputShape(dw.outputShape(input)), params.outputShape(input));
        assertInvalid("separable_conv2d: input [1, 8, 14, 14] has 8 channels but in_channels=16",
                () -> params.outputShape(Shape.nchw(1, 8, 14, 14)));
    }

    // ---- InvolutionParams -----------------------------------------------------------------------

    @Test
    void involutionValidatesEveryParameter() {
        assertInvalid("involution: channels=0 must be >= 1", () -> new InvolutionParams(0, 3, 1, 1, 16));
        assertInvalid("involution: kernel_size=0 must be >= 1", () -> new InvolutionParams(32, 0, 1, 1, 16));
        assertInvalid("involution: kernel_size=4 must be odd", () -> new InvolutionParams(32, 4, 1, 1, 16));
        assertInvalid("involution: stride=0 must be >= 1", () -> new InvolutionParams(32, 3, 0, 1, 16));
        assertInvalid("involution: dilation=0 must be >= 1", () -> new InvolutionParams(32, 3, 1, 0, 16));
        assertInvalid("involution: group_channels=0 must be >= 1", () -> new InvolutionParams(32, 3, 1, 1, 0));
        assertInvalid("involution: channels=24 is not a multiple of group_channels=16",
                () -> new InvolutionParams(24, 3, 1, 1, 16));
    }

    @Test
    void involutionShapes() {
        InvolutionParams params = new InvolutionParams(64, 7, 2, 1, 16);
        assertEquals(4, params.groups());
        assertEquals(3, params.padding());
        Shape input = Shape.nchw(2, 64, 14, 12);
        assertEquals(Shape.nchw(2, 64, 7, 6), params.outputShape(input));
        assertEquals(Shape.nchw(2, 196, 7, 6), params.kernelsShape(input));
        // Odd sizes with stride 2 round up, as the official unfold does.
        assertEquals(Shape.nchw(1, 64, 5, 4), params.outputShape(Shape.nchw(1, 64, 9, 8)));
        assertEquals(6, new InvolutionParams(16, 7, 1, 2, 16).padding());
        assertEquals(Shape.nchw(1, 32, 9, 11), new InvolutionParams(32, 3, 1, 1, 16).outputShape(Shape.nchw(1, 32, 9, 11)));
        assertInvalid("involution: input [2, 32, 14, 12] has 32 channels but channels=64",
                () -> params.outputShape(Shape.nchw(2, 32, 14, 12)));
    }

    // ---- Involution2dParams ---------------------------------------------------------------------

    @Test
    void involution2dDefaultsFollowTheOfficialCode() {
        Involution2dParams params = Involution2dParams.of(64, 7, 1);
        assertEquals(new Involution2dParams(64, 7, 1, 1, 16, 4, 1e-5), params);
        assertEquals(4, params.groups());
        assertEquals(16, params.reducedChannels());
        assertEquals(196, params.spanChannels());
        assertEquals(Shape.nchw(16, 64, 1, 1), params.reduceWeightShape());
        assertEquals(Shape.nchw(196, 16, 1, 1), params.spanWeightShape());
        assertEquals(new InvolutionParams(64, 7, 1, 1, 16), params.aggregation());
        // Floor, as the official channels // reduction_ratio.
        assertEquals(10, new Involution2dParams(32, 3, 1, 1, 16, 3, 1e-5).reducedChannels());
    }

    @Test
    void involution2dValidatesEveryParameter() {
        assertInvalid("involution2d: kernel_size=4 must be odd", () -> Involution2dParams.of(64, 4, 1));
        assertInvalid("involution2d: channels=24 is not a multiple of group_channels=16", () -> Involution2dParams.of(24, 3, 1));
        assertInvalid("involution2d: reduction_ratio=0 must be >= 1", () -> new Involution2dParams(32, 3, 1, 1, 16, 0, 1e-5));
        assertInvalid("involution2d: channels=16 / reduction_ratio=32 leaves no reduced channels",
                () -> new Involution2dParams(16, 3, 1, 1, 16, 32, 1e-5));
        assertInvalid("involution2d: bn_epsilon=-1.0 must be finite and >= 0", () -> new Involution2dParams(32, 3, 1, 1, 16, 4, -1));
        assertInvalid("involution2d: bn_epsilon=NaN must be finite and >= 0",
                () -> new Involution2dParams(32, 3, 1, 1, 16, 4, Double.NaN));
    }

    @Test
    void involution2dRefusesSizesThatAreNotMultiplesOfTheStride() {
        Involution2dParams params = Involution2dParams.of(32, 3, 2);
        assertEquals(Shape.nchw(1, 32, 4, 4), params.outputShape(Shape.nchw(1, 32, 8, 8)));
        assertInvalid("involution2d: in_h=7 is not a multiple of stride=2 (the pooled size 3 would differ from the output size 4)",
                () -> params.outputShape(Shape.nchw(1, 32, 7, 8)));
        assertInvalid("involution2d: in_w=9 is not a multiple of stride=2 (the pooled size 4 would differ from the output size 5)",
                () -> params.outputShape(Shape.nchw(1, 32, 8, 9)));
        assertEquals(Shape.nchw(1, 32, 7, 9), Involution2dParams.of(32, 3, 1).outputShape(Shape.nchw(1, 32, 7, 9)));
        assertInvalid("involution2d: input [1, 16, 8, 8] has 16 channels but channels=32",
                () -> params.outputShape(Shape.nchw(1, 16, 8, 8)));
    }

    // ---- enums ----------------------------------------------------------------------------------

    @Test
    void enumsMatchTheCApi() {
        assertEquals(0, Layout.NCHW.nativeValue());
        assertEquals(1, Layout.NHWC.nativeValue());
        assertEquals(0, Activation.NONE.nativeValue());
        assertEquals(1, Activation.RELU.nativeValue());
        assertEquals(2, Activation.RELU6.nativeValue());
    }

    @Test
    void activationsApply() {
        assertEquals(-3.5, Activation.NONE.apply(-3.5));
        assertEquals(0.0, Activation.RELU.apply(-3.5));
        assertEquals(2.5, Activation.RELU.apply(2.5));
        assertEquals(0.0, Activation.RELU6.apply(-1));
        assertEquals(6.0, Activation.RELU6.apply(7.25));
        assertEquals(5.0, Activation.RELU6.apply(5));
        assertTrue(Double.isNaN(Activation.RELU.apply(Double.NaN)), "NaN propagates");
    }
}
