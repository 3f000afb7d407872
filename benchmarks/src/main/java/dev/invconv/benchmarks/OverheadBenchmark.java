package dev.invconv.benchmarks;

import dev.invconv.Context;
import dev.invconv.Conv2d;
import dev.invconv.Invconv;
import dev.invconv.Layout;
import dev.invconv.PointwiseConv2d;
import dev.invconv.Shape;
import dev.invconv.Tensor;
import dev.invconv.bindings.ic_conv2d_params;
import dev.invconv.bindings.invconv_h;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.ADDRESS;

/**
 * The Java API's cost per operator call (SPEC §6: under 1 µs): a 1×1 convolution of one pixel
 * and 4 channels (16 multiply-adds, nanoseconds of work) through {@code Conv2d.apply} — every
 * Java check, the tensors' liveness and the downcall — against the same native run called
 * directly through the jextract binding {@code ic_conv2d_run} on a handle made with
 * {@code ic_conv2d_create}, and an empty downcall ({@code ic_context_num_threads}) for the floor
 * of the FFM transition itself. API overhead = {@code javaApi − rawDowncall}. One thread, so no
 * worker wake-up is measured.
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar OverheadBenchmark
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 3, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
public class OverheadBenchmark {

    private static final long CHANNELS = 4;

    private Arena arena;
    private Context context;
    private Conv2d conv;
    private Tensor input;
    private Tensor output;

    private MemorySegment rawConv;
    private MemorySegment rawContext;
    private MemorySegment src;
    private MemorySegment dst;
    private int nchw;

    @Setup(Level.Trial)
    public void setup() {
        Invconv.version(); // loads the native library before any raw binding is used
        arena = Arena.ofShared();
        context = Context.create(1);
        float[] weights = new float[(int) (CHANNELS * CHANNELS)];
        java.util.Arrays.fill(weights, 0.5f);
        conv = PointwiseConv2d.builder(CHANNELS, CHANNELS).build(weights, null);
        input = Tensor.allocate(arena, Shape.nchw(1, CHANNELS, 1, 1));
        output = Tensor.allocate(arena, Shape.nchw(1, CHANNELS, 1, 1));
        input.copyFrom(new float[] {1, 2, 3, 4});

        // The same convolution made and run through the generated bindings alone.
        MemorySegment params = ic_conv2d_params.allocate(arena);
        ic_conv2d_params.datatype(params, invconv_h.IC_DATATYPE_F32());
        ic_conv2d_params.padding(params, dev.invconv.Padding.VALID.nativeMode());
        ic_conv2d_params.activation(params, dev.invconv.Activation.NONE.nativeValue());
        ic_conv2d_params.in_channels(params, CHANNELS);
        ic_conv2d_params.out_channels(params, CHANNELS);
        ic_conv2d_params.groups(params, 1);
        ic_conv2d_params.kernel_h(params, 1);
        ic_conv2d_params.kernel_w(params, 1);
        ic_conv2d_params.stride_h(params, 1);
        ic_conv2d_params.stride_w(params, 1);
        ic_conv2d_params.dilation_h(params, 1);
        ic_conv2d_params.dilation_w(params, 1);
        MemorySegment w = arena.allocateFrom(java.lang.foreign.ValueLayout.JAVA_FLOAT, weights);
        MemorySegment out = arena.allocate(ADDRESS);
        check(invconv_h.ic_conv2d_create(params, w, w.byteSize(), MemorySegment.NULL, 0, out), "ic_conv2d_create");
        rawConv = out.get(ADDRESS, 0);
        check(invconv_h.ic_context_create(1, out), "ic_context_create");
        rawContext = out.get(ADDRESS, 0);
        src = input.segment();
        dst = arena.allocate(output.shape().byteSize(), 64);
        nchw = Layout.NCHW.nativeValue();

        // Both paths compute the same thing.
        conv.apply(input, null, output, context);
        rawDowncall();
        for (int c = 0; c < CHANNELS; c++) {
            float viaApi = output.get(0, c, 0, 0);
            float viaRaw = dst.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, c);
            if (viaApi != 5.0f || viaRaw != 5.0f) {
                throw new IllegalStateException("overhead bench: channel " + c + " gave " + viaApi + " / " + viaRaw
                        + ", expected 5");
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        invconv_h.ic_conv2d_destroy(rawConv);
        invconv_h.ic_context_destroy(rawContext);
        conv.close();
        context.close();
        arena.close();
    }

    /** The full Java API: argument checks, liveness, shape checks, then the downcall. */
    @Benchmark
    public void javaApi() {
        conv.apply(input, null, output, context);
    }

    /** The native run alone, through the generated binding. */
    @Benchmark
    public int rawDowncall() {
        return invconv_h.ic_conv2d_run(rawConv, rawContext, nchw, 1, 1, 1, src, src.byteSize(), MemorySegment.NULL, 0,
                dst, dst.byteSize());
    }

    /** An empty downcall: the FFM transition's own cost. */
    @Benchmark
    public int emptyDowncall() {
        return invconv_h.ic_context_num_threads(rawContext);
    }

    private static void check(int status, String call) {
        if (status != 0) {
            throw new IllegalStateException(call + " failed: status " + status + ", "
                    + invconv_h.ic_last_error().reinterpret(4096).getString(0));
        }
    }
}
