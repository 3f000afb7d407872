package dev.invconv.cli;

import dev.invconv.Context;
import dev.invconv.Conv2d;
import dev.invconv.DepthwiseConv2d;
import dev.invconv.Invconv;
import dev.invconv.Isa;
import dev.invconv.Padding;
import dev.invconv.PointwiseConv2d;
import dev.invconv.cli.bench.Peak;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * {@code invconv info}: what library runs here, with which kernels and threads; with
 * {@code --model NAME}, a model's summary instead ({@link ModelInfo}).
 */
final class Info {

    /** How many probe windows {@code info} measures the fp32 peak in (the best counts). */
    private static final int PEAK_WINDOWS = 5;
    private static final double BANDWIDTH_SECONDS = 0.3;

    private Info() {}

    static int run(Main.Options options, PrintStream out) {
        String model = ModelInfo.model(options.arguments());
        if (model != null) {
            return ModelInfo.run(model, out);
        }
        Isa detected = Invconv.detectedIsa();
        Isa active = Invconv.activeIsa();
        out.printf("invconv %s%n", Invconv.version());
        out.printf("library    %s%n", Invconv.libraryOrigin());
        out.printf("cpu        %s, %s%n", System.getProperty("os.arch"), cpuModel());
        out.printf("isa        %s (detected %s%s)%n", name(active), name(detected),
                active == detected ? "" : ", limited by --max-isa or INVCONV_MAX_ISA");
        try (Context context = options.openContext()) {
            out.printf("threads    %d%n", context.threads());
            // The FMA-loop probe on every thread of the context: the yardstick of "% of peak".
            double peak = Peak.measure(context, PEAK_WINDOWS);
            out.printf(Locale.ROOT, "peak       %.1f GFLOP/s fp32 measured (FMA loop, %d threads, %s, best of %d x %.1f s)%n",
                    peak, context.threads(), name(active), PEAK_WINDOWS, Peak.WINDOW_SECONDS);
            // STREAM copy on the same threads: the yardstick of memory-bound layers.
            double bandwidth = Invconv.measureBandwidthGbps(context, BANDWIDTH_SECONDS);
            out.printf(Locale.ROOT, "bandwidth  %.1f GB/s measured (copy of 64 MiB, read + written, %d threads)%n",
                    bandwidth, context.threads());
        }
        // The kernels operators get on this CPU, from tiny throw-away operators.
        try (Conv2d conv = Conv2d.builder(16, 16, 3).padding(Padding.SAME).build(new float[16 * 16 * 9], null);
             Conv2d depthwise = DepthwiseConv2d.builder(16, 3).padding(Padding.SAME).build(new float[16 * 9], null);
             Conv2d pointwise = PointwiseConv2d.builder(16, 16).build(new float[16 * 16], null)) {
            out.printf("kernels    conv2d 3x3: %s%n", conv.kernelName());
            out.printf("           depthwise 3x3: %s%n", depthwise.kernelName());
            out.printf("           pointwise: %s%n", pointwise.kernelName());
        }
        out.printf("pages      %s%n", memoryPages(TRANSPARENT_HUGE_PAGES));
        out.printf("java       %s (%s)%n", Runtime.version(), System.getProperty("java.vm.vendor"));
        return 0;
    }

    static final Path TRANSPARENT_HUGE_PAGES = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");

    /**
     * Where operators keep their weights and networks their activations: the library advises 2 MB
     * pages for them, which Linux grants in its {@code madvise} and {@code always} modes of
     * transparent huge pages ({@code setting}: the file that names the mode in brackets, e.g.
     * {@code always [madvise] never}).
     */
    static String memoryPages(Path setting) {
        String text;
        try {
            text = Files.readString(setting).trim();
        } catch (IOException e) {
            return "weights and activations in the system's default pages (no " + setting + ")";
        }
        int open = text.indexOf('['), close = text.indexOf(']');
        String mode = open >= 0 && close > open ? text.substring(open + 1, close) : text;
        return switch (mode) {
            case "madvise", "always" -> "weights and activations in 2 MB pages (transparent huge pages: "
                    + mode + ")";
            default -> "weights and activations in 4 KB pages (transparent huge pages: " + mode
                    + "; with madvise, a ResNet-50 pass takes 3-4 % less)";
        };
    }

    private static String name(Isa isa) {
        return isa.name().toLowerCase(Locale.ROOT);
    }

    private static String cpuModel() {
        try (var lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("model name"))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim())
                    .findFirst().orElse("unknown model")
                    + ", " + Runtime.getRuntime().availableProcessors() + " CPUs";
        } catch (IOException | UncheckedIOException e) {
            return Runtime.getRuntime().availableProcessors() + " CPUs";
        }
    }
}
