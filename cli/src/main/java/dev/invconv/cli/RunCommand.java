package dev.invconv.cli;

import dev.invconv.Context;
import dev.invconv.Conv2d;
import dev.invconv.Shape;
import dev.invconv.Tensor;
import dev.invconv.model.ImageNetInput;
import dev.invconv.model.Layer;
import dev.invconv.model.ModelWeights;
import dev.invconv.model.Models;
import dev.invconv.model.Network;
import dev.invconv.model.Profile;
import dev.invconv.safetensors.SafeTensors;
import dev.invconv.safetensors.SafeTensorsWriter;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * {@code invconv run --model NAME [...]}: one inference of a RedNet or ResNet on an image, a
 * safetensors input or a seeded random input; prints the top classes, optionally writes the
 * logits and a per-layer profile.
 */
final class RunCommand {

    static final String USAGE = """
              run --model NAME [--weights FILE] [--image FILE]... | [--input FILE]
                  [--output FILE] [--top K] [--batch N] [--profile] [--seed S] [--winograd]
                               classify with rednet26|38|50|101|152 or resnet50|101|152:
                               --weights  safetensors checkpoint by official names (see
                                          tools/convert_checkpoint.py); without it: seeded random
                                          weights, and the output says so
                               --image    JPEG/PNG, resized 256 + centre crop 224, ImageNet-normalised
                                          (repeat for a batch)
                               --input    safetensors with tensor 'input' [N, 3, H, W] (F32)
                                          (neither: a seeded random 224x224 input)
                               --output   write the logits as tensor 'output' [N, classes]
                               --top K    the K most likely ImageNet classes per image (default 5)
                               --batch N  repeat a single input N times
                               --profile  per-layer time table
                               --winograd Winograd F(4x4, 3x3) for the 3x3 stride-1 convolutions of
                                          large enough images (faster; last-bit differences)
            """;

    private static final String CLASSES = "imagenet-classes.txt";

    private RunCommand() {}

    /** The parsed arguments of {@code run}. */
    private static final int PROFILE_WARMUP_PASSES = 3;
    private static final int PROFILE_MIN_PASSES = 5;

    record Arguments(String model, Path weights, List<Path> images, Path input, Path output, int top, int batch,
                     boolean profile, long seed, Conv2d.Algorithm algorithm) {

        static Arguments parse(String[] args) {
            String model = null;
            Path weights = null;
            List<Path> images = new ArrayList<>();
            Path input = null;
            Path output = null;
            int top = 5;
            int batch = 0;
            boolean profile = false;
            long seed = 0;
            Conv2d.Algorithm algorithm = Conv2d.Algorithm.DIRECT;
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                switch (arg) {
                    case "--model" -> model = value(args, ++i, arg);
                    case "--weights" -> weights = Path.of(value(args, ++i, arg));
                    case "--image" -> images.add(Path.of(value(args, ++i, arg)));
                    case "--input" -> input = Path.of(value(args, ++i, arg));
                    case "--output" -> output = Path.of(value(args, ++i, arg));
                    case "--top" -> top = integer(arg, value(args, ++i, arg), 0);
                    case "--batch" -> batch = integer(arg, value(args, ++i, arg), 1);
                    case "--seed" -> seed = integer(arg, value(args, ++i, arg), 0);
                    case "--profile" -> profile = true;
                    case "--winograd" -> algorithm = Conv2d.Algorithm.WINOGRAD;
                    default -> throw new IllegalArgumentException("run: unknown argument '" + arg + "'");
                }
            }
            if (model == null) {
                throw new IllegalArgumentException("run: --model is required (one of " + String.join(", ", Models.NAMES) + ")");
            }
            if (!images.isEmpty() && input != null) {
                throw new IllegalArgumentException("run: give --image or --input, not both");
            }
            return new Arguments(model, weights, List.copyOf(images), input, output, top, batch, profile, seed,
                    algorithm);
        }

        private static String value(String[] args, int i, String option) {
            if (i >= args.length) {
                throw new IllegalArgumentException(option + " needs a value");
            }
            return args[i];
        }

        private static int integer(String option, String value, int min) {
            try {
                int parsed = Integer.parseInt(value);
                if (parsed < min) {
                    throw new IllegalArgumentException(option + " " + value + " must be >= " + min);
                }
                return parsed;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(option + " " + value + " is not a number");
            }
        }
    }

    static int run(Main.Options options, PrintStream out, PrintStream err) throws IOException {
        Arguments args = Arguments.parse(options.arguments());
        Layer layer = Models.architecture(args.model());
        Network network;
        long buildStart = System.nanoTime();
        if (args.weights() == null) {
            out.printf("weights    RANDOM (seed %d): no --weights given, so the scores below are meaningless;%n"
                    + "           convert a checkpoint with tools/convert_checkpoint.py and pass --weights FILE%n",
                    args.seed());
            try (ModelWeights weights = ModelWeights.random(layer, args.seed())) {
                network = Network.build(layer, weights, args.algorithm());
            }
        } else {
            try (ModelWeights weights = ModelWeights.open(args.weights())) {
                out.printf("weights    %s (%d tensors)%n", args.weights(), weights.names().size());
                network = Network.build(layer, weights, args.algorithm());
            }
        }
        double buildMillis = (System.nanoTime() - buildStart) / 1e6;
        try (network;
             Context context = options.openContext();
             Arena arena = Arena.ofConfined()) {
            out.printf(Locale.ROOT, "model      %s: %,d parameters, built in %.0f ms%s%n", network.name(),
                    network.parameterCount(), buildMillis,
                    args.algorithm() == Conv2d.Algorithm.WINOGRAD ? ", Winograd 3x3 convolutions" : "");
            try (SafeTensors inputFile = args.input() == null ? null : SafeTensors.open(args.input())) {
                Tensor input = input(args, inputFile, arena, out);
                Shape outShape = network.outputShape(input.shape());
                Tensor logits = Tensor.allocate(arena, outShape, input.layout());
                long start = System.nanoTime();
                network.forward(input, logits, context);
                double millis = (System.nanoTime() - start) / 1e6;
                out.printf(Locale.ROOT, "forward    %.1f ms for %s on %d threads (%.2f GMACs; first pass, cold)%n",
                        millis, input.shape(), context.threads(), network.macs(input.shape()) / 1e9);
                if (args.profile()) {
                    // Warm passes (JIT, caches, thread wake-up), then the average of passes for
                    // at least a second: one pass is too noisy to rank layers by.
                    for (int i = 0; i < PROFILE_WARMUP_PASSES; i++) {
                        network.forward(input, logits, context);
                    }
                    Profile profile = new Profile();
                    long profileStart = System.nanoTime();
                    while (profile.passes() < PROFILE_MIN_PASSES || System.nanoTime() - profileStart < 1e9) {
                        network.forward(input, logits, context, profile);
                    }
                    out.printf(Locale.ROOT, "profile    mean of %d warm passes: %.2f ms per pass%n", profile.passes(),
                            profile.totalNanos() / 1e6 / profile.passes());
                    out.print(profile.format());
                }
                float[] values = logits.toArray();
                int classes = (int) outShape.c();
                if (args.output() != null) {
                    new SafeTensorsWriter()
                            .metadata("model", network.name())
                            .metadata("weights", args.weights() == null ? "random seed " + args.seed()
                                    : args.weights().getFileName().toString())
                            .add("output", values, outShape.n(), classes)
                            .write(args.output());
                    out.printf("output     %s: tensor 'output' [%d, %d]%n", args.output(), outShape.n(), classes);
                }
                if (args.top() > 0) {
                    printTop(out, values, (int) outShape.n(), classes, args.top(), args.images());
                }
            }
        }
        return 0;
    }

    /** The input batch: images, a safetensors tensor (zero-copy) or seeded random values. */
    private static Tensor input(Arguments args, SafeTensors file, Arena arena, PrintStream out) throws IOException {
        Tensor input;
        if (!args.images().isEmpty()) {
            input = ImageNetInput.load(arena, args.images());
            out.printf("input      %d image%s, resized and centre-cropped to 224x224, ImageNet-normalised%n",
                    args.images().size(), args.images().size() == 1 ? "" : "s");
        } else if (file != null) {
            if (!file.has("input")) {
                throw new IllegalArgumentException(args.input() + ": no tensor 'input' (it has "
                        + String.join(", ", file.names()) + ")");
            }
            input = file.tensor("input").asTensor();
            out.printf("input      %s: tensor 'input' %s%n", args.input(), input.shape());
        } else {
            input = Tensor.allocate(arena, Models.imagenetInput(1));
            SplittableRandom random = new SplittableRandom(args.seed());
            float[] values = new float[(int) input.shape().elementCount()];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) random.nextDouble(-2, 2);
            }
            input.copyFrom(values);
            out.printf("input      RANDOM %s (seed %d): no --image or --input given%n", input.shape(), args.seed());
        }
        if (args.batch() > 0 && args.batch() != input.shape().n()) {
            if (input.shape().n() != 1) {
                throw new IllegalArgumentException("--batch " + args.batch() + " repeats a single input, but the input is "
                        + input.shape());
            }
            Shape s = input.shape();
            Tensor repeated = Tensor.allocate(arena, Shape.nchw(args.batch(), s.c(), s.h(), s.w()));
            for (int n = 0; n < args.batch(); n++) {
                MemorySegment.copy(input.segment(), 0, repeated.segment(), n * s.byteSize(), s.byteSize());
            }
            input = repeated;
        }
        return input;
    }

    private static void printTop(PrintStream out, float[] logits, int batch, int classes, int k, List<Path> images) {
        List<String> names = classes == 1000 ? imagenetClasses() : List.of();
        for (int n = 0; n < batch; n++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) {
                max = Math.max(max, logits[n * classes + c]);
            }
            double total = 0;
            double[] probabilities = new double[classes];
            for (int c = 0; c < classes; c++) {
                probabilities[c] = Math.exp(logits[n * classes + c] - max);
                total += probabilities[c];
            }
            Integer[] order = new Integer[classes];
            for (int c = 0; c < classes; c++) {
                order[c] = c;
                probabilities[c] /= total;
            }
            java.util.Arrays.sort(order, (a, b) -> Double.compare(probabilities[b], probabilities[a]));
            String label = n < images.size() ? images.get(n).getFileName().toString() : "input " + n;
            out.printf("top-%d      %s%n", Math.min(k, classes), label);
            for (int i = 0; i < Math.min(k, classes); i++) {
                int c = order[i];
                String name = c < names.size() ? names.get(c) : "class " + c;
                out.printf(Locale.ROOT, "  %2d. %6.2f%%  %4d  %s%n", i + 1, 100 * probabilities[c], c, name);
            }
        }
    }

    /** The 1000 ImageNet-1k class names, in the order of the models' outputs (torchvision's list). */
    static List<String> imagenetClasses() {
        try (InputStream in = RunCommand.class.getResourceAsStream(CLASSES)) {
            if (in == null) {
                throw new IllegalStateException("resource " + CLASSES + " is missing from the jar");
            }
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                return reader.lines().toList();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
