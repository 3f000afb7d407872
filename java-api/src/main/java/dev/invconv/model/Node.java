package dev.invconv.model;

import dev.invconv.Activation;
import dev.invconv.Conv2d;
import dev.invconv.Conv2dParams;
import dev.invconv.GlobalAveragePool;
import dev.invconv.Involution2d;
import dev.invconv.Involution2dParams;
import dev.invconv.Padding;
import dev.invconv.Pool2d;
import dev.invconv.Shape;
import dev.invconv.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The executable form of a {@link Layer}: native operators with BatchNorm folded in, and the
 * plumbing of sequences and residual blocks over a {@link Workspace}. Immutable after build and
 * safe to run from several threads at once, each with its own workspace.
 */
abstract sealed class Node implements AutoCloseable {

    final Layer layer;

    Node(Layer layer) {
        this.layer = layer;
    }

    /**
     * Builds the nodes of {@code layer}, its convolutions with {@code algorithm}; the weights must
     * have passed {@link ModelWeights#check}.
     */
    static Node build(Layer layer, ModelWeights weights, Conv2d.Algorithm algorithm) {
        return switch (layer) {
            case Layer.Conv c -> new ConvNode(c, conv(c, c.params(), weights, algorithm));
            case Layer.Involution v -> new OperatorNode(v, involution(v, weights));
            case Layer.BatchNorm b -> new ConvNode(b, batchNorm(b, weights));
            case Layer.Linear l -> new ConvNode(l, linear(l, weights));
            case Layer.MaxPool m -> new PoolNode(m);
            case Layer.AvgPool a -> new PoolNode(a);
            case Layer.GlobalAveragePool g -> new GlobalPoolNode(g);
            case Layer.Sequential s -> new SequentialNode(s, fusePools(buildAll(s.layers(), weights, algorithm)));
            case Layer.Residual r -> residual(r, weights, algorithm);
        };
    }

    /** Scratch bytes {@link #run} needs beyond its input and output, for an input of {@code input}. */
    long workspaceBytes(Shape input) {
        return 0;
    }

    /** Computes {@code out} from {@code in} (shapes already checked by the caller). */
    abstract void run(Tensor in, Tensor out, Workspace workspace);

    /**
     * Whether {@link #run} may be given its input as its output, for an input of {@code input}:
     * it then overwrites its input only where it no longer reads it.
     */
    boolean runsInPlace(Shape input) {
        return false;
    }

    /** {@link #run}, timed into the workspace's profile when there is one and this is an operator. */
    final void forward(Tensor in, Tensor out, Workspace workspace) {
        if (workspace.profile == null || this instanceof SequentialNode || this instanceof ResidualNode) {
            run(in, out, workspace);
            return;
        }
        long start = System.nanoTime();
        run(in, out, workspace);
        record(workspace.profile, in.shape(), out.shape(), System.nanoTime() - start);
    }

    /** Adds one run's time to the profile. */
    void record(Profile profile, Shape input, Shape output, long nanos) {
        profile.record(layer, input, output, nanos);
    }

    @Override
    public void close() {}

    // ---- operators ------------------------------------------------------------------------

    /** A convolution (also a folded stand-alone BatchNorm, or a linear layer as a 1×1 convolution). */
    static final class ConvNode extends Node {
        final Conv2d conv;

        ConvNode(Layer layer, Conv2d conv) {
            super(layer);
            this.conv = conv;
        }

        @Override
        void run(Tensor in, Tensor out, Workspace workspace) {
            conv.apply(in, null, out, workspace.context);
        }

        /** {@code out = act(conv(in) + residual)}, timed like {@link #forward}. */
        void forwardWithResidual(Tensor in, Tensor residual, Tensor out, Workspace workspace) {
            long start = workspace.profile == null ? 0 : System.nanoTime();
            conv.apply(in, residual, out, workspace.context);
            if (workspace.profile != null) {
                workspace.profile.record(layer, in.shape(), out.shape(), System.nanoTime() - start);
            }
        }

        @Override
        public void close() {
            conv.close();
        }
    }

    /** The involution module with its folded output BatchNorm and activation. */
    static final class OperatorNode extends Node {
        final Involution2d involution;

        OperatorNode(Layer layer, Involution2d involution) {
            super(layer);
            this.involution = involution;
        }

        @Override
        void run(Tensor in, Tensor out, Workspace workspace) {
            involution.apply(in, out, workspace.context);
        }

        @Override
        public void close() {
            involution.close();
        }
    }

    /**
     * Max or average pooling. The native operator needs the channel count, which the layer
     * leaves to the input, so one is created per channel count on first use.
     */
    static final class PoolNode extends Node {
        private final Map<Long, Pool2d> pools = new ConcurrentHashMap<>();

        PoolNode(Layer layer) {
            super(layer);
        }

        @Override
        void run(Tensor in, Tensor out, Workspace workspace) {
            pool(in.shape().c()).apply(in, out, workspace.context);
        }

        private Pool2d pool(long channels) {
            return pools.computeIfAbsent(channels, c -> switch (layer) {
                case Layer.MaxPool m -> Pool2d.max(c, m.kernel(), m.stride(), m.padding());
                case Layer.AvgPool a -> Pool2d.average(c, a.kernel(), a.stride(), a.padding(), a.countIncludePad());
                default -> throw new IllegalStateException("not a pool: " + layer);
            });
        }

        @Override
        public void close() {
            pools.values().forEach(Pool2d::close);
        }
    }

    /**
     * A convolution and the pool that follows it (the stems: ResNet's conv1 and max pool,
     * RedNet's stem.4 and max pool) as one operator, {@link Conv2d#applyPooled}: the
     * convolution's output (3.2 MB at 224×224) never goes to memory. Where the convolution's
     * path cannot pool as it computes (pointwise, depthwise, Winograd) the two run one after the
     * other through the workspace. Profiled as one step, {@code conv+pool}.
     */
    static final class ConvPoolNode extends Node {
        final ConvNode conv;
        final PoolNode pool;
        private final String description;
        private volatile Plan plan;

        /** For inputs of {@code input}: the pool, and whether the two run as one. */
        private record Plan(Shape input, Pool2d pool, boolean inOnePass) {}

        ConvPoolNode(ConvNode conv, PoolNode pool) {
            super(new Layer.Sequential(conv.layer.name() + "+" + pool.layer.name(), List.of(conv.layer, pool.layer)));
            this.conv = conv;
            this.pool = pool;
            this.description = conv.layer.describe() + ", " + pool.layer.describe();
        }

        private Plan plan(Shape input) {
            Plan p = plan;
            if (p == null || !p.input().equals(input)) {
                Pool2d pool2d = pool.pool(conv.layer.outputShape(input).c());
                p = new Plan(input, pool2d, conv.conv.poolsInOnePass(pool2d, input));
                plan = p;
            }
            return p;
        }

        @Override
        long workspaceBytes(Shape input) {
            return plan(input).inOnePass() ? 0 : Workspace.bytes(conv.layer.outputShape(input));
        }

        @Override
        void run(Tensor in, Tensor out, Workspace workspace) {
            Plan p = plan(in.shape());
            if (p.inOnePass()) {
                conv.conv.applyPooled(p.pool(), in, out, workspace.context);
                return;
            }
            long mark = workspace.mark();
            Tensor convolved = workspace.allocate(conv.layer.outputShape(in.shape()));
            conv.run(in, convolved, workspace);
            pool.run(convolved, out, workspace);
            workspace.release(mark);
        }

        @Override
        void record(Profile profile, Shape input, Shape output, long nanos) {
            profile.record(layer.name(), description, output, nanos, layer.macs(input));
        }

        @Override
        public void close() {
            closeAll(List.of(conv, pool));
        }
    }

    static final class GlobalPoolNode extends Node {
        GlobalPoolNode(Layer layer) {
            super(layer);
        }

        @Override
        void run(Tensor in, Tensor out, Workspace workspace) {
            GlobalAveragePool.apply(in, out, workspace.context);
        }
    }

    // ---- composites -----------------------------------------------------------------------

    /** Layers one after the other, alternating between two scratch slots. */
    static final class SequentialNode extends Node {
        final List<Node> children;

        SequentialNode(Layer layer, List<Node> children) {
            super(layer);
            this.children = children;
        }

        @Override
        long workspaceBytes(Shape input) {
            return chainBytes(children, input, 0);
        }

        @Override
        void run(Tensor in, Tensor out, Workspace workspace) {
            runChain(children, in, out, workspace);
        }

        @Override
        public void close() {
            closeAll(children);
        }
    }

    /**
     * {@code out = act(body(in) + shortcut(in))}, the add and activation fused into the last
     * convolution, which writes each output over its residual element: a projection's output
     * goes into {@code out} first, and an identity block runs in place when its chain lets it
     * ({@link #runsInPlace}). Its output lines are then in the cache it just read them into
     * instead of read from memory to be written: in RedNet-50's and ResNet-50's C passes the
     * last convolutions took 0.01-0.06 ms less each, 0.3-0.5 ms a pass.
     */
    static final class ResidualNode extends Node {
        final List<Node> body;      // all but the last convolution
        final ConvNode last;        // its activation is the block's
        final Node shortcut;        // null for the identity

        ResidualNode(Layer.Residual layer, List<Node> body, ConvNode last, Node shortcut) {
            super(layer);
            this.body = body;
            this.last = last;
            this.shortcut = shortcut;
        }

        @Override
        long workspaceBytes(Shape input) {
            long shortcutBytes = 0;
            long shortcutScratch = 0;
            if (shortcut != null) {
                shortcutBytes = Workspace.bytes(shortcut.layer.outputShape(input));
                shortcutScratch = shortcut.workspaceBytes(input);
            }
            // The body runs as a chain whose output is one more slot, the last convolution's input.
            Shape lastInput = input;
            for (Node node : body) {
                lastInput = node.layer.outputShape(lastInput);
            }
            long bodyBytes = body.isEmpty() ? 0 : Workspace.bytes(lastInput) + chainBytes(body, input, 0);
            return shortcutBytes + Math.max(shortcutScratch, bodyBytes);
        }

        @Override
        boolean runsInPlace(Shape input) {
            return shortcut == null && !body.isEmpty() && layer.outputShape(input).equals(input);
        }

        @Override
        void run(Tensor in, Tensor out, Workspace workspace) {
            long mark = workspace.mark();
            Tensor identity = in;
            if (shortcut != null) {
                boolean apart = in.segment().asOverlappingSlice(out.segment()).isEmpty();
                identity = apart ? out : workspace.allocate(shortcut.layer.outputShape(in.shape()));
                shortcut.forward(in, identity, workspace);
            }
            Tensor lastInput = in;
            if (!body.isEmpty()) {
                Shape shape = in.shape();
                for (Node node : body) {
                    shape = node.layer.outputShape(shape);
                }
                lastInput = workspace.allocate(shape);
                runChain(body, in, lastInput, workspace);
            }
            last.forwardWithResidual(lastInput, identity, out, workspace);
            workspace.release(mark);
        }

        @Override
        public void close() {
            List<Node> all = new ArrayList<>(body);
            all.add(last);
            if (shortcut != null) {
                all.add(shortcut);
            }
            closeAll(all);
        }
    }

    /**
     * Scratch for a chain from {@code input}: two slots of the largest intermediate (one when
     * there is a single intermediate), plus the largest scratch of a member.
     */
    private static long chainBytes(List<Node> nodes, Shape input, long extra) {
        long largest = 0;
        long scratch = 0;
        Shape shape = input;
        for (int i = 0; i < nodes.size(); i++) {
            Node node = nodes.get(i);
            scratch = Math.max(scratch, node.workspaceBytes(shape));
            shape = node.layer.outputShape(shape);
            if (i < nodes.size() - 1) {
                largest = Math.max(largest, Workspace.bytes(shape));
            }
        }
        int slots = Math.min(2, nodes.size() - 1);
        return slots * largest + scratch + extra;
    }

    /**
     * Runs {@code nodes} from {@code in} into {@code out}, intermediates in two alternating
     * slots; the nodes at the end that run in place (a stage's identity blocks) run in {@code
     * out}, which the node before them writes.
     */
    private static void runChain(List<Node> nodes, Tensor in, Tensor out, Workspace workspace) {
        int count = nodes.size();
        if (count == 1) {
            nodes.getFirst().forward(in, out, workspace);
            return;
        }
        Shape[] shapes = new Shape[count];
        Shape shape = in.shape();
        for (int i = 0; i < count; i++) {
            shape = nodes.get(i).layer.outputShape(shape);
            shapes[i] = shape;
        }
        int inPlace = count; // nodes [inPlace, count) run in out; never the first, which reads in
        while (inPlace > 1 && nodes.get(inPlace - 1).runsInPlace(shapes[inPlace - 2])) {
            inPlace--;
        }
        long mark = workspace.mark();
        long largest = 0;
        for (int i = 0; i < inPlace - 1; i++) {
            largest = Math.max(largest, Workspace.bytes(shapes[i]));
        }
        MemorySegment[] slots = {
            inPlace > 1 ? workspace.slot(largest) : null, inPlace > 2 ? workspace.slot(largest) : null};
        Tensor current = in;
        for (int i = 0; i < count; i++) {
            Tensor next = i >= inPlace - 1 ? out : workspace.in(slots[i % 2], shapes[i]);
            nodes.get(i).forward(current, next, workspace);
            current = next;
        }
        workspace.release(mark);
    }

    // ---- building -------------------------------------------------------------------------

    private static List<Node> buildAll(List<Layer> layers, ModelWeights weights, Conv2d.Algorithm algorithm) {
        List<Node> nodes = new ArrayList<>();
        try {
            for (Layer layer : layers) {
                nodes.add(build(layer, weights, algorithm));
            }
            return List.copyOf(nodes);
        } catch (RuntimeException | Error e) {
            closeAll(nodes);
            throw e;
        }
    }

    /**
     * The chain with each convolution that a pool follows joined to it ({@link ConvPoolNode});
     * a nested chain that ends in that convolution (RedNet's stem) is spliced in first so that
     * the two meet.
     */
    private static List<Node> fusePools(List<Node> nodes) {
        List<Node> chain = new ArrayList<>();
        for (Node node : nodes) {
            if (node instanceof PoolNode pool && !chain.isEmpty()) {
                if (chain.getLast() instanceof SequentialNode s && endsWithConv(s)) {
                    chain.removeLast();
                    chain.addAll(splice(s));
                }
                if (chain.getLast() instanceof ConvNode conv) {
                    chain.set(chain.size() - 1, new ConvPoolNode(conv, pool));
                    continue;
                }
            }
            chain.add(node);
        }
        return List.copyOf(chain);
    }

    private static boolean endsWithConv(SequentialNode s) {
        Node last = s.children.getLast();
        return last instanceof ConvNode || last instanceof SequentialNode inner && endsWithConv(inner);
    }

    /** The children of {@code s}, its last one spliced in the same way if it is a chain. */
    private static List<Node> splice(SequentialNode s) {
        List<Node> nodes = new ArrayList<>(s.children.subList(0, s.children.size() - 1));
        Node last = s.children.getLast();
        if (last instanceof SequentialNode inner) {
            nodes.addAll(splice(inner));
        } else {
            nodes.add(last);
        }
        return nodes;
    }

    private static Node residual(Layer.Residual r, ModelWeights weights, Conv2d.Algorithm algorithm) {
        List<Node> body = buildAll(r.body().subList(0, r.body().size() - 1), weights, algorithm);
        ConvNode last = null;
        try {
            Layer.Conv conv = r.last();
            // The block's activation applies after the add, which the kernel fuses before its activation.
            last = new ConvNode(conv, conv(conv, conv.withActivation(r.activation()).params(), weights, algorithm));
            Node shortcut = r.shortcut() == null ? null : build(r.shortcut(), weights, algorithm);
            return new ResidualNode(r, body, last, shortcut);
        } catch (RuntimeException | Error e) {
            closeAll(body);
            if (last != null) {
                last.close();
            }
            throw e;
        }
    }

    private static void closeAll(List<Node> nodes) {
        RuntimeException failure = null;
        for (Node node : nodes) {
            try {
                node.close();
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /** The convolution of {@code c} with {@code params}, its BatchNorm folded in (zero-copy without one). */
    private static Conv2d conv(Layer.Conv c, Conv2dParams params, ModelWeights weights,
                               Conv2d.Algorithm algorithm) {
        if (c.batchNorm() == null) {
            return Conv2d.create(params, weights.segment(c.weight()), c.bias() == null ? null : weights.segment(c.bias()),
                    algorithm);
        }
        BatchNormFolding.Affine affine = affine(weights, c.batchNorm(), c.bnEpsilon());
        float[][] folded = BatchNormFolding.intoConv(affine, weights.floats(c.weight()),
                c.bias() == null ? null : weights.floats(c.bias()));
        return Conv2d.create(params, folded[0], folded[1], algorithm);
    }

    private static Conv2d batchNorm(Layer.BatchNorm b, ModelWeights weights) {
        BatchNormFolding.Affine affine = affine(weights, b.name(), b.epsilon());
        Conv2dParams depthwise = new Conv2dParams(b.channels(), b.channels(), 1, 1, 1, 1, 1, 1, b.channels(),
                Padding.VALID, b.activation());
        return Conv2d.create(depthwise, affine.scaleFloats(), affine.shiftFloats());
    }

    private static Conv2d linear(Layer.Linear l, ModelWeights weights) {
        // [out, in] is the same memory as the 1x1 convolution weight [out, in, 1, 1].
        Conv2dParams pointwise = new Conv2dParams(l.inFeatures(), l.outFeatures(), 1, 1, 1, 1, 1, 1, 1,
                Padding.VALID, Activation.NONE);
        return Conv2d.create(pointwise, weights.segment(l.weight()), l.bias() == null ? null : weights.segment(l.bias()));
    }

    private static Involution2d involution(Layer.Involution v, ModelWeights weights) {
        Involution2dParams p = v.params();
        Map<String, MemorySegment> own = new LinkedHashMap<>();
        for (String suffix : Involution2d.parameterShapes(p).keySet()) {
            own.put(suffix, weights.segment(Layer.join(v.name(), suffix)));
        }
        Involution2d.Builder builder = Involution2d.builder(p.channels(), p.kernelSize()).stride(p.stride())
                .dilation(p.dilation()).groupChannels(p.groupChannels()).reductionRatio(p.reductionRatio())
                .bnEpsilon(p.bnEpsilon()).activation(v.activation());
        if (v.batchNorm() != null) {
            BatchNormFolding.Affine affine = affine(weights, v.batchNorm(), v.bnEpsilon());
            builder.outputAffine(affine.scaleFloats(), affine.shiftFloats());
        }
        return builder.buildFromSegments(own);
    }

    private static BatchNormFolding.Affine affine(ModelWeights weights, String prefix, double epsilon) {
        return BatchNormFolding.Affine.of(weights.floats(Layer.join(prefix, "weight")),
                weights.floats(Layer.join(prefix, "bias")), weights.floats(Layer.join(prefix, "running_mean")),
                weights.floats(Layer.join(prefix, "running_var")), epsilon);
    }
}
