package dev.invconv.cli.bench;

import dev.invconv.Context;
import dev.invconv.Conv2d;
import dev.invconv.Shape;
import dev.invconv.Tensor;
import dev.invconv.model.Layer;
import dev.invconv.model.ModelWeights;
import dev.invconv.model.Models;
import dev.invconv.model.Network;
import dev.invconv.model.ReferenceNetwork;
import dev.invconv.reference.Tolerance;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A whole network (suite {@code models}): one forward pass at batch 1 with seeded random
 * weights, exactly as {@code invconv run} does it — the end-to-end latency a JVM service sees.
 * The plain-Java path is {@link ReferenceNetwork} (float64, unfused); the self-check compares
 * the logits under the SPEC's module rule, at 64×64 unless {@code --compare-java} ran the full
 * size.
 *
 * @param model     a name of {@link Models#NAMES}
 * @param size      the input's height and width
 * @param algorithm how its convolutions are built ({@code bench --winograd})
 */
public record ModelCase(String model, long size, Conv2d.Algorithm algorithm) implements BenchCase {

    /** The targets (2 threads, batch 1, 224×224), in milliseconds. */
    private static final double RESNET50_TARGET_MS = 27;
    private static final double REDNET50_TARGET_MS = 20;

    public ModelCase(String model, long size) {
        this(model, size, Conv2d.Algorithm.DIRECT);
    }

    public ModelCase {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(algorithm, "algorithm");
        Models.architecture(model); // rejects an unknown name here, not at prepare
        if (size < 32) {
            throw new IllegalArgumentException("model input size " + size + " must be at least 32 (five stride-2 stages)");
        }
    }

    /** A model case's name, as the peers read it: model, batch (1), input height (= width). */
    private static final Pattern NAME = Pattern.compile("([a-z]+\\d+)_mb1ih(\\d{1,5})");

    /** Whether {@code text} has the form of a model case name ({@code resnet50_mb1ih224}). */
    public static boolean isName(String text) {
        return NAME.matcher(text).matches();
    }

    /**
     * The case {@link #name()} names, e.g. {@code rednet50_mb1ih224}.
     *
     * @throws IllegalArgumentException if it is not such a name, or names no model of
     *                                  {@link Models#NAMES} or too small an input
     */
    public static ModelCase parse(String text) {
        Matcher m = NAME.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a model case name (MODEL_mb1ihSIZE, e.g. "
                    + "resnet50_mb1ih224)");
        }
        return new ModelCase(m.group(1), Long.parseLong(m.group(2)));
    }

    /** ResNet-50 and RedNet-26/50 at 224×224: the models suite. */
    public static List<ModelCase> suite() {
        return List.of(new ModelCase("resnet50", 224), new ModelCase("rednet26", 224), new ModelCase("rednet50", 224));
    }

    @Override
    public String name() {
        return model + "_mb1ih" + size;
    }

    @Override
    public String op() {
        return "model";
    }

    @Override
    public Shape input() {
        return Shape.nchw(1, 3, size, size);
    }

    @Override
    public long outChannels() {
        return Models.IMAGENET_CLASSES;
    }

    @Override
    public long kernel() {
        return 0;
    }

    @Override
    public long stride() {
        return 0;
    }

    @Override
    public long groups() {
        return 0;
    }

    @Override
    public double flops() {
        return 2.0 * Models.architecture(model).macs(input());
    }

    @Override
    public double targetMs() {
        if (size != 224) {
            return Double.NaN;
        }
        return switch (model) {
            case "resnet50" -> RESNET50_TARGET_MS;
            case "rednet50" -> REDNET50_TARGET_MS;
            default -> Double.NaN;
        };
    }

    @Override
    public String shapeText() {
        return String.format(Locale.ROOT, "1x3x%dx%d", size, size);
    }

    @Override
    public BenchCase checkVariant() {
        return size == 64 ? this : new ModelCase(model, 64, algorithm);
    }

    /** The same case, its convolutions built with {@code algorithm}. */
    public ModelCase withAlgorithm(Conv2d.Algorithm algorithm) {
        return new ModelCase(model, size, algorithm);
    }

    @Override
    public Prepared prepare(Context context, long seed) {
        Objects.requireNonNull(context, "context");
        Layer layer = Models.architecture(model);
        ModelWeights weights = ModelWeights.random(layer, seed);
        Network network = null;
        Arena arena = Arena.ofShared();
        try {
            network = Network.build(layer, weights, algorithm);
            Tensor input = Tensor.allocate(arena, input());
            SplittableRandom random = new SplittableRandom(seed);
            float[] values = new float[Math.toIntExact(input().elementCount())];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) random.nextDouble(-2, 2); // about the range of ImageNet-normalised pixels
            }
            input.copyFrom(values);
            Tensor output = Tensor.allocate(arena, network.outputShape(input()));
            return new Built(layer, weights, network, arena, input, output, context);
        } catch (RuntimeException | Error e) {
            if (network != null) {
                network.close();
            }
            weights.close();
            arena.close();
            throw e;
        }
    }

    /** A built network with its weights (kept for the plain-Java path), input and output. */
    private static final class Built implements Prepared {
        private final Layer layer;
        private final ModelWeights weights;
        private final Network network;
        private final Arena arena;
        private final Tensor input;
        private final Tensor output;
        private final Context context;
        private double[] reference;

        Built(Layer layer, ModelWeights weights, Network network, Arena arena, Tensor input, Tensor output,
              Context context) {
            this.layer = layer;
            this.weights = weights;
            this.network = network;
            this.arena = arena;
            this.input = input;
            this.output = output;
            this.context = context;
        }

        @Override
        public String kernelName() {
            return "network of " + layer.name()
                    + (network.algorithm() == Conv2d.Algorithm.DIRECT ? "" : ", " + network.algorithm() + " convs");
        }

        @Override
        public void run() {
            network.forward(input, output, context);
        }

        @Override
        public void runJava() {
            reference = ReferenceNetwork.forward(layer, weights, input);
        }

        @Override
        public Verdict check() {
            if (reference == null) {
                runJava();
            }
            Tolerance.Report report = Tolerance.checkModule(output.toArray(), reference);
            return new Verdict(report.passed(), report.maxError(), report.describe(output.shape()));
        }

        @Override
        public void close() {
            try {
                network.close();
            } finally {
                try {
                    weights.close();
                } finally {
                    arena.close();
                }
            }
        }
    }
}
