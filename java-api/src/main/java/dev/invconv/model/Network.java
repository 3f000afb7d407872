package dev.invconv.model;

import dev.invconv.Context;
import dev.invconv.Conv2d;
import dev.invconv.Invconv;
import dev.invconv.Layout;
import dev.invconv.Shape;
import dev.invconv.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * A {@link Layer} built into native operators, ready to run: BatchNorm folded into the
 * convolutions and involutions it follows, ReLU and residual adds fused into them.
 *
 * <pre>{@code
 * try (Network net = Models.create("rednet50", weights);
 *      Arena arena = Arena.ofConfined()) {
 *     Tensor logits = net.forward(images, arena);      // [N, 3, 224, 224] → [N, 1000, 1, 1]
 * }
 * }</pre>
 *
 * <p>Takes and gives tensors in either layout and runs NHWC inside ({@link #INNER_LAYOUT}): an
 * NCHW input is converted on the way in and the output on the way out. A forward pass
 * allocates nothing on the native side: the converted edges and the intermediate activations
 * live in a workspace sized for the input shape, kept after the pass and reused by the next
 * (one per concurrent caller). Safe to share between threads; do
 * not close it while a pass runs. Owns its operators: {@link #close()} frees them and the
 * workspaces.
 */
public final class Network implements AutoCloseable {

    /**
     * The layout the operators run a whole network in. Channels innermost: the pointwise
     * convolutions then read and write every pixel's channels contiguously, and the small late
     * images need no transposes around their 1x1 convolutions, which is what NCHW costs (ResNet-50
     * at 224x224, 2 threads: 26.6–27.6 ms NHWC against 28.4–29.7 ms NCHW inside, in the same
     * runs; docs/BENCHMARKS.md). Converting a 3x224x224 input takes about 0.04 ms with it in
     * cache and 0.13 ms with it in memory, as in a network pass.
     */
    public static final Layout INNER_LAYOUT = Layout.NHWC;

    private final Layer layer;
    private final Conv2d.Algorithm algorithm;
    private final Node root;
    private final ConcurrentLinkedDeque<Buffer> idle = new ConcurrentLinkedDeque<>();
    private volatile boolean closed;
    private volatile SizeCache size;

    private record Buffer(Arena arena, MemorySegment memory) {}

    private record SizeCache(Shape input, long bytes) {}

    private Network(Layer layer, Conv2d.Algorithm algorithm, Node root) {
        this.algorithm = algorithm;
        this.layer = layer;
        this.root = root;
    }

    /**
     * Builds the operators of {@code layer} from {@code weights}, which may be closed afterwards
     * (the operators keep their own packed copies).
     *
     * @throws WeightsException         listing every missing, unexpected, mis-shaped or
     *                                  mis-typed tensor, if the weights do not fit
     * @throws IllegalArgumentException if an operator rejects its parameters
     */
    public static Network build(Layer layer, ModelWeights weights) {
        return build(layer, weights, Conv2d.Algorithm.DIRECT);
    }

    /**
     * As {@link #build(Layer, ModelWeights)}, the convolutions created with {@code algorithm}:
     * {@link Conv2d.Algorithm#WINOGRAD} gives the 3×3 stride-1 convolutions of large enough
     * images Winograd kernels (the network runs NHWC inside), e.g. ResNet-50's layers at 56×56,
     * 28×28 and 14×14.
     */
    public static Network build(Layer layer, ModelWeights weights, Conv2d.Algorithm algorithm) {
        Objects.requireNonNull(layer, "layer");
        Objects.requireNonNull(weights, "weights");
        Objects.requireNonNull(algorithm, "algorithm");
        weights.check(layer);
        return new Network(layer, algorithm, Node.build(layer, weights, algorithm));
    }

    /** The description this network was built from. */
    public Layer layer() {
        return layer;
    }

    /** The algorithm its convolutions were built with. */
    public Conv2d.Algorithm algorithm() {
        return algorithm;
    }

    public String name() {
        return layer.name();
    }

    /** The output shape for an input shape, e.g. {@code [N, 1000, 1, 1]} for a classifier. */
    public Shape outputShape(Shape input) {
        return layer.outputShape(input);
    }

    /** As PyTorch counts them: weights, biases, BatchNorm weight and bias. */
    public long parameterCount() {
        return layer.parameterCount();
    }

    /** Multiply-accumulates of one pass over {@code input}. */
    public long macs(Shape input) {
        return layer.macs(input);
    }

    /** Runs on {@link Context#shared()}; the output is a new tensor of {@code arena} in the input's layout. */
    public Tensor forward(Tensor input, Arena arena) {
        return forward(input, arena, Context.shared());
    }

    /** Runs on {@code context}; the output is a new tensor of {@code arena} in the input's layout. */
    public Tensor forward(Tensor input, Arena arena, Context context) {
        Objects.requireNonNull(input, "input");
        Tensor output = Tensor.allocate(arena, outputShape(input.shape()), input.layout());
        forward(input, output, context, null);
        return output;
    }

    /** Runs into a preallocated output of {@link #outputShape} in the input's layout. */
    public void forward(Tensor input, Tensor output, Context context) {
        forward(input, output, context, null);
    }

    /**
     * Runs into {@code output}, adding each operator's time to {@code profile} (if not null).
     *
     * @throws IllegalArgumentException if the input does not fit the network or the output has
     *                                  another shape or layout
     * @throws IllegalStateException    if the network, a tensor or the context is closed
     */
    public void forward(Tensor input, Tensor output, Context context, Profile profile) {
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(output, "output");
        Objects.requireNonNull(context, "context");
        if (closed) {
            throw new IllegalStateException(name() + " is closed");
        }
        Shape expected = outputShape(input.shape());
        if (!output.shape().equals(expected) || output.layout() != input.layout()) {
            throw new IllegalArgumentException(name() + ": output is " + output.shape() + " " + output.layout()
                    + " but the network gives " + expected + " " + input.layout() + " for input " + input.shape());
        }
        long work = workspaceBytes(input.shape());
        boolean atEdges = input.layout() != INNER_LAYOUT; // conversions at the network's edges
        long inBytes = Workspace.bytes(input.shape());
        Buffer buffer = take(work + (atEdges ? inBytes + Workspace.bytes(expected) : 0));
        try {
            MemorySegment memory = buffer.memory();
            if (!atEdges) {
                root.forward(input, output, new Workspace(memory, context, profile, INNER_LAYOUT));
            } else {
                Tensor in = Tensor.wrap(memory.asSlice(work, input.shape().byteSize()), input.shape(), INNER_LAYOUT);
                Tensor out = Tensor.wrap(memory.asSlice(work + inBytes, expected.byteSize()), expected, INNER_LAYOUT);
                convert("input", input, in, context, profile);
                root.forward(in, out, new Workspace(memory.asSlice(0, work), context, profile, INNER_LAYOUT));
                convert("output", out, output, context, profile);
            }
            if (profile != null) {
                profile.countPass();
            }
        } finally {
            give(buffer);
        }
    }

    /** Frees the operators and workspaces. Closing twice has no effect. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Buffer buffer = idle.poll(); buffer != null; buffer = idle.poll()) {
            buffer.arena().close();
        }
        root.close();
    }

    @Override
    public String toString() {
        return "Network[" + name() + ", " + parameterCount() + " parameters]";
    }

    /** Copies {@code from} into {@code to} in {@code to}'s layout, timed as the step {@code name}. */
    private static void convert(String name, Tensor from, Tensor to, Context context, Profile profile) {
        long start = profile == null ? 0 : System.nanoTime();
        from.copyTo(to, context);
        if (profile != null) {
            profile.record(name, "layout " + from.layout() + "→" + to.layout(), to.shape(), System.nanoTime() - start);
        }
    }

    private long workspaceBytes(Shape input) {
        SizeCache cached = size;
        if (cached != null && cached.input().equals(input)) {
            return cached.bytes();
        }
        // Whole alignment units: the converted edges follow the activations.
        long bytes = (root.workspaceBytes(input) + Workspace.ALIGNMENT - 1) / Workspace.ALIGNMENT * Workspace.ALIGNMENT;
        size = new SizeCache(input, bytes);
        return bytes;
    }

    private Buffer take(long bytes) {
        Buffer buffer = idle.poll();
        if (buffer != null && buffer.memory().byteSize() >= bytes) {
            return buffer;
        }
        if (buffer != null) {
            buffer.arena().close();
        }
        Arena arena = Arena.ofShared();
        try {
            // In 2 MB pages: ResNet-50 passes 1.4 % faster, RedNet-50 1 % (docs/BENCHMARKS.md).
            return new Buffer(arena, Invconv.allocateActivations(arena, Math.max(bytes, Workspace.ALIGNMENT)));
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    private void give(Buffer buffer) {
        idle.push(buffer);
        if (closed) {
            // close() may have drained the deque before this buffer came back.
            for (Buffer b = idle.poll(); b != null; b = idle.poll()) {
                b.arena().close();
            }
        }
    }
}
