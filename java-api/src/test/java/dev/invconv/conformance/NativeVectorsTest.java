package dev.invconv.conformance;

import dev.invconv.Context;
import dev.invconv.Isa;
import dev.invconv.IsaLevels;
import dev.invconv.Layout;
import dev.invconv.Vectors;
import dev.invconv.reference.Tolerance;
import dev.invconv.safetensors.SafeTensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The PyTorch golden vectors (SPEC §8) through the native operators, via {@link NativeRunner}
 * as {@code invconv verify} runs them: every operator vector in NCHW and NHWC, on 1 and 2
 * threads. The vectors directory is required; a missing one fails, it never skips.
 */
class NativeVectorsTest {

    private static final int[] THREADS = {1, 2};

    private static final Context[] contexts = new Context[THREADS.length];

    @BeforeAll
    static void startContexts() {
        for (int i = 0; i < THREADS.length; i++) {
            contexts[i] = Context.create(THREADS[i]);
        }
    }

    @AfterAll
    static void stopContexts() {
        for (Context context : contexts) {
            if (context != null) {
                context.close();
            }
        }
    }

    private static String op(Path file) throws IOException {
        try (SafeTensors tensors = SafeTensors.open(file)) {
            String op = tensors.metadata().get("op");
            assertNotNull(op, file + " has no 'op' metadata");
            return op;
        }
    }

    static Stream<Arguments> operatorVectors() throws IOException {
        List<Arguments> cases = new ArrayList<>();
        for (Path file : Vectors.files()) {
            for (Isa isa : IsaLevels.all()) {
                for (Layout layout : Layout.values()) {
                    for (int i = 0; i < THREADS.length; i++) {
                        cases.add(Arguments.of(file.getFileName().toString(), file, layout, THREADS[i], isa));
                    }
                }
            }
        }
        return cases.stream();
    }

    @Test
    void vectorsCoverEveryNativeOperator() throws IOException {
        Set<String> seen = new TreeSet<>();
        for (Path file : Vectors.files()) {
            seen.add(op(file));
        }
        assertTrue(seen.containsAll(VectorCase.OPS), "vectors for every op of VectorCase.OPS; found " + seen);
    }

    /** At every ISA level: the operators are built, and run, under the level's limit. */
    @ParameterizedTest(name = "{0} {2} threads={3} {4}")
    @MethodSource("operatorVectors")
    void nativeOperatorMatchesTheVector(String name, Path file, Layout layout, int threads, Isa isa)
            throws IOException {
        VectorCase vector = VectorCase.load(file);
        assertTrue(VectorCase.OPS.contains(vector.op()), name + ": op " + vector.op());
        Context context = contexts[Arrays.binarySearch(THREADS, threads)];
        float[] actual = IsaLevels.build(isa, () -> NativeRunner.run(vector, layout, context));
        CaseData data = vector.data();
        assertEquals(data.outputShape().elementCount(), actual.length, name + ": output length");
        Tolerance.Report report = data.check(actual);
        assertTrue(report.passed(), () -> name + " " + layout + " threads=" + context.threads() + " "
                + IsaLevels.describe(isa) + ": "
                + report.describe(data.outputShape()));
    }

    @Test
    void rednetBottleneckRunsAsAModuleCase() throws IOException {
        List<Path> bottlenecks = new ArrayList<>();
        for (Path file : Vectors.files()) {
            if (op(file).equals("rednet_bottleneck")) {
                bottlenecks.add(file);
            }
        }
        assertFalse(bottlenecks.isEmpty(), "the vectors include a rednet_bottleneck case");
        for (Path file : bottlenecks) {
            VectorCase.RednetBottleneckCase block = assertInstanceOf(VectorCase.RednetBottleneckCase.class,
                    VectorCase.load(file), file.toString());
            assertNull(block.data().magnitude(), "a module case has no magnitudes");
            assertEquals(block.layer().parameters().keySet(), block.parameters().keySet());
        }
    }
}
