package dev.invconv;

import dev.invconv.reference.ReferenceConv2d;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Which native kernel an operator runs (STYLE §2, §5): depthwise and pointwise convolutions get
 * their own kernels, the names say the ISA after a double underscore, and a lowered ISA limit
 * applies to operators built after it.
 */
class KernelNameTest {

    private static Conv2d standard() {
        return Conv2d.builder(4, 8, 3).padding(Padding.SAME).build(new float[8 * 4 * 9], null);
    }

    private static Conv2d depthwise() {
        return DepthwiseConv2d.builder(8, 3).padding(Padding.SAME).build(new float[8 * 9], null);
    }

    private static Conv2d pointwise() {
        return PointwiseConv2d.builder(8, 16).build(new float[16 * 8], null);
    }

    @Test
    void depthwisePointwiseAndStandardConvolutionsUseTheirOwnKernels() {
        try (Conv2d standard = standard(); Conv2d depthwise = depthwise(); Conv2d pointwise = pointwise()) {
            String conv = standard.kernelName();
            String dw = depthwise.kernelName();
            String pw = pointwise.kernelName();
            assertTrue(conv.contains("conv2d") && !conv.contains("dwconv") && !conv.contains("pwconv"), conv);
            assertTrue(dw.contains("dwconv"), dw);
            assertTrue(pw.contains("pwconv"), pw);
            assertEquals(3, List.of(conv, dw, pw).stream().distinct().count(), conv + ", " + dw + ", " + pw);
        }
    }

    @Test
    void namesSayTheirIsaWhichNeverExceedsTheActiveOne() {
        Isa active = Invconv.activeIsa();
        for (String name : allKernelNames()) {
            for (String part : name.split("\\+")) {
                assertTrue(part.startsWith("f32_"), name);
                assertTrue(IsaLevels.of(part).compareTo(active) <= 0, part + " is above the active ISA " + active);
            }
        }
    }

    /** Restores the limit to the level the tests started at (the detected ISA unless INVCONV_MAX_ISA lowers it). */
    @Test
    void scalarLimitAppliesToOperatorsBuiltAfterIt() {
        try {
            Invconv.setMaxIsa(Isa.SCALAR);
            assertEquals(Isa.SCALAR, Invconv.activeIsa());
            for (String name : allKernelNames()) {
                for (String part : name.split("\\+")) {
                    assertTrue(part.endsWith("__scalar"), name);
                }
            }
        } finally {
            Invconv.setMaxIsa(IsaLevels.top());
        }
        assertEquals(IsaLevels.top(), Invconv.activeIsa(), "limit restored");
        assertTrue(Invconv.activeIsa().compareTo(Invconv.detectedIsa()) <= 0);
    }

    @Test
    void everyLevelUpToTheActiveOneCanBeSelected() {
        for (Isa isa : IsaLevels.all()) {
            for (String name : IsaLevels.build(isa, KernelNameTest::allKernelNames)) {
                assertTrue(IsaLevels.of(name).compareTo(isa) <= 0, name + " is above the limit " + isa);
            }
        }
        assertEquals(IsaLevels.top(), Invconv.activeIsa(), "limit restored");
    }

    @Test
    void anOperatorKeepsItsKernelAfterTheLimitIsRestored() {
        Random random = new Random(5);
        float[] w = RandomTensors.uniform(random, 8 * 4 * 9, 1f);
        Shape in = Shape.nchw(2, 4, 9, 9);
        Conv2d scalar = IsaLevels.build(Isa.SCALAR, () -> Conv2d.builder(4, 8, 3).build(w, null));
        try (scalar; Arena arena = Arena.ofConfined()) {
            assertTrue(scalar.kernelName().endsWith("__scalar"), scalar.kernelName());
            Tensor x = RandomTensors.tensor(arena, in, Layout.NHWC, RandomTensors.uniform(random, in.elementCount(), 1f));
            Tensor y = scalar.apply(x, arena);
            ReferenceAssertions.assertWithinTolerance("scalar " + Problems.conv2d(scalar.params(), 2, 9, 9, Layout.NHWC),
                    ReferenceConv2d.run(scalar.params(), x, w, null, null), RandomTensors.toNchw(y));
        }
    }

    /** The kernel names of one operator of every kind, built now (so with the ISA limit of now). */
    private static List<String> allKernelNames() {
        Involution2dParams p = new Involution2dParams(16, 3, 2, 1, 8, 4, 1e-5);
        Map<String, float[]> parameters = NativeInvolutionTest.randomParameters(new Random(1), p);
        try (Conv2d standard = standard(); Conv2d depthwise = depthwise(); Conv2d pointwise = pointwise();
             SeparableConv2d separable = SeparableConv2d.builder(4, 8, 3).build(new float[36], null, new float[32], null);
             InvolutionAggregate aggregate = InvolutionAggregate.builder(16, 3).groupChannels(8).build();
             Involution2d involution = Involution2d.create(p, parameters)) {
            List<String> names = List.of(standard.kernelName(), depthwise.kernelName(), pointwise.kernelName(),
                    separable.kernelName(), aggregate.kernelName(), involution.kernelName());
            assertTrue(separable.kernelName().contains("dwconv") && separable.kernelName().contains("pwconv"),
                    separable.kernelName());
            assertTrue(aggregate.kernelName().contains("invol"), aggregate.kernelName());
            assertTrue(involution.kernelName().contains("invol"), involution.kernelName());
            assertNotEquals("", String.join("", names));
            return names;
        }
    }
}
