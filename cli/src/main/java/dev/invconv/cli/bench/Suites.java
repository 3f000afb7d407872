package dev.invconv.cli.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.invconv.cli.bench.Problem.conv;
import static dev.invconv.cli.bench.Problem.depthwise;
import static dev.invconv.cli.bench.Problem.involution;
import static dev.invconv.cli.bench.Problem.separable;

/**
 * The registry of benchmark suites: one line per suite in {@link #REGISTRY}. {@code all} runs
 * every suite registered with {@code inAll = true}.
 *
 * <p>A suite is one line in the static block: a name, a description and a supplier of
 * {@link BenchCase}s (operators: {@link OperatorCase}; whole networks: {@link ModelCase}).
 */
public final class Suites {

    private static final Map<String, Suite> REGISTRY = new LinkedHashMap<>();
    private static final List<String> IN_ALL = new ArrayList<>();

    static {
        register(new Suite("resnet50-layers",
                "every distinct conv layer of ResNet-50 (torchvision v1.5) at 224x224, batch 1",
                Suites::resnet50Layers), true);
        register(new Suite("mobilenetv2-layers",
                "MobileNetV2 (224x224) depthwise, pointwise and separable (depthwise + projection) layers",
                Suites::mobilenetV2Layers), true);
        register(new Suite("rednet50-layers",
                "RedNet-50 involution layers (official module, kernel generation included), K=7, and the K=3 stem",
                Suites::rednet50Layers), true);
        register(new Suite("targets", "the four target cases of issue 4 with their target times",
                Suites::targets), true);
        register(new Suite("models",
                "end-to-end batch-1 latency of ResNet-50 and RedNet-26/50 at 224x224 (random weights, NCHW)",
                ModelCase::suite), true);
        register(new Suite("smoke", "five tiny cases, one per operator: checks the bench itself in a second",
                Suites::smoke), false);
    }

    private Suites() {}

    /**
     * Adds a suite. {@code inAll}: whether {@code --suite all} includes it. A later registration
     * under the same name replaces the earlier.
     */
    public static synchronized void register(Suite suite, boolean inAll) {
        REGISTRY.put(suite.name(), suite);
        IN_ALL.remove(suite.name());
        if (inAll) {
            IN_ALL.add(suite.name());
        }
    }

    /** Every registered suite, in registration order. */
    public static synchronized Map<String, Suite> all() {
        return Collections.unmodifiableMap(new LinkedHashMap<>(REGISTRY));
    }

    /**
     * The suites a {@code --suite} value names: one name, a comma-separated list, or {@code all}.
     *
     * @throws IllegalArgumentException naming the unknown suite and the known ones
     */
    public static synchronized List<Suite> select(String names) {
        List<Suite> selected = new ArrayList<>();
        for (String name : names.split(",")) {
            String trimmed = name.trim();
            if (trimmed.equals("all")) {
                IN_ALL.forEach(n -> selected.add(REGISTRY.get(n)));
            } else if (REGISTRY.containsKey(trimmed)) {
                selected.add(REGISTRY.get(trimmed));
            } else {
                throw new IllegalArgumentException("--suite " + trimmed + " is not one of " + String.join(", ", REGISTRY.keySet())
                        + ", all");
            }
        }
        return selected;
    }

    /**
     * ResNet-50 (torchvision, stride on the 3×3) at 224×224: 23 distinct convolutions of its 53,
     * each with how often it occurs (bottleneck 1×1s, 3×3s and the projection shortcuts).
     */
    static List<OperatorCase> resnet50Layers() {
        List<OperatorCase> cases = new ArrayList<>();
        add(cases, conv(1, 3, 224, 64, 7, 2, 3), 1);                  // conv1
        int[][] stages = {{64, 56, 3}, {128, 28, 4}, {256, 14, 6}, {512, 7, 3}}; // mid channels, size, blocks
        int in = 64;
        int inSize = 56;
        for (int[] stage : stages) {
            int mid = stage[0], size = stage[1], blocks = stage[2], out = 4 * mid;
            int stride = inSize / size;
            add(cases, conv(1, in, inSize, mid, 1, 1, 0), 1);              // first block's reduce 1x1
            add(cases, conv(1, mid, inSize, mid, 3, stride, 1), 1);        // first block's 3x3 (strided)
            add(cases, conv(1, mid, size, out, 1, 1, 0), blocks);          // expand 1x1, every block
            add(cases, conv(1, in, inSize, out, 1, stride, 0), 1);         // projection shortcut
            add(cases, conv(1, out, size, mid, 1, 1, 0), blocks - 1);      // later blocks' reduce 1x1
            add(cases, conv(1, mid, size, mid, 3, 1, 1), blocks - 1);      // later blocks' 3x3
            in = out;
            inSize = size;
        }
        return merge(cases);
    }

    /**
     * MobileNetV2 (width 1.0, 224×224), after the stem: the inverted residual blocks' depthwise
     * 3×3 and pointwise (expand, project) layers, the final 1×1, and each block's depthwise +
     * projection as one separable convolution.
     */
    static List<OperatorCase> mobilenetV2Layers() {
        int[][] settings = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1},
                {6, 160, 3, 2}, {6, 320, 1, 1}}; // expansion t, out channels c, blocks n, first stride s
        List<OperatorCase> depthwise = new ArrayList<>();
        List<OperatorCase> pointwise = new ArrayList<>();
        List<OperatorCase> separable = new ArrayList<>();
        int in = 32;
        int size = 112;
        for (int[] s : settings) {
            for (int block = 0; block < s[2]; block++) {
                int stride = block == 0 ? s[3] : 1;
                int hidden = in * s[0];
                if (s[0] != 1) {
                    add(pointwise, conv(1, in, size, hidden, 1, 1, 0), 1);
                }
                add(depthwise, depthwise(1, hidden, size, 3, stride, 1), 1);
                int outSize = size / stride;
                add(pointwise, conv(1, hidden, outSize, s[1], 1, 1, 0), 1);
                add(separable, separable(1, hidden, size, s[1], 3, stride, 1), 1);
                in = s[1];
                size = outSize;
            }
        }
        add(pointwise, conv(1, in, size, 1280, 1, 1, 0), 1);
        List<OperatorCase> all = new ArrayList<>(merge(depthwise));
        all.addAll(merge(pointwise));
        all.addAll(merge(separable));
        return all;
    }

    /**
     * RedNet-50 (official {@code cls/} backbone, layers 3-4-6-3): every bottleneck's 3×3 conv is an
     * involution with K=7 on the mid channels, strided in each stage's first block (except the
     * first stage); the stem has one involution with K=3 on 32 channels at 112×112.
     */
    static List<OperatorCase> rednet50Layers() {
        List<OperatorCase> cases = new ArrayList<>();
        add(cases, involution(1, 32, 112, 3, 1), 1);                   // stem
        int[][] stages = {{64, 56, 3}, {128, 28, 4}, {256, 14, 6}, {512, 7, 3}};
        int inSize = 56;
        for (int[] stage : stages) {
            int mid = stage[0], size = stage[1], blocks = stage[2];
            int stride = inSize / size;
            if (stride == 1) {
                add(cases, involution(1, mid, size, 7, 1), blocks);
            } else {
                add(cases, involution(1, mid, inSize, 7, stride), 1);
                add(cases, involution(1, mid, size, 7, 1), blocks - 1);
            }
            inSize = size;
        }
        return merge(cases);
    }

    /** Issue 4's targets (2 threads, batch 1): the oneDNN / official-PyTorch figures they beat. */
    static List<OperatorCase> targets() {
        return List.of(
                new OperatorCase(conv(1, 64, 56, 64, 3, 1, 1), 1, 0.60),
                new OperatorCase(conv(1, 256, 56, 64, 1, 1, 0), 1, 0.29),
                new OperatorCase(depthwise(1, 32, 112, 3, 1, 1), 1, 0.05),
                new OperatorCase(involution(1, 64, 56, 7, 1), 1, 0.25));
    }

    /** Tiny cases, one per operator, odd sizes included. */
    static List<OperatorCase> smoke() {
        return List.of(
                OperatorCase.of("mb1ic16ih15oc32kh3sh1ph1", 1),
                OperatorCase.of("mb1ic32ih9oc16kh1sh1ph0", 1),
                OperatorCase.of("g24mb1ic24ih13oc24kh3sh2ph1", 1),
                OperatorCase.of("sep_mb1ic16ih11oc24kh3sh1ph1", 1),
                OperatorCase.of("inv_mb1ic32ih12kh7sh2gc16r4", 1));
    }

    private static void add(List<OperatorCase> cases, Problem problem, int count) {
        if (count > 0) {
            cases.add(new OperatorCase(problem, count, Double.NaN));
        }
    }

    /** Merges repeated problems (summing their counts), keeping first occurrences in order. */
    private static List<OperatorCase> merge(List<OperatorCase> cases) {
        Map<Problem, OperatorCase> merged = new LinkedHashMap<>();
        for (OperatorCase c : cases) {
            merged.merge(c.problem(), c, (a, b) -> new OperatorCase(a.problem(), a.count() + b.count(), a.targetMs()));
        }
        return List.copyOf(merged.values());
    }
}
