package dev.invconv.benchmarks;

import ai.onnxruntime.OrtException;
import dev.invconv.Context;
import dev.invconv.cli.bench.BenchCase;
import dev.invconv.cli.bench.OperatorCase;
import dev.invconv.cli.bench.Problem;
import dev.invconv.reference.Tolerance;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

import java.util.concurrent.TimeUnit;

/**
 * invconv (native, through the public Java API) vs ONNX Runtime Java on the same convolutions:
 * issue 4's three convolution targets, a strided 3×3 and a MobileNetV2 separable block. Same
 * threads ({@code -p threads=N}: invconv's context and ORT's intra-op pool), batch 1, fp32,
 * NCHW, bias, warm caches. Each trial first checks its backend's output against the float64
 * reference on the case's small variant and fails if it is out of tolerance.
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar OperatorBenchmark -p threads=2
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 3, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
public class OperatorBenchmark {

    @Param({"mb1ic64ih56oc64kh3sh1ph1", "mb1ic256ih56oc64kh1sh1ph0", "g32mb1ic32ih112oc32kh3sh1ph1",
            "mb1ic128ih56oc128kh3sh2ph1", "sep_mb1ic144ih56oc24kh3sh1ph1"})
    public String problem;

    @Param({"2"})
    public int threads;

    private Context context;
    private BenchCase.Prepared invconv;
    private OrtCase ort;

    /** Builds only the backend the benchmark method uses (an idle ORT pool must not compete). */
    @Setup(Level.Trial)
    public void setup(BenchmarkParams params) throws OrtException {
        Problem p = Problem.parse(problem);
        if (params.getBenchmark().endsWith(".onnxruntime")) {
            try (OrtCase small = OrtCase.create(p.smallVariant(), threads, 7)) {
                Tolerance.Report report = small.check();
                if (!report.passed()) {
                    throw new IllegalStateException("onnxruntime " + p.smallVariant() + ": " + report);
                }
            }
            ort = OrtCase.create(p, threads, 42);
        } else {
            context = Context.create(threads);
            invconv = Checked.prepare(new OperatorCase(p, 1, Double.NaN), context);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (invconv != null) {
            invconv.close();
        }
        if (context != null) {
            context.close();
        }
        if (ort != null) {
            ort.close();
        }
    }

    @Benchmark
    public void invconv() {
        invconv.run();
    }

    @Benchmark
    public void onnxruntime() throws OrtException {
        ort.run();
    }
}
