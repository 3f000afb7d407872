package dev.invconv.conformance;

import dev.invconv.Layout;
import dev.invconv.Tensor;
import dev.invconv.Vectors;
import dev.invconv.model.ModelWeights;
import dev.invconv.model.ReferenceNetwork;
import dev.invconv.reference.ReferenceConv2d;
import dev.invconv.reference.ReferenceInvolution;
import dev.invconv.reference.ReferenceInvolution2d;
import dev.invconv.reference.ReferenceSeparableConv2d;
import dev.invconv.reference.Result;
import dev.invconv.reference.Tolerance;
import dev.invconv.safetensors.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The plain-Java references against the PyTorch golden vectors (SPEC §8), in both layouts:
 * the oracle must itself be right before it judges the native kernels.
 */
class GoldenVectorsTest {

    /** Ops with vectors this suite does not run yet (none: the RedNet bottleneck runs through the model reference). */
    private static final Set<String> NOT_YET = Set.of();

    private static String op(Path file) throws IOException {
        try (SafeTensors tensors = SafeTensors.open(file)) {
            String op = tensors.metadata().get("op");
            assertNotNull(op, file + " has no 'op' metadata");
            return op;
        }
    }

    static Stream<Arguments> cases() throws IOException {
        List<Arguments> cases = new ArrayList<>();
        for (Path file : Vectors.files()) {
            if (!NOT_YET.contains(op(file))) {
                for (Layout layout : Layout.values()) {
                    cases.add(Arguments.of(file.getFileName().toString(), file, layout));
                }
            }
        }
        return cases.stream();
    }

    @Test
    void everyOpHasVectorsAndEveryVectorIsKnown() throws IOException {
        Set<String> seen = new HashSet<>();
        for (Path file : Vectors.files()) {
            String op = op(file);
            assertTrue(VectorCase.OPS.contains(op) || NOT_YET.contains(op), file + ": unexpected op " + op);
            seen.add(op);
        }
        assertTrue(seen.containsAll(VectorCase.OPS), "vectors for every op; found " + seen);
    }

    @ParameterizedTest(name = "{0} {2}")
    @MethodSource("cases")
    void referenceMatchesTheVector(String name, Path file, Layout layout) throws IOException {
        VectorCase vector = VectorCase.load(file);
        CaseData data = vector.data();
        try (Arena arena = Arena.ofConfined()) {
            Tensor input = data.input(arena, layout);
            Result result = switch (vector) {
                case VectorCase.Conv2dCase c -> {
                    if (c.pads() != null) {
                        assertEquals(c.pads(), c.params().pads(data.inputShape().h(), data.inputShape().w()),
                                "metadata pads vs Padding.resolve");
                    }
                    yield ReferenceConv2d.run(c.params(), input, c.weight(), c.bias(), null);
                }
                case VectorCase.SeparableConv2dCase c -> {
                    if (c.pads() != null) {
                        assertEquals(c.pads(), c.params().depthwise().pads(data.inputShape().h(), data.inputShape().w()),
                                "metadata pads vs Padding.resolve");
                    }
                    yield ReferenceSeparableConv2d.run(c.params(), input, c.depthwiseWeight(), c.depthwiseBias(),
                            c.pointwiseWeight(), c.pointwiseBias());
                }
                case VectorCase.InvolutionAggregateCase c -> {
                    if (c.padding() >= 0) {
                        assertEquals(c.padding(), c.params().padding(), "metadata padding vs (K − 1) / 2 · d");
                    }
                    Tensor kernels = Tensor.of(arena, c.params().kernelsShape(data.inputShape()), c.kernels())
                            .toLayout(arena, layout);
                    yield ReferenceInvolution.aggregate(c.params(), input, kernels);
                }
                case VectorCase.Involution2dCase c -> ReferenceInvolution2d.run(c.params(), input, c.reduceWeight(),
                        c.bnWeight(), c.bnBias(), c.bnRunningMean(), c.bnRunningVar(), c.spanWeight(), c.spanBias());
                case VectorCase.RednetBottleneckCase c -> {
                    // A module: BatchNorm, adds and activations composed by the model reference.
                    try (ModelWeights weights = ModelWeights.of(c.layer(), c.parameters())) {
                        double[] values = ReferenceNetwork.forward(c.layer(), weights, input);
                        yield new Result(data.outputShape(), values, new double[values.length]);
                    }
                }
            };
            assertEquals(data.outputShape(), result.shape());
            Tolerance.Report exact = data.check(result.values());
            assertTrue(exact.passed(), name + ": " + exact.describe(result.shape()));
            // As a float32 implementation would return them.
            Tolerance.Report rounded = data.check(result.toFloatArray());
            assertTrue(rounded.passed(), name + " rounded: " + rounded.describe(result.shape()));
            if (data.magnitude() != null) {
                // The vectors' magnitudes follow the same definition as the reference's.
                Tolerance.Report magnitude = Tolerance.check(result.magnitude(), data.magnitude(), data.magnitude());
                assertTrue(magnitude.passed(), name + " magnitude: " + magnitude.describe(result.shape()));
            }
        }
    }
}
