package dev.invconv;

import java.util.Locale;

/**
 * Canonical one-line problem strings (STYLE §11), in the form the C tests print
 * ({@code native/test/testing.c}, {@code conv2d_problem}), so that a failure in either suite
 * names the case the same way:
 * <pre>
 * mb2ic8ih9iw7oc6kh3kw3sh2sw1dh1dw2g2_explicit(1,0,2,1)_relu_nhwc
 * separable mb1ic4ih9iw9oc8kh3kw3sh2sw2dh1dw1g4_same(0,0,0,0)_relu_nchw_oc6_relu6
 * involution mb2c32ih9iw7k7s1d1gc16_nhwc
 * involution2d mb1c32ih8iw8k7s2d1gc8r4_nchw
 * pool2d mb1c3ih7iw7kh3kw3sh2sw2_explicit(1,1,1,1)_avg_incl_nchw
 * </pre>
 * Dilation 1 means none (STYLE §9); pads are printed as given, so {@code (0,0,0,0)} for the
 * computed modes.
 */
public final class Problems {

    private Problems() {}

    public static String conv2d(Conv2dParams p, long batch, long inH, long inW, Layout layout) {
        Padding.Explicit pads = p.padding() instanceof Padding.Explicit e ? e : new Padding.Explicit(0, 0, 0, 0);
        String mode = p.padding() instanceof Padding.Auto auto ? auto.name() : "explicit";
        return "mb" + batch + "ic" + p.inChannels() + "ih" + inH + "iw" + inW + "oc" + p.outChannels()
                + "kh" + p.kernelH() + "kw" + p.kernelW() + "sh" + p.strideH() + "sw" + p.strideW()
                + "dh" + p.dilationH() + "dw" + p.dilationW() + "g" + p.groups()
                + "_" + mode.toLowerCase(Locale.ROOT) + "(" + pads.top() + "," + pads.left() + "," + pads.bottom()
                + "," + pads.right() + ")_" + lower(p.activation()) + "_" + lower(layout);
    }

    public static String separable(SeparableConv2dParams p, long batch, long inH, long inW, Layout layout) {
        return "separable " + conv2d(p.depthwise(), batch, inH, inW, layout) + "_oc" + p.outChannels()
                + "_" + lower(p.activation());
    }

    public static String involution(InvolutionParams p, long batch, long inH, long inW, Layout layout) {
        return "involution mb" + batch + "c" + p.channels() + "ih" + inH + "iw" + inW + "k" + p.kernelSize()
                + "s" + p.stride() + "d" + p.dilation() + "gc" + p.groupChannels() + "_" + lower(layout);
    }

    public static String involution2d(Involution2dParams p, long batch, long inH, long inW, Layout layout) {
        return "involution2d mb" + batch + "c" + p.channels() + "ih" + inH + "iw" + inW + "k" + p.kernelSize()
                + "s" + p.stride() + "d" + p.dilation() + "gc" + p.groupChannels() + "r" + p.reductionRatio()
                + "_" + lower(layout);
    }

    /** As the C tests' {@code pool2d_problem}: the kind is max, avg_incl or avg_excl. */
    public static String pool2d(Pool2dParams p, long batch, long inH, long inW, Layout layout) {
        Padding.Explicit pads = p.padding() instanceof Padding.Explicit e ? e : new Padding.Explicit(0, 0, 0, 0);
        String mode = p.padding() instanceof Padding.Auto auto ? auto.name() : "explicit";
        String kind = p.kind() == PoolKind.MAX ? "max" : p.countIncludePad() ? "avg_incl" : "avg_excl";
        return "pool2d mb" + batch + "c" + p.channels() + "ih" + inH + "iw" + inW + "kh" + p.kernelH()
                + "kw" + p.kernelW() + "sh" + p.strideH() + "sw" + p.strideW()
                + "_" + mode.toLowerCase(Locale.ROOT) + "(" + pads.top() + "," + pads.left() + "," + pads.bottom()
                + "," + pads.right() + ")_" + kind + "_" + lower(layout);
    }

    private static String lower(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }
}
