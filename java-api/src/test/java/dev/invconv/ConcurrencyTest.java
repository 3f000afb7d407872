package dev.invconv;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.invconv.ReferenceAssertions.assertBitIdentical;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Threads (SPEC §5, §7): results are bit-identical for any thread count; several Java threads
 * may run one operator object at once, sharing a context; and closing an operator, context or
 * tensor while another thread runs never crashes — the run completes, or fails with
 * IllegalStateException.
 *
 * <p>Every problem is large enough that a run is cut into several tasks.
 */
class ConcurrencyTest {

    private static final int[] THREAD_COUNTS = {1, 2, 3, 5};
    private static final int JAVA_THREADS = 4;

    private static final List<Context> contexts = new ArrayList<>();

    @BeforeAll
    static void startContexts() {
        for (int threads : THREAD_COUNTS) {
            contexts.add(Context.create(threads));
        }
    }

    @AfterAll
    static void stopContexts() {
        contexts.forEach(Context::close);
    }

    /** An operator with its input(s), built fresh for each use. */
    interface Problem extends AutoCloseable {

        Shape inputShape();

        /** Runs on {@code input} (and the problem's other tensors) into a new tensor of {@code arena}. */
        Tensor run(Tensor input, Arena arena, Context context);

        @Override
        void close();
    }

    /** A named problem in one layout, built at one ISA level, for parameterized tests. */
    record Case(String name, Layout layout, Isa isa) {

        Case(String name, Layout layout) {
            this(name, layout, IsaLevels.top());
        }

        @Override
        public String toString() {
            return name + " " + layout + " " + IsaLevels.describe(isa);
        }

        Problem build(Random random) {
            return IsaLevels.build(isa, () -> buildAtTheCurrentLimit(random));
        }

        private Problem buildAtTheCurrentLimit(Random random) {
            return switch (name) {
                case "conv2d" -> conv(Conv2d.builder(8, 16, 3).padding(Padding.SAME).relu(), random, 2, 8, 20, 21, layout);
                case "conv2d grouped, strided" -> conv(Conv2d.builder(12, 12, 5, 3).groups(3).stride(2, 1).dilation(1, 2)
                        .padding(Padding.explicit(2, 1, 3, 0)), random, 2, 12, 25, 19, layout);
                case "depthwise" -> conv(DepthwiseConv2d.builder(32, 3).multiplier(2).padding(Padding.SAME), random, 1, 32, 24, 23, layout);
                case "pointwise" -> pointwise(random, layout);
                case "separable" -> separable(random, layout);
                case "involution" -> aggregate(random, layout);
                case "involution2d" -> involution2d(random, layout);
                default -> throw new IllegalArgumentException(name);
            };
        }
    }

    static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        for (String name : List.of("conv2d", "conv2d grouped, strided", "depthwise", "pointwise", "separable",
                "involution", "involution2d")) {
            for (Layout layout : Layout.values()) {
                cases.add(new Case(name, layout));
            }
        }
        // The involution paths have AVX2 kernels as well as AVX-512 and scalar ones.
        for (Isa isa : IsaLevels.all()) {
            if (isa != IsaLevels.top()) {
                for (Layout layout : Layout.values()) {
                    cases.add(new Case("involution", layout, isa));
                    cases.add(new Case("involution2d", layout, isa));
                }
            }
        }
        return cases;
    }

    // ---- thread counts --------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void resultsAreBitIdenticalForAnyThreadCount(Case c) {
        Random random = new Random(c.toString().hashCode());
        try (Problem problem = c.build(random); Arena arena = Arena.ofConfined()) {
            Tensor input = randomInput(arena, problem.inputShape(), c.layout(), random);
            float[] single = RandomTensors.toNchw(problem.run(input, arena, contexts.getFirst()));
            for (int i = 1; i < contexts.size(); i++) {
                Context context = contexts.get(i);
                Tensor out = problem.run(input, arena, context);
                assertBitIdentical(c + ": " + context.threads() + " threads vs 1", out.shape(), single, RandomTensors.toNchw(out));
            }
        }
    }

    // ---- several Java threads on one operator ---------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    @Timeout(60)
    void javaThreadsShareOneOperatorAndOneContext(Case c) throws Exception {
        Random random = new Random(c.toString().hashCode() + 1);
        int rounds = 8;
        try (Problem problem = c.build(random); Arena arena = Arena.ofShared()) {
            // One input per Java thread, each with its expected output from a sequential run.
            List<Tensor> inputs = new ArrayList<>();
            List<float[]> expected = new ArrayList<>();
            for (int t = 0; t < JAVA_THREADS; t++) {
                Tensor input = randomInput(arena, problem.inputShape(), c.layout(), random);
                inputs.add(input);
                expected.add(RandomTensors.toNchw(problem.run(input, arena, contexts.getFirst())));
            }
            Context shared = contexts.get(1); // 2 threads, contended by all Java threads
            CountDownLatch start = new CountDownLatch(1);
            ExecutorService pool = Executors.newFixedThreadPool(JAVA_THREADS);
            try {
                List<Future<?>> futures = new ArrayList<>();
                for (int t = 0; t < JAVA_THREADS; t++) {
                    int index = t;
                    futures.add(pool.submit(() -> {
                        start.await();
                        for (int round = 0; round < rounds; round++) {
                            // Alternate the shared 2-thread context and the 5-thread one.
                            Context context = (round + index) % 2 == 0 ? shared : contexts.getLast();
                            try (Arena local = Arena.ofConfined()) {
                                Tensor out = problem.run(inputs.get(index), local, context);
                                assertBitIdentical(c + ": Java thread " + index + ", round " + round + ", "
                                        + context.threads() + " threads", out.shape(), expected.get(index),
                                        RandomTensors.toNchw(out));
                            }
                        }
                        return null;
                    }));
                }
                start.countDown();
                for (Future<?> future : futures) {
                    try {
                        future.get();
                    } catch (ExecutionException e) {
                        if (e.getCause() instanceof AssertionError assertion) {
                            throw assertion; // the message names the case, thread and round
                        }
                        throw e;
                    }
                }
            } finally {
                pool.shutdownNow();
                assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS));
            }
        }
    }

    // ---- closing while another thread runs ------------------------------------------------------

    /**
     * One thread runs an operator in a loop while the main thread closes it: every run either
     * completes with the right result or fails with IllegalStateException, and once closed the
     * operator refuses to run.
     */
    @Test
    @Timeout(60)
    void closingAnOperatorWhileAnotherThreadRunsIt() throws Exception {
        Random random = new Random(11);
        Case c = new Case("conv2d", Layout.NHWC);
        Problem problem = c.build(random);
        try (Arena arena = Arena.ofShared()) {
            Tensor input = randomInput(arena, problem.inputShape(), c.layout(), random);
            float[] expected = RandomTensors.toNchw(problem.run(input, arena, contexts.get(1)));
            RunLoop loop = RunLoop.start(() -> {
                try (Arena local = Arena.ofConfined()) {
                    Tensor out = problem.run(input, local, contexts.get(1));
                    assertBitIdentical("run racing close", out.shape(), expected, RandomTensors.toNchw(out));
                }
            });
            loop.awaitRuns(3);
            closeEventually(problem::close);
            loop.stopAndCheck();
            assertThrows(IllegalStateException.class, () -> problem.run(input, arena, contexts.get(1)),
                    "a closed operator refuses to run");
        }
    }

    @Test
    @Timeout(60)
    void closingAContextWhileAnotherThreadRunsOnIt() throws Exception {
        Random random = new Random(12);
        Case c = new Case("separable", Layout.NCHW);
        try (Problem problem = c.build(random); Arena arena = Arena.ofShared()) {
            Context context = Context.create(2);
            Tensor input = randomInput(arena, problem.inputShape(), c.layout(), random);
            float[] expected = RandomTensors.toNchw(problem.run(input, arena, context));
            RunLoop loop = RunLoop.start(() -> {
                try (Arena local = Arena.ofConfined()) {
                    Tensor out = problem.run(input, local, context);
                    assertBitIdentical("run racing context close", out.shape(), expected, RandomTensors.toNchw(out));
                }
            });
            loop.awaitRuns(3);
            closeEventually(context::close);
            loop.stopAndCheck();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> problem.run(input, arena, context));
            assertEquals("context is closed", e.getMessage());
        }
    }

    @Test
    @Timeout(60)
    void closingAnInputTensorWhileAnotherThreadReadsIt() throws Exception {
        Random random = new Random(13);
        Case c = new Case("involution", Layout.NHWC);
        try (Problem problem = c.build(random); Arena arena = Arena.ofShared()) {
            Tensor owned = Tensor.allocate(problem.inputShape(), c.layout());
            owned.segment().copyFrom(randomInput(arena, problem.inputShape(), c.layout(), random).segment());
            float[] expected = RandomTensors.toNchw(problem.run(owned, arena, contexts.get(1)));
            RunLoop loop = RunLoop.start(() -> {
                try (Arena local = Arena.ofConfined()) {
                    Tensor out = problem.run(owned, local, contexts.get(1));
                    assertBitIdentical("run racing tensor close", out.shape(), expected, RandomTensors.toNchw(out));
                }
            });
            loop.awaitRuns(3);
            closeEventually(owned::close);
            loop.stopAndCheck();
            assertThrows(IllegalStateException.class, () -> problem.run(owned, arena, contexts.get(1)));
        }
    }

    /**
     * Calls {@code close} until it succeeds: closing during a run may fail with
     * IllegalStateException (the run holds the native object), and must not fail otherwise.
     */
    private static void closeEventually(Runnable close) throws InterruptedException {
        for (int attempt = 0; ; attempt++) {
            try {
                close.run();
                return;
            } catch (IllegalStateException busy) {
                assertTrue(attempt < 100_000, "close kept failing: " + busy);
                Thread.sleep(0, 100_000);
            }
        }
    }

    /** A thread running an action until it fails or is stopped; anything but IllegalStateException is an error. */
    private static final class RunLoop {
        private final AtomicBoolean stop = new AtomicBoolean();
        private final AtomicInteger runs = new AtomicInteger();
        private final ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        private final AtomicInteger refused = new AtomicInteger();
        private Thread thread;

        static RunLoop start(Runnable action) {
            RunLoop loop = new RunLoop();
            loop.thread = Thread.ofPlatform().name("invconv-run-loop").start(() -> {
                while (!loop.stop.get()) {
                    try {
                        action.run();
                        loop.runs.incrementAndGet();
                    } catch (IllegalStateException closed) {
                        loop.refused.incrementAndGet();
                        return; // the object was closed under us: the only acceptable failure
                    } catch (Throwable t) {
                        loop.failures.add(t);
                        return;
                    }
                }
            });
            return loop;
        }

        void awaitRuns(int count) throws InterruptedException {
            while (runs.get() < count && thread.isAlive()) {
                Thread.sleep(1);
            }
        }

        void stopAndCheck() throws InterruptedException {
            // Give the loop a moment to hit the closed object, then stop it.
            thread.join(2_000);
            stop.set(true);
            thread.join();
            if (!failures.isEmpty()) {
                Throwable first = failures.peek();
                throw new AssertionError("a run failed with something other than IllegalStateException: " + first, first);
            }
            assertTrue(runs.get() >= 3, "runs before close: " + runs.get());
            assertEquals(1, refused.get(), "the loop ends on IllegalStateException once the object is closed");
        }
    }

    // ---- problems -------------------------------------------------------------------------------

    private static Tensor randomInput(Arena arena, Shape shape, Layout layout, Random random) {
        return RandomTensors.tensor(arena, shape, layout, RandomTensors.uniform(random, shape.elementCount(), 1f));
    }

    private static Problem conv(Conv2d.Builder builder, Random random, long batch, long channels, long h, long w,
                                Layout layout) {
        Conv2dParams p = builder.params();
        return convProblem(Conv2d.create(p, RandomTensors.uniform(random, p.weightShape().elementCount(), 1f),
                RandomTensors.uniform(random, p.outChannels(), 1f)), Shape.nchw(batch, channels, h, w), layout, random);
    }

    private static Problem conv(DepthwiseConv2d.Builder builder, Random random, long batch, long channels, long h, long w,
                                Layout layout) {
        Conv2dParams p = builder.params();
        return convProblem(builder.build(RandomTensors.uniform(random, p.weightShape().elementCount(), 1f), null),
                Shape.nchw(batch, channels, h, w), layout, random);
    }

    private static Problem pointwise(Random random, Layout layout) {
        Conv2dParams p = PointwiseConv2d.builder(32, 40).params();
        return convProblem(PointwiseConv2d.builder(32, 40).relu().build(
                RandomTensors.uniform(random, p.weightShape().elementCount(), 1f), null), Shape.nchw(2, 32, 23, 25), layout, random);
    }

    /** A conv with a fused residual, so the residual path is covered too. */
    private static Problem convProblem(Conv2d conv, Shape input, Layout layout, Random random) {
        Shape out = conv.outputShape(input);
        float[] residual = RandomTensors.uniform(random, out.elementCount(), 1f);
        return new Problem() {
            public Shape inputShape() {
                return input;
            }

            public Tensor run(Tensor x, Arena arena, Context context) {
                Tensor y = RandomTensors.tensor(arena, out, layout, residual);
                conv.apply(x, y, y, context);
                return y;
            }

            public void close() {
                conv.close();
            }
        };
    }

    private static Problem separable(Random random, Layout layout) {
        SeparableConv2dParams p = SeparableConv2d.builder(32, 16, 3).multiplier(2).stride(1).padding(Padding.SAME)
                .depthwiseActivation(Activation.RELU6).relu().params();
        SeparableConv2d sep = SeparableConv2d.create(p,
                RandomTensors.uniform(random, p.depthwise().weightShape().elementCount(), 1f),
                RandomTensors.uniform(random, p.depthwiseChannels(), 1f),
                RandomTensors.uniform(random, p.pointwise().weightShape().elementCount(), 1f), null);
        Shape input = Shape.nchw(2, 32, 33, 31);
        return new Problem() {
            public Shape inputShape() {
                return input;
            }

            public Tensor run(Tensor x, Arena arena, Context context) {
                Tensor y = Tensor.allocate(arena, sep.outputShape(input), layout);
                sep.apply(x, y, context);
                return y;
            }

            public void close() {
                sep.close();
            }
        };
    }

    private static Problem aggregate(Random random, Layout layout) {
        InvolutionAggregate agg = InvolutionAggregate.builder(64, 7).groupChannels(16).build();
        Shape input = Shape.nchw(2, 64, 17, 15);
        Shape kernelsShape = agg.kernelsShape(input);
        Arena kernelsArena = Arena.ofShared();
        Tensor kernels = RandomTensors.tensor(kernelsArena, kernelsShape, layout,
                RandomTensors.uniform(random, kernelsShape.elementCount(), 1f));
        return new Problem() {
            public Shape inputShape() {
                return input;
            }

            public Tensor run(Tensor x, Arena arena, Context context) {
                Tensor y = Tensor.allocate(arena, agg.outputShape(input), layout);
                agg.apply(x, kernels, y, context);
                return y;
            }

            public void close() {
                agg.close();
                kernelsArena.close();
            }
        };
    }

    private static Problem involution2d(Random random, Layout layout) {
        Involution2dParams p = new Involution2dParams(32, 7, 2, 1, 8, 4, 1e-5);
        Map<String, float[]> parameters = NativeInvolutionTest.randomParameters(random, p);
        Involution2d inv = Involution2d.create(p, parameters);
        Shape input = Shape.nchw(2, 32, 32, 30);
        return new Problem() {
            public Shape inputShape() {
                return input;
            }

            public Tensor run(Tensor x, Arena arena, Context context) {
                Tensor y = Tensor.allocate(arena, inv.outputShape(input), layout);
                inv.apply(x, y, context);
                return y;
            }

            public void close() {
                inv.close();
            }
        };
    }

    @Test
    void contextsReportTheirThreadCounts() {
        for (int i = 0; i < THREAD_COUNTS.length; i++) {
            assertEquals(THREAD_COUNTS[i], contexts.get(i).threads());
        }
        assertInstanceOf(Context.class, Context.shared());
        assertTrue(Context.shared().threads() >= 1);
    }
}
