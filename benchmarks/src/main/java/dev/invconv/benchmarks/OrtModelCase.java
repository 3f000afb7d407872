package dev.invconv.benchmarks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.invconv.reference.Tolerance;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A whole-network case (suite {@code models}, e.g. {@code rednet50_mb1ih224}) on ONNX Runtime
 * Java: the ONNX graph {@code benchmarks/peers/torch_bench.py --export-onnx DIR} wrote as
 * {@code DIR/<case>.onnx} (input {@code input}, static shape {@code [batch, 3, H, W]}), a session
 * with the same options as {@link OrtCase} (intra-op threads = the bench's, inter-op 1,
 * sequential, all graph optimizations) and a direct-buffer input. {@link #run()} is
 * {@code session.run} plus closing its result. {@link #check()} compares ORT's logits with
 * PyTorch's on the input the export saved next to the model ({@code <case>.in.f32},
 * {@code <case>.out.f32}: raw little-endian float32), under the SPEC's module tolerance.
 */
final class OrtModelCase implements AutoCloseable {

    /** A model case name: model family, depth, batch, input height (= width). */
    static final Pattern NAME = Pattern.compile("^(resnet|rednet)(\\d+)_mb(\\d+)ih(\\d+)$");

    private static final long CHANNELS = 3;

    private final OrtSession session;
    private final OnnxTensor input;
    private final Map<String, OnnxTensor> inputs;
    private final Path directory;
    private final String name;
    private final long[] shape;

    private OrtModelCase(OrtSession session, OnnxTensor input, Path directory, String name, long[] shape) {
        this.session = session;
        this.input = input;
        this.inputs = Map.of("input", input);
        this.directory = directory;
        this.name = name;
        this.shape = shape;
    }

    /** Whether {@code text} names a model case. */
    static boolean isModel(String text) {
        return NAME.matcher(text.trim()).matches();
    }

    /** {@code directory/<case>.onnx}. */
    static Path modelFile(Path directory, String text) {
        return directory.resolve(text.trim() + ".onnx");
    }

    /**
     * Loads {@code directory/<case>.onnx} into a session with {@code threads} intra-op threads
     * and binds a seeded random input in [-2, 2) (about ImageNet-normalised pixels).
     */
    static OrtModelCase create(Path directory, String text, int threads, long seed) throws OrtException {
        return create(directory, text, threads, seed, null);
    }

    /**
     * As {@link #create(Path, String, int, long)}, with ORT's own profiling of every node when
     * {@code profilePrefix} is not null (its JSON file starts with it; see {@link #endProfiling}).
     */
    static OrtModelCase create(Path directory, String text, int threads, long seed, Path profilePrefix)
            throws OrtException {
        Matcher m = NAME.matcher(text.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("not a model case: " + text);
        }
        long batch = Long.parseLong(m.group(3));
        long size = Long.parseLong(m.group(4));
        long[] shape = {batch, CHANNELS, size, size};
        SplittableRandom random = new SplittableRandom(seed);
        float[] x = new float[Math.toIntExact(batch * CHANNELS * size * size)];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextDouble(-2, 2);
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession session = null;
        try (OrtSession.SessionOptions options = OrtSessions.options(threads)) {
            if (profilePrefix != null) {
                options.enableProfiling(profilePrefix.toString());
            }
            session = env.createSession(modelFile(directory, text).toString(), options);
            OnnxTensor input = OnnxTensor.createTensor(env, OrtSessions.direct(x), shape);
            return new OrtModelCase(session, input, directory, text.trim(), shape);
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

    /**
     * ORT's logits against PyTorch's for the input saved by the export, or a note that there is
     * nothing to compare with.
     */
    String check() throws OrtException, IOException {
        Path in = directory.resolve(name + ".in.f32");
        Path out = directory.resolve(name + ".out.f32");
        if (!Files.isRegularFile(in) || !Files.isRegularFile(out)) {
            return "no check (" + in.getFileName() + " / " + out.getFileName() + " missing)";
        }
        float[] x = read(in);
        long count = 1;
        for (long d : shape) {
            count *= d;
        }
        if (x.length != count) {
            return "no check (" + in.getFileName() + " has " + x.length + " floats, the input " + count + ")";
        }
        double[] expected = toDouble(read(out));
        float[] actual;
        try (OnnxTensor saved = OnnxTensor.createTensor(OrtEnvironment.getEnvironment(), OrtSessions.direct(x), shape);
             OrtSession.Result result = session.run(Map.of("input", saved))) {
            FloatBuffer y = ((OnnxTensor) result.get(0)).getFloatBuffer();
            actual = new float[y.remaining()];
            y.get(actual);
        }
        if (actual.length != expected.length) {
            return "CHECK FAILED: " + actual.length + " outputs, PyTorch " + expected.length;
        }
        Tolerance.Report report = Tolerance.checkModule(actual, expected);
        return report.passed()
                ? String.format(java.util.Locale.ROOT, "check ok vs PyTorch (max error %.3g)", report.maxError())
                : "CHECK FAILED vs PyTorch: " + report;
    }

    /** Ends ORT's profiling (created with a profile prefix) and returns its JSON file. */
    Path endProfiling() throws OrtException {
        return Path.of(session.endProfiling());
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

    private static float[] read(Path file) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        float[] values = new float[bytes.remaining() / Float.BYTES];
        bytes.asFloatBuffer().get(values);
        return values;
    }

    private static double[] toDouble(float[] values) {
        double[] d = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            d[i] = values[i];
        }
        return d;
    }
}
