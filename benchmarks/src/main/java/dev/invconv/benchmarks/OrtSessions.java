package dev.invconv.benchmarks;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Map;

/**
 * What every ONNX Runtime case shares, so that operators and whole models are measured under
 * the same settings: the session options (intra-op threads = the bench's, inter-op 1,
 * sequential execution, all graph optimizations), direct-buffer inputs, and one timed
 * inference as a user calls it.
 */
final class OrtSessions {

    private OrtSessions() {}

    /** The options every case's session is created with; the caller closes them. */
    static OrtSession.SessionOptions options(int threads) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        try {
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(1);
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            return options;
        } catch (OrtException | RuntimeException e) {
            options.close();
            throw e;
        }
    }

    /** {@code values} in a native-order direct buffer, which ORT uses without a copy. */
    static FloatBuffer direct(float[] values) {
        FloatBuffer buffer = ByteBuffer.allocateDirect(values.length * Float.BYTES).order(ByteOrder.nativeOrder())
                .asFloatBuffer();
        buffer.put(values).flip();
        return buffer;
    }

    /** One inference: run the session, check it gave one output, close the result. */
    static void runOnce(OrtSession session, Map<String, OnnxTensor> inputs) throws OrtException {
        try (OrtSession.Result result = session.run(inputs)) {
            if (result.size() != 1) {
                throw new IllegalStateException("onnxruntime returned " + result.size() + " outputs");
            }
        }
    }
}
