package dev.invconv.conformance;

import dev.invconv.Context;
import dev.invconv.Conv2d;
import dev.invconv.Involution2d;
import dev.invconv.InvolutionAggregate;
import dev.invconv.Layout;
import dev.invconv.SeparableConv2d;
import dev.invconv.Tensor;
import dev.invconv.model.Layer;
import dev.invconv.model.ModelWeights;
import dev.invconv.model.Network;

import java.lang.foreign.Arena;
import java.util.Map;

/**
 * Runs a {@link VectorCase} through the native operators, as {@code invconv verify} and the
 * golden-vector tests do.
 */
public final class NativeRunner {

    private NativeRunner() {}

    /**
     * Builds the case's operator, runs it on the case's input in {@code layout}, and returns the
     * output in logical NCHW order (ready for {@link CaseData#check(float[])}).
     */
    public static float[] run(VectorCase vectorCase, Layout layout, Context context) {
        try (Arena arena = Arena.ofConfined()) {
            Tensor input = vectorCase.data().input(arena, layout);
            Tensor out = switch (vectorCase) {
                case VectorCase.Conv2dCase c -> {
                    try (Conv2d conv = Conv2d.create(c.params(), c.weight(), c.bias())) {
                        Tensor y = Tensor.allocate(arena, conv.outputShape(input.shape()), layout);
                        conv.apply(input, null, y, context);
                        yield y;
                    }
                }
                case VectorCase.SeparableConv2dCase c -> {
                    try (SeparableConv2d sep = SeparableConv2d.create(c.params(), c.depthwiseWeight(),
                            c.depthwiseBias(), c.pointwiseWeight(), c.pointwiseBias())) {
                        Tensor y = Tensor.allocate(arena, sep.outputShape(input.shape()), layout);
                        sep.apply(input, y, context);
                        yield y;
                    }
                }
                case VectorCase.InvolutionAggregateCase c -> {
                    try (InvolutionAggregate agg = InvolutionAggregate.create(c.params())) {
                        Tensor kernels = Tensor.of(arena, agg.kernelsShape(input.shape()), c.kernels());
                        if (layout != Layout.NCHW) {
                            kernels = kernels.toLayout(arena, layout);
                        }
                        Tensor y = Tensor.allocate(arena, agg.outputShape(input.shape()), layout);
                        agg.apply(input, kernels, y, context);
                        yield y;
                    }
                }
                case VectorCase.Involution2dCase c -> {
                    Map<String, float[]> parameters = Map.of(
                            Involution2d.REDUCE_WEIGHT, c.reduceWeight(),
                            Involution2d.BN_WEIGHT, c.bnWeight(),
                            Involution2d.BN_BIAS, c.bnBias(),
                            Involution2d.BN_RUNNING_MEAN, c.bnRunningMean(),
                            Involution2d.BN_RUNNING_VAR, c.bnRunningVar(),
                            Involution2d.SPAN_WEIGHT, c.spanWeight(),
                            Involution2d.SPAN_BIAS, c.spanBias());
                    try (Involution2d inv = Involution2d.create(c.params(), parameters)) {
                        Tensor y = Tensor.allocate(arena, inv.outputShape(input.shape()), layout);
                        inv.apply(input, y, context);
                        yield y;
                    }
                }
                case VectorCase.RednetBottleneckCase c -> {
                    Layer block = c.layer();
                    try (ModelWeights weights = ModelWeights.of(block, c.parameters());
                         Network network = Network.build(block, weights)) {
                        Tensor y = Tensor.allocate(arena, network.outputShape(input.shape()), layout);
                        network.forward(input, y, context);
                        yield y;
                    }
                }
            };
            return (layout == Layout.NCHW ? out : out.toLayout(arena, Layout.NCHW)).toArray();
        }
    }
}
