package dev.invconv.benchmarks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.invconv.Activation;
import dev.invconv.Conv2dParams;
import dev.invconv.Padding;
import dev.invconv.SeparableConv2dParams;
import dev.invconv.Shape;
import dev.invconv.Tensor;
import dev.invconv.cli.bench.Problem;
import dev.invconv.reference.ReferenceConv2d;
import dev.invconv.reference.ReferenceSeparableConv2d;
import dev.invconv.reference.Result;
import dev.invconv.reference.Tolerance;

import java.lang.foreign.Arena;
import java.nio.FloatBuffer;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * One benchmark case on ONNX Runtime Java: a one-node (separable: two-node) Conv model written
 * by {@link Onnx}, a session with {@code intra_op_num_threads} = the bench's threads, and a
 * direct-buffer input. {@link #run()} is what a user calls: {@code session.run} and closing its
 * result. {@link #check()} compares ORT's output with the float64 plain-Java reference.
 * Involution has no ONNX operator; it is not offered.
 */
final class OrtCase implements AutoCloseable {

    private final Problem problem;
    private final OrtSession session;
    private final OnnxTensor input;
    private final Map<String, OnnxTensor> inputs;
    private final float[] x;
    private final float[][] weights; // conv: w, b; separable: dw, db, pw, pb

    private OrtCase(Problem problem, OrtSession session, OnnxTensor input, float[] x, float[][] weights) {
        this.problem = problem;
        this.session = session;
        this.input = input;
        this.inputs = Map.of("x", input);
        this.x = x;
        this.weights = weights;
    }

    /** Whether ONNX Runtime can run this problem (every convolution; not involution). */
    static boolean supports(Problem p) {
        return p.op() != Problem.Op.INVOLUTION2D;
    }

    static OrtCase create(Problem p, int threads, long seed) throws OrtException {
        if (!supports(p)) {
            throw new IllegalArgumentException("onnxruntime: no ONNX operator for " + p.op().label() + " (" + p + ")");
        }
        SplittableRandom random = new SplittableRandom(seed);
        float[] x = uniform(random, Math.toIntExact(p.n() * p.c() * p.h() * p.w()), 1);
        Onnx.Graph g = new Onnx.Graph("invconv_" + p);
        g.input("x", p.n(), p.c(), p.h(), p.w());
        long[] pads = {p.ph(), p.pw(), p.ph(), p.pw()};
        long[] kernel = {p.kh(), p.kw()};
        long[] strides = {p.sh(), p.sw()};
        float[][] weights;
        if (p.op() == Problem.Op.SEPARABLE) {
            long mid = p.c() * p.dm();
            float[] dw = uniform(random, Math.toIntExact(mid * p.kh() * p.kw()), 1 / Math.sqrt(p.kh() * p.kw()));
            float[] db = uniform(random, (int) mid, 0.1);
            float[] pw = uniform(random, Math.toIntExact(p.oc() * mid), 1 / Math.sqrt(mid));
            float[] pb = uniform(random, (int) p.oc(), 0.1);
            g.initializer("dw", dw, mid, 1, p.kh(), p.kw()).initializer("db", db, mid);
            g.initializer("pw", pw, p.oc(), mid, 1, 1).initializer("pb", pb, p.oc());
            g.conv("x", "dw", "db", "t", kernel, strides, pads, p.c());
            g.conv("t", "pw", "pb", "y", new long[] {1, 1}, new long[] {1, 1}, new long[] {0, 0, 0, 0}, 1);
            weights = new float[][] {dw, db, pw, pb};
        } else {
            long fanIn = p.c() / p.g() * p.kh() * p.kw();
            float[] w = uniform(random, Math.toIntExact(p.oc() * fanIn), 1 / Math.sqrt(fanIn));
            float[] b = uniform(random, (int) p.oc(), 0.1);
            g.initializer("w", w, p.oc(), p.c() / p.g(), p.kh(), p.kw()).initializer("b", b, p.oc());
            g.conv("x", "w", "b", "y", kernel, strides, pads, p.g());
            weights = new float[][] {w, b};
        }
        g.output("y", p.n(), p.oc(), p.outH(), p.outW());

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession session = null;
        try (OrtSession.SessionOptions options = OrtSessions.options(threads)) {
            session = env.createSession(g.toModel(), options);
            OnnxTensor input = OnnxTensor.createTensor(env, OrtSessions.direct(x),
                    new long[] {p.n(), p.c(), p.h(), p.w()});
            return new OrtCase(p, session, input, x, weights);
        } catch (OrtException | RuntimeException e) {
            if (session != null) {
                session.close();
            }
            throw e;
        }
    }

    /** One inference, as a user calls it: run the session, close the result. */
    void run() throws OrtException {
        OrtSessions.runOnce(session, inputs);
    }

    /** ORT's output against the float64 reference on the same data, under the SPEC operator tolerance. */
    Tolerance.Report check() throws OrtException {
        float[] actual;
        try (OrtSession.Result result = session.run(inputs)) {
            FloatBuffer y = ((OnnxTensor) result.get(0)).getFloatBuffer();
            actual = new float[y.remaining()];
            y.get(actual);
        }
        Problem p = problem;
        Padding pads = Padding.explicit(p.ph(), p.pw(), p.ph(), p.pw());
        try (Arena arena = Arena.ofConfined()) {
            Tensor in = Tensor.of(arena, new Shape(p.n(), p.c(), p.h(), p.w()), x);
            Result expected = p.op() == Problem.Op.SEPARABLE
                    ? ReferenceSeparableConv2d.run(new SeparableConv2dParams(p.c(), p.dm(), p.oc(), p.kh(), p.kw(),
                            p.sh(), p.sw(), 1, 1, pads, Activation.NONE, Activation.NONE), in,
                            weights[0], weights[1], weights[2], weights[3])
                    : ReferenceConv2d.run(new Conv2dParams(p.c(), p.oc(), p.kh(), p.kw(), p.sh(), p.sw(), 1, 1, p.g(),
                            pads, Activation.NONE), in, weights[0], weights[1], null);
            return Tolerance.check(actual, expected.values(), expected.magnitude());
        }
    }

    @Override
    public void close() {
        input.close();
        try {
            session.close();
        } catch (OrtException e) {
            throw new IllegalStateException(e);
        }
    }

    private static float[] uniform(SplittableRandom random, int count, double scale) {
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            values[i] = (float) (scale * (2 * random.nextDouble() - 1));
        }
        return values;
    }
}
