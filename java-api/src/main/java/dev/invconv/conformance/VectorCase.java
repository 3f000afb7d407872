package dev.invconv.conformance;

import dev.invconv.Conv2dParams;
import dev.invconv.Involution2dParams;
import dev.invconv.InvolutionParams;
import dev.invconv.Padding;
import dev.invconv.SeparableConv2dParams;
import dev.invconv.model.Layer;
import dev.invconv.model.Models;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * One golden test vector (SPEC §8): a safetensors file produced by PyTorch in float64, holding
 * an input, the operator's parameters under their official names, the expected output and the
 * operator's settings in {@code __metadata__}. Shared by the tests and {@code invconv verify}.
 *
 * <pre>{@code
 * switch (VectorCase.load(path)) {
 *     case VectorCase.Conv2dCase c -> ... c.params(), c.weight(), c.bias(), c.data().check(output)
 *     ...
 * }
 * }</pre>
 */
public sealed interface VectorCase
        permits VectorCase.Conv2dCase, VectorCase.SeparableConv2dCase,
                VectorCase.InvolutionAggregateCase, VectorCase.Involution2dCase, VectorCase.RednetBottleneckCase {

    /** The {@code op} metadata values {@link #load} understands. */
    Set<String> OPS = Set.of("conv2d", "separable_conv2d", "involution_aggregate", "involution2d",
            "rednet_bottleneck");

    /**
     * Reads a vector file; the tensors are copied into arrays, so nothing stays open.
     *
     * @throws IOException                   if the file cannot be read
     * @throws dev.invconv.safetensors.SafeTensorsException if it is malformed or lacks a tensor
     *                                       (or has one of the wrong dtype or shape)
     * @throws IllegalArgumentException      if its metadata is missing a setting or is invalid
     *                                       (the message names the file and key)
     * @throws UnsupportedOperationException if its {@code op} is not one of {@link #OPS}
     */
    static VectorCase load(Path file) throws IOException {
        return VectorCaseLoader.load(file);
    }

    /** The input, expected output and magnitudes. */
    CaseData data();

    /** The operator's name in the metadata, e.g. {@code conv2d}. */
    String op();

    /** The vector's name, its file name without {@code .safetensors}. */
    default String name() {
        return data().name();
    }

    /**
     * A {@code conv2d} case (standard, grouped, depthwise, pointwise).
     *
     * @param pads the {@code pads} metadata (what the generator resolved), or null if absent
     */
    record Conv2dCase(CaseData data, Conv2dParams params, Padding.Explicit pads, float[] weight, float[] bias)
            implements VectorCase {
        @Override
        public String op() {
            return "conv2d";
        }
    }

    /**
     * A {@code separable_conv2d} case.
     *
     * @param pads the {@code pads} metadata of the depthwise part, or null if absent
     */
    record SeparableConv2dCase(CaseData data, SeparableConv2dParams params, Padding.Explicit pads,
                               float[] depthwiseWeight, float[] depthwiseBias,
                               float[] pointwiseWeight, float[] pointwiseBias) implements VectorCase {
        @Override
        public String op() {
            return "separable_conv2d";
        }
    }

    /**
     * An {@code involution_aggregate} case with given kernels.
     *
     * @param padding the {@code padding} metadata, or -1 if absent
     * @param kernels {@code [N, G·K·K, outH, outW]}
     */
    record InvolutionAggregateCase(CaseData data, InvolutionParams params, long padding, float[] kernels)
            implements VectorCase {
        @Override
        public String op() {
            return "involution_aggregate";
        }
    }

    /** An {@code involution2d} module case, weights under their official names. */
    record Involution2dCase(CaseData data, Involution2dParams params, float[] reduceWeight, float[] bnWeight,
                            float[] bnBias, float[] bnRunningMean, float[] bnRunningVar, float[] spanWeight,
                            float[] spanBias) implements VectorCase {
        @Override
        public String op() {
            return "involution2d";
        }
    }

    /**
     * A {@code rednet_bottleneck} module case: one official RedNet bottleneck
     * ({@link Models#rednetBottleneck}) with its parameters under their official names relative
     * to the block ({@code conv1.weight}, {@code bn1.*}, {@code conv2.conv1.conv.weight}, …,
     * {@code downsample.0.weight}, {@code downsample.1.*}).
     *
     * @param parameters every tensor of {@link #layer()}{@code .parameters()}, by name, shapes checked
     */
    record RednetBottleneckCase(CaseData data, long inChannels, long outChannels, long stride,
                                Map<String, float[]> parameters) implements VectorCase {
        @Override
        public String op() {
            return "rednet_bottleneck";
        }

        /** The block, with the bare names of the vector. */
        public Layer.Residual layer() {
            return Models.rednetBottleneck("", inChannels, outChannels, stride);
        }
    }
}
