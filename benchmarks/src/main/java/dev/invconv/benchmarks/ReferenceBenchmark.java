package dev.invconv.benchmarks;

import dev.invconv.Context;
import dev.invconv.cli.bench.BenchCase;
import dev.invconv.cli.bench.OperatorCase;
import dev.invconv.cli.bench.Problem;
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

import java.util.concurrent.TimeUnit;

/**
 * The plain-Java reference ({@code dev.invconv.reference}: float64, direct loops, one thread) on
 * the cases of {@link OperatorBenchmark} and the involution target: the JVM-only baseline a
 * user would otherwise write. A run takes up to seconds, hence one fork and few iterations.
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar ReferenceBenchmark
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class ReferenceBenchmark {

    @Param({"mb1ic64ih56oc64kh3sh1ph1", "mb1ic256ih56oc64kh1sh1ph0", "g32mb1ic32ih112oc32kh3sh1ph1",
            "mb1ic128ih56oc128kh3sh2ph1", "sep_mb1ic144ih56oc24kh3sh1ph1", "inv_mb1ic64ih56kh7sh1gc16r4"})
    public String problem;

    private Context context;
    private BenchCase.Prepared prepared;

    @Setup(Level.Trial)
    public void setup() {
        context = Context.create(1); // the native side is not timed here
        prepared = new OperatorCase(Problem.parse(problem), 1, Double.NaN).prepare(context, 42);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        prepared.close();
        context.close();
    }

    @Benchmark
    public void plainJava() {
        prepared.runJava();
    }
}
