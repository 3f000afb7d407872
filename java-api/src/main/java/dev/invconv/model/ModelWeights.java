package dev.invconv.model;

import dev.invconv.safetensors.DType;
import dev.invconv.safetensors.SafeTensors;
import dev.invconv.safetensors.SafeTensorsWriter;
import dev.invconv.safetensors.TensorView;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Named parameter tensors for a {@link Layer}, by their {@code state_dict} names: a
 * memory-mapped safetensors checkpoint ({@link #open}), seeded random values
 * ({@link #random}) or arrays ({@link #builder}). Tensors are off-heap segments; those of a
 * checkpoint are zero-copy slices of the mapping, handed to the operators as they are where
 * nothing is folded into them.
 *
 * <pre>{@code
 * try (ModelWeights weights = ModelWeights.open(Path.of("rednet26.safetensors"));
 *      Network net = Network.build(Models.architecture("rednet26"), weights)) { ... }
 * }</pre>
 *
 * <p>{@link #check} reports every tensor that does not fit a model at once. A checkpoint's
 * {@code backbone.} prefix (mmcls) is removed when it is opened, and BatchNorm
 * {@code num_batches_tracked} counters are ignored. The operators copy what they need when a
 * network is built, so the weights may be closed right after.
 */
public final class ModelWeights implements AutoCloseable {

    /** The prefix of mmcls backbone tensors, removed when a checkpoint is opened. */
    public static final String BACKBONE_PREFIX = "backbone.";

    private static final String BATCHES_TRACKED = ".num_batches_tracked";
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * One tensor.
     *
     * @param name  its name (after removing a {@code backbone.} prefix)
     * @param dtype its element type
     * @param shape its dimensions (do not modify)
     * @param data  its bytes, little-endian
     */
    public record Entry(String name, DType dtype, long[] shape, MemorySegment data) {
        /** The number of elements. */
        public long elementCount() {
            long count = 1;
            for (long dim : shape) {
                count *= dim;
            }
            return count;
        }
    }

    private final String source;
    private final Map<String, Entry> tensors;
    private final List<String> duplicates;
    private final AutoCloseable owner;

    private ModelWeights(String source, Map<String, Entry> tensors, List<String> duplicates, AutoCloseable owner) {
        this.source = source;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.duplicates = List.copyOf(duplicates);
        this.owner = owner;
    }

    /**
     * Memory-maps a safetensors checkpoint, e.g. one written by {@code tools/convert_checkpoint.py}.
     *
     * @throws IOException                                  if the file cannot be read
     * @throws dev.invconv.safetensors.SafeTensorsException if it is malformed or truncated
     */
    public static ModelWeights open(Path path) throws IOException {
        SafeTensors file = SafeTensors.open(path);
        try {
            Map<String, Entry> tensors = new LinkedHashMap<>();
            List<String> duplicates = new ArrayList<>();
            for (String name : file.names()) {
                if (name.endsWith(BATCHES_TRACKED)) {
                    continue;
                }
                TensorView view = file.tensor(name);
                String key = name.startsWith(BACKBONE_PREFIX) ? name.substring(BACKBONE_PREFIX.length()) : name;
                Entry previous = tensors.put(key, new Entry(key, view.dtype(), view.shape(), view.segment()));
                if (previous != null) {
                    duplicates.add(key);
                }
            }
            return new ModelWeights(path.toString(), tensors, duplicates, file);
        } catch (RuntimeException | Error e) {
            file.close();
            throw e;
        }
    }

    /** A builder of weights from arrays, held off-heap. */
    public static Builder builder(String source) {
        return new Builder(source);
    }

    /**
     * Weights for {@code layer} from arrays keyed by the names of {@link Layer#parameters()};
     * shapes come from the layer, and an array of the wrong length becomes a 1-D tensor of its
     * length, which {@link #check} reports.
     */
    public static ModelWeights of(Layer layer, Map<String, float[]> values) {
        Map<String, long[]> shapes = layer.parameters();
        Builder builder = builder(layer.name());
        for (Map.Entry<String, float[]> e : values.entrySet()) {
            long[] shape = shapes.get(e.getKey());
            long[] actual = shape != null && count(shape) == e.getValue().length ? shape
                    : new long[] {e.getValue().length};
            builder.add(e.getKey(), e.getValue(), actual);
        }
        return builder.build();
    }

    /**
     * Seeded random weights for {@code layer}, the same for a given seed on every machine:
     * He-like uniform convolution weights (variance {@code 2 / fan_in}), involution kernel
     * generators whose kernels keep the activations' scale (mostly the span bias: involution is
     * quadratic in its input, so data-dependent kernels would square the scale), PyTorch's
     * default for linear layers, and BatchNorm statistics near the identity with a small scale
     * on the last BatchNorm of each residual body, so that activations stay of order one through
     * any depth. Meaningless as a classifier; for tests, benchmarks and smoke runs.
     */
    public static ModelWeights random(Layer layer, long seed) {
        Builder builder = builder("random weights (seed " + seed + ")");
        new RandomInit(builder, seed).layer(layer, false);
        return builder.build();
    }

    /** Where the weights come from: the file, or a description such as "random weights (seed 0)". */
    public String source() {
        return source;
    }

    /** The tensor names, in file order. */
    public Set<String> names() {
        return tensors.keySet();
    }

    public boolean has(String name) {
        return tensors.containsKey(name);
    }

    /**
     * A tensor.
     *
     * @throws IllegalArgumentException naming the tensor if there is none of that name
     */
    public Entry entry(String name) {
        Entry entry = tensors.get(name);
        if (entry == null) {
            throw new IllegalArgumentException(source + ": no tensor '" + name + "'");
        }
        return entry;
    }

    /** The F32 data of a tensor, zero-copy. */
    public MemorySegment segment(String name) {
        Entry entry = entry(name);
        requireF32(entry);
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            // The operators read native-order floats; a big-endian platform gets a swapped copy.
            return MemorySegment.ofArray(floats(name));
        }
        return entry.data();
    }

    /** A copy of the F32 data of a tensor. */
    public float[] floats(String name) {
        Entry entry = entry(name);
        requireF32(entry);
        long count = entry.elementCount();
        if (count > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(source + ": tensor '" + name + "' is too large for a Java array");
        }
        float[] values = new float[(int) count];
        MemorySegment.copy(entry.data(), F32, 0, values, 0, values.length);
        return values;
    }

    /**
     * Checks that these weights fit {@code layer}: every tensor it reads present, F32, of the
     * right shape, and no other tensor.
     *
     * @throws WeightsException listing every problem at once, each by name
     */
    public void check(Layer layer) {
        Map<String, long[]> expected = layer.parameters();
        List<String> missing = new ArrayList<>();
        List<String> unexpected = new ArrayList<>();
        List<String> wrongShape = new ArrayList<>();
        List<String> wrongDtype = new ArrayList<>();
        List<String> lines = new ArrayList<>();
        List<String> missingLines = new ArrayList<>();
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            Entry entry = tensors.get(e.getKey());
            if (entry == null) {
                missing.add(e.getKey());
                missingLines.add("'" + e.getKey() + "' " + Arrays.toString(e.getValue()));
            }
        }
        List<String> unexpectedLines = new ArrayList<>();
        List<String> shapeLines = new ArrayList<>();
        List<String> dtypeLines = new ArrayList<>();
        for (Entry entry : tensors.values()) {
            long[] shape = expected.get(entry.name());
            if (shape == null) {
                unexpected.add(entry.name());
                unexpectedLines.add("'" + entry.name() + "'");
                continue;
            }
            if (entry.dtype() != DType.F32) {
                wrongDtype.add(entry.name());
                dtypeLines.add("'" + entry.name() + "' is " + entry.dtype() + ", expected F32");
            }
            if (!Arrays.equals(entry.shape(), shape)) {
                wrongShape.add(entry.name());
                shapeLines.add("'" + entry.name() + "' is " + Arrays.toString(entry.shape()) + ", expected "
                        + Arrays.toString(shape));
            }
        }
        for (String name : duplicates) {
            unexpected.add(name);
            unexpectedLines.add("'" + name + "' appears twice (with and without the backbone. prefix)");
        }
        if (missing.isEmpty() && unexpected.isEmpty() && wrongShape.isEmpty() && wrongDtype.isEmpty()) {
            return;
        }
        List<String> counts = new ArrayList<>();
        addGroup(lines, counts, "missing", "missing", missingLines);
        addGroup(lines, counts, "unexpected", "unexpected", unexpectedLines);
        addGroup(lines, counts, "wrong shape", "with the wrong shape", shapeLines);
        addGroup(lines, counts, "wrong dtype", "with the wrong dtype", dtypeLines);
        String hint = missing.size() > expected.size() / 2
                ? "\n  (most tensors are missing: are these the weights of another model?)" : "";
        throw new WeightsException(source + " does not fit " + layer.name() + ": " + String.join(", ", counts)
                + ":\n  " + String.join("\n  ", lines) + hint, missing, unexpected, wrongShape, wrongDtype);
    }

    private static void addGroup(List<String> lines, List<String> counts, String label, String summary,
                                 List<String> items) {
        if (!items.isEmpty()) {
            counts.add(items.size() + " " + summary);
            lines.add(label + ": " + String.join(", ", items));
        }
    }

    /**
     * Writes the tensors to a safetensors file, in their order, under their names (without a
     * {@code backbone.} prefix), with {@code metadata} in {@code __metadata__}.
     *
     * @throws IOException if writing fails
     */
    public void save(Path path, Map<String, String> metadata) throws IOException {
        SafeTensorsWriter writer = new SafeTensorsWriter();
        metadata.forEach(writer::metadata);
        for (Entry entry : tensors.values()) {
            if (entry.dtype() == DType.F32) {
                writer.add(entry.name(), floats(entry.name()), entry.shape());
            } else {
                writer.addRaw(entry.name(), entry.dtype(), entry.shape(), entry.data().toArray(ValueLayout.JAVA_BYTE));
            }
        }
        writer.write(path);
    }

    /** As {@link #save(Path, Map)} with the metadata {@code format=pt}, as PyTorch's tools write. */
    public void save(Path path) throws IOException {
        save(path, Map.of("format", "pt"));
    }

    /** Unmaps the file or frees the memory; segments handed out become unusable. */
    @Override
    public void close() {
        try {
            owner.close();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return "ModelWeights[" + source + ", " + tensors.size() + " tensors]";
    }

    private void requireF32(Entry entry) {
        if (entry.dtype() != DType.F32) {
            throw new IllegalArgumentException(source + ": tensor '" + entry.name() + "' is " + entry.dtype()
                    + ", expected F32");
        }
    }

    private static long count(long[] shape) {
        long count = 1;
        for (long dim : shape) {
            count *= dim;
        }
        return count;
    }

    /** Collects F32 tensors into off-heap memory (a shared arena the weights own). */
    public static final class Builder {
        private final String source;
        private final Arena arena = Arena.ofShared();
        private final Map<String, Entry> tensors = new LinkedHashMap<>();
        private boolean built;

        private Builder(String source) {
            this.source = Objects.requireNonNull(source, "source");
        }

        /**
         * Adds a copy of {@code values} (row-major in {@code shape}).
         *
         * @throws IllegalArgumentException if the length does not match the shape or the name is taken
         */
        public Builder add(String name, float[] values, long... shape) {
            Objects.requireNonNull(name, "name");
            if (built) {
                throw new IllegalStateException("the weights are already built");
            }
            if (count(shape) != values.length) {
                throw new IllegalArgumentException("tensor '" + name + "': " + values.length + " values for shape "
                        + Arrays.toString(shape));
            }
            if (tensors.containsKey(name)) {
                throw new IllegalArgumentException("tensor '" + name + "' was already added");
            }
            MemorySegment data = arena.allocate((long) values.length * Float.BYTES, 64);
            MemorySegment.copy(values, 0, data, F32, 0, values.length);
            tensors.put(name, new Entry(name, DType.F32, shape.clone(), data));
            return this;
        }

        public ModelWeights build() {
            built = true;
            return new ModelWeights(source, new LinkedHashMap<>(tensors), List.of(), arena);
        }
    }

    /** The seeded initialisation of {@link #random}: one generator per tensor, seeded by its name. */
    private record RandomInit(Builder builder, long seed) {

        void layer(Layer layer, boolean lastOfResidual) {
            switch (layer) {
                case Layer.Conv c -> {
                    long fanIn = c.params().inChannels() / c.params().groups() * c.params().kernelH() * c.params().kernelW();
                    uniform(c.weight(), c.params().weightShape().toArray(), Math.sqrt(6.0 / fanIn));
                    if (c.bias() != null) {
                        uniform(c.bias(), new long[] {c.params().outChannels()}, 0.1);
                    }
                    if (c.batchNorm() != null) {
                        batchNorm(c.batchNorm(), c.params().outChannels(), lastOfResidual);
                    }
                }
                case Layer.Involution v -> {
                    var p = v.params();
                    long reduced = p.reducedChannels();
                    uniform(Layer.join(v.name(), "conv1.conv.weight"), p.reduceWeightShape().toArray(),
                            Math.sqrt(6.0 / p.channels()));
                    batchNorm(Layer.join(v.name(), "conv1.bn"), reduced, false);
                    // Involution is quadratic in x (its kernels are generated from x), so with fixed
                    // BatchNorm statistics the scale of random activations would square at every
                    // block. The span bias alone (standard deviation 1/K per tap) makes a kernel that
                    // keeps the scale of x; the generated part adds a tenth of that.
                    double std = 0.1 * Math.sqrt(2) / (p.kernelSize() * Math.sqrt(reduced));
                    uniform(Layer.join(v.name(), "conv2.conv.weight"), p.spanWeightShape().toArray(), Math.sqrt(3) * std);
                    uniform(Layer.join(v.name(), "conv2.conv.bias"), new long[] {p.spanChannels()},
                            Math.sqrt(3) / p.kernelSize());
                    if (v.batchNorm() != null) {
                        batchNorm(v.batchNorm(), p.channels(), lastOfResidual);
                    }
                }
                case Layer.BatchNorm b -> batchNorm(b.name(), b.channels(), lastOfResidual);
                case Layer.Linear l -> {
                    double bound = 1 / Math.sqrt(l.inFeatures());
                    uniform(l.weight(), new long[] {l.outFeatures(), l.inFeatures()}, bound);
                    if (l.bias() != null) {
                        uniform(l.bias(), new long[] {l.outFeatures()}, bound);
                    }
                }
                case Layer.Sequential s -> s.layers().forEach(child -> layer(child, false));
                case Layer.Residual r -> {
                    for (Layer child : r.body()) {
                        layer(child, child == r.body().getLast());
                    }
                    if (r.shortcut() != null) {
                        layer(r.shortcut(), false);
                    }
                }
                case Layer.Pooling p -> { } // no parameters
            }
        }

        private void batchNorm(String prefix, long channels, boolean small) {
            long[] shape = {channels};
            SplittableRandom random = random(prefix);
            float[] weight = new float[(int) channels];
            float[] bias = new float[weight.length];
            float[] mean = new float[weight.length];
            float[] var = new float[weight.length];
            for (int i = 0; i < weight.length; i++) {
                weight[i] = (float) (small ? random.nextDouble(0.1, 0.3) : random.nextDouble(0.8, 1.2));
                bias[i] = (float) random.nextDouble(-0.1, 0.1);
                mean[i] = (float) random.nextDouble(-0.1, 0.1);
                var[i] = (float) random.nextDouble(0.8, 1.25);
            }
            builder.add(Layer.join(prefix, "weight"), weight, shape);
            builder.add(Layer.join(prefix, "bias"), bias, shape);
            builder.add(Layer.join(prefix, "running_mean"), mean, shape);
            builder.add(Layer.join(prefix, "running_var"), var, shape);
        }

        private void uniform(String name, long[] shape, double bound) {
            SplittableRandom random = random(name);
            float[] values = new float[Math.toIntExact(count(shape))];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) ((random.nextDouble() * 2 - 1) * bound);
            }
            builder.add(name, values, shape);
        }

        private SplittableRandom random(String name) {
            // String.hashCode is specified, so the values are the same on every JVM.
            return new SplittableRandom(seed * 0x9E3779B97F4A7C15L + name.hashCode());
        }
    }
}
