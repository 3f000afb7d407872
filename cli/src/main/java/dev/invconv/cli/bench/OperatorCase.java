package dev.invconv.cli.bench;

import dev.invconv.Context;
import dev.invconv.Conv2d;
import dev.invconv.DepthwiseConv2d;
import dev.invconv.Involution2d;
import dev.invconv.Padding;
import dev.invconv.PointwiseConv2d;
import dev.invconv.SeparableConv2d;
import dev.invconv.Shape;
import dev.invconv.Tensor;
import dev.invconv.reference.ReferenceConv2d;
import dev.invconv.reference.ReferenceInvolution2d;
import dev.invconv.reference.ReferenceSeparableConv2d;
import dev.invconv.reference.Result;
import dev.invconv.reference.Tolerance;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * A single operator on one shape, described by a {@link Problem}: built through the public Java
 * API (as a user would), timed through {@code apply(..., context)}, checked against the float64
 * plain-Java reference of {@code dev.invconv.reference}. Bias on, no fused activation, so peers
 * compute the same thing; NCHW in and out.
 *
 * @param problem   the operator and shape
 * @param count     how often the layer occurs in its network
 * @param targetMs  the target median (ms), or NaN
 * @param algorithm how a general convolution is built ({@code bench --winograd}: its 3x3 stride-1
 *                  ones then take Winograd on large enough images; depthwise and pointwise ones
 *                  have no choice)
 */
public record OperatorCase(Problem problem, int count, double targetMs, Conv2d.Algorithm algorithm)
        implements BenchCase {

    public OperatorCase {
        Objects.requireNonNull(problem, "problem");
        Objects.requireNonNull(algorithm, "algorithm");
    }

    /** A case of the direct kernels. */
    public OperatorCase(Problem problem, int count, double targetMs) {
        this(problem, count, targetMs, Conv2d.Algorithm.DIRECT);
    }

    /** A case occurring {@code count} times in its network. */
    public static OperatorCase of(String problem, int count) {
        return new OperatorCase(Problem.parse(problem), count, Double.NaN);
    }

    /** The same case, a general convolution built with {@code algorithm}. */
    public OperatorCase withAlgorithm(Conv2d.Algorithm algorithm) {
        return new OperatorCase(problem, count, targetMs, algorithm);
    }

    @Override
    public String name() {
        return problem.toString();
    }

    @Override
    public String op() {
        return problem.op().label();
    }

    @Override
    public Shape input() {
        return new Shape(problem.n(), problem.c(), problem.h(), problem.w());
    }

    @Override
    public long outChannels() {
        return problem.oc();
    }

    @Override
    public long kernel() {
        return problem.kh();
    }

    @Override
    public long stride() {
        return problem.sh();
    }

    @Override
    public long groups() {
        return problem.op() == Problem.Op.INVOLUTION2D ? problem.c() / problem.gc() : problem.g();
    }

    @Override
    public double flops() {
        return problem.flops();
    }

    @Override
    public double bytes() {
        return problem.bytes();
    }

    @Override
    public boolean memoryBound() {
        return problem.op() == Problem.Op.DEPTHWISE;
    }

    @Override
    public String shapeText() {
        return problem.shapeText();
    }

    @Override
    public BenchCase checkVariant() {
        Problem small = problem.smallVariant();
        return small.equals(problem) ? this : new OperatorCase(small, count, Double.NaN, algorithm);
    }

    @Override
    public Prepared prepare(Context context, long seed) {
        Objects.requireNonNull(context, "context");
        SplittableRandom random = new SplittableRandom(seed);
        Arena arena = Arena.ofShared();
        try {
            Tensor input = Tensor.allocate(arena, input());
            input.copyFrom(uniform(random, (int) input().elementCount(), 1));
            return switch (problem.op()) {
                case CONV2D, DEPTHWISE, POINTWISE -> conv(context, random, arena, input);
                case SEPARABLE -> separable(context, random, arena, input);
                case INVOLUTION2D -> involution(context, random, arena, input);
            };
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    private Prepared conv(Context context, SplittableRandom random, Arena arena, Tensor input) {
        Problem p = problem;
        float[] weights = uniform(random, Math.toIntExact(p.oc() * (p.c() / p.g()) * p.kh() * p.kw()),
                1 / Math.sqrt((double) (p.c() / p.g()) * p.kh() * p.kw()));
        float[] bias = uniform(random, (int) p.oc(), 0.1);
        Padding pads = Padding.explicit(p.ph(), p.pw(), p.ph(), p.pw());
        Conv2d conv = switch (p.op()) {
            case POINTWISE -> PointwiseConv2d.builder(p.c(), p.oc()).build(weights, bias);
            case DEPTHWISE -> DepthwiseConv2d.builder(p.c(), p.kh(), p.kw()).stride(p.sh(), p.sw()).padding(pads)
                    .build(weights, bias);
            default -> Conv2d.builder(p.c(), p.oc(), p.kh(), p.kw()).stride(p.sh(), p.sw()).padding(pads)
                    .groups(p.g()).algorithm(algorithm).build(weights, bias);
        };
        Tensor out = Tensor.allocate(arena, conv.outputShape(input.shape()));
        return new Base(arena, conv, out, conv.kernelName()) {
            @Override
            public void run() {
                conv.apply(input, null, out, context);
            }

            @Override
            Result reference() {
                return ReferenceConv2d.run(conv.params(), input, weights, bias, null);
            }
        };
    }

    private Prepared separable(Context context, SplittableRandom random, Arena arena, Tensor input) {
        Problem p = problem;
        long mid = p.c() * p.dm();
        float[] dw = uniform(random, Math.toIntExact(mid * p.kh() * p.kw()), 1 / Math.sqrt((double) p.kh() * p.kw()));
        float[] db = uniform(random, (int) mid, 0.1);
        float[] pw = uniform(random, Math.toIntExact(p.oc() * mid), 1 / Math.sqrt((double) mid));
        float[] pb = uniform(random, (int) p.oc(), 0.1);
        SeparableConv2d sep = SeparableConv2d.builder(p.c(), p.oc(), p.kh(), p.kw()).multiplier(p.dm())
                .stride(p.sh(), p.sw()).padding(Padding.explicit(p.ph(), p.pw(), p.ph(), p.pw()))
                .build(dw, db, pw, pb);
        Tensor out = Tensor.allocate(arena, sep.outputShape(input.shape()));
        return new Base(arena, sep, out, sep.kernelName()) {
            @Override
            public void run() {
                sep.apply(input, out, context);
            }

            @Override
            Result reference() {
                return ReferenceSeparableConv2d.run(sep.params(), input, dw, db, pw, pb);
            }
        };
    }

    private Prepared involution(Context context, SplittableRandom random, Arena arena, Tensor input) {
        Problem p = problem;
        var params = Involution2d.builder(p.c(), p.kh()).stride(p.sh()).groupChannels(p.gc())
                .reductionRatio(p.r()).params();
        Map<String, float[]> weights = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : Involution2d.parameterShapes(params).entrySet()) {
            long[] shape = e.getValue();
            int count = Math.toIntExact(java.util.Arrays.stream(shape).reduce(1, Math::multiplyExact));
            float[] values = switch (e.getKey()) {
                case Involution2d.BN_WEIGHT -> shifted(uniform(random, count, 0.25), 1);
                case Involution2d.BN_RUNNING_VAR -> shifted(uniform(random, count, 0.5), 1);
                case Involution2d.BN_BIAS, Involution2d.BN_RUNNING_MEAN, Involution2d.SPAN_BIAS -> uniform(random, count, 0.1);
                default -> uniform(random, count, 1 / Math.sqrt((double) shape[1])); // 1×1 conv weights
            };
            weights.put(e.getKey(), values);
        }
        Involution2d inv = Involution2d.create(params, weights);
        Tensor out = Tensor.allocate(arena, inv.outputShape(input.shape()));
        return new Base(arena, inv, out, inv.kernelName()) {
            @Override
            public void run() {
                inv.apply(input, out, context);
            }

            @Override
            Result reference() {
                return ReferenceInvolution2d.run(params, input, weights.get(Involution2d.REDUCE_WEIGHT),
                        weights.get(Involution2d.BN_WEIGHT), weights.get(Involution2d.BN_BIAS),
                        weights.get(Involution2d.BN_RUNNING_MEAN), weights.get(Involution2d.BN_RUNNING_VAR),
                        weights.get(Involution2d.SPAN_WEIGHT), weights.get(Involution2d.SPAN_BIAS));
            }

            @Override
            Tolerance.Report compare(float[] actual, Result expected) {
                return Tolerance.checkModule(actual, expected.values()); // a module: SPEC §8's module rule
            }
        };
    }

    /** What the operator cases share: the arena and operator they own, the reference result. */
    private abstract static class Base implements Prepared {
        private final Arena arena;
        private final AutoCloseable operator;
        private final Tensor out;
        private final String kernelName;
        private Result reference;

        Base(Arena arena, AutoCloseable operator, Tensor out, String kernelName) {
            this.arena = arena;
            this.operator = operator;
            this.out = out;
            this.kernelName = kernelName;
        }

        abstract Result reference();

        Tolerance.Report compare(float[] actual, Result expected) {
            return Tolerance.check(actual, expected.values(), expected.magnitude());
        }

        @Override
        public String kernelName() {
            return kernelName;
        }

        @Override
        public void runJava() {
            reference = reference();
        }

        @Override
        public Verdict check() {
            if (reference == null) {
                runJava();
            }
            Tolerance.Report report = compare(out.toArray(), reference);
            return new Verdict(report.passed(), report.maxError(), report.describe(out.shape()));
        }

        @Override
        public void close() {
            try {
                operator.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            } finally {
                arena.close();
            }
        }
    }

    private static float[] uniform(SplittableRandom random, int count, double scale) {
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            values[i] = (float) (scale * (2 * random.nextDouble() - 1));
        }
        return values;
    }

    private static float[] shifted(float[] values, float by) {
        for (int i = 0; i < values.length; i++) {
            values[i] += by;
        }
        return values;
    }
}
