package dev.invconv.cli;

import dev.invconv.Context;
import dev.invconv.Conv2d;
import dev.invconv.Shape;
import dev.invconv.cli.bench.BenchCase;
import dev.invconv.cli.bench.ModelCase;
import dev.invconv.cli.bench.OperatorCase;
import dev.invconv.cli.bench.Problem;
import dev.invconv.cli.bench.Suite;
import dev.invconv.cli.bench.Suites;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code invconv bench}: arguments, problem strings, the suites' layer lists, and a quick run. */
class BenchTest {

    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    // ---- arguments --------------------------------------------------------------------------------

    @Test
    void defaultsAreAllSuitesNoFilesFullBudget() {
        Bench.Args a = Bench.Args.parse(new String[0]);
        assertEquals("all", a.suites());
        assertFalse(a.quick());
        assertFalse(a.compareJava());
        assertTrue(a.check());
        assertNull(a.json());
        assertNull(a.chart());
        assertFalse(a.winograd());
        assertEquals(1.0, a.nativeTiming().seconds());
    }

    @Test
    void parsesEveryOptionAndDerivesTheChartFromTheJson() {
        Bench.Args a = Bench.Args.parse(new String[] {"--suite", "resnet50-layers,targets", "--quick", "--json",
                "out/r.json", "--compare-java", "--seconds=0.5", "--seed", "7", "--no-check", "--winograd"});
        assertTrue(a.winograd());
        assertEquals("resnet50-layers,targets", a.suites());
        assertTrue(a.quick());
        assertTrue(a.compareJava());
        assertFalse(a.check());
        assertEquals(7, a.seed());
        assertEquals(Path.of("out/r.json"), a.json());
        assertEquals(Path.of("out/r.png"), a.chart());
        assertEquals(0.5, a.nativeTiming().seconds());
        assertEquals(List.of("resnet50-layers", "targets"), a.selectedSuites().stream().map(Suite::name).toList());

        Bench.Args explicit = Bench.Args.parse(new String[] {"--json=a.json", "--chart", "c.png"});
        assertEquals(Path.of("c.png"), explicit.chart());
        Bench.Args cases = Bench.Args.parse(new String[] {"--case", "mb1ic8ih9oc8kh3sh1ph1", "--case", "inv_mb1ic16ih8kh3sh1gc16r4"});
        assertEquals(2, cases.selectedSuites().get(0).cases().get().size());
    }

    @Test
    void badArgumentsAreUsageErrorsNamingTheProblem() {
        assertThrows(IllegalArgumentException.class, () -> Bench.Args.parse(new String[] {"--bogus"}));
        assertThrows(IllegalArgumentException.class, () -> Bench.Args.parse(new String[] {"--json"}));
        assertThrows(IllegalArgumentException.class, () -> Bench.Args.parse(new String[] {"--seconds", "0"}));
        assertThrows(IllegalArgumentException.class,
                () -> Bench.Args.parse(new String[] {"--suite", "smoke", "--case", "mb1ic8ih9oc8kh3sh1ph1"}));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Bench.Args.parse(new String[] {"--suite", "nope"}).selectedSuites());
        assertTrue(e.getMessage().contains("resnet50-layers"), e.getMessage());

        Run r = run("bench", "--suite", "nope");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--suite nope is not one of"), r.err());
        assertTrue(run("help").out().contains("--compare-java"));
    }

    @Test
    void listPrintsProblemStringsForThePeers() {
        Run r = run("bench", "--suite", "targets", "--list");
        assertEquals(0, r.code(), r.err());
        assertEquals(List.of("# targets: the four target cases of issue 4 with their target times",
                "mb1ic64ih56oc64kh3sh1ph1", "mb1ic256ih56oc64kh1sh1ph0", "g32mb1ic32ih112oc32kh3sh1ph1",
                "inv_mb1ic64ih56kh7sh1gc16r4"), r.out().lines().toList());
    }

    // ---- problem strings and suites ---------------------------------------------------------------

    @Test
    void problemStringsRoundTripAndClassifyTheOperator() {
        Problem conv = Problem.parse("mb1ic64ih56oc64kh3sh1ph1");
        assertEquals(Problem.Op.CONV2D, conv.op());
        assertEquals(56, conv.outH());
        assertEquals(2.0 * 56 * 56 * 64 * 64 * 9, conv.flops());
        assertEquals(Problem.Op.POINTWISE, Problem.parse("mb1ic256ih56oc64kh1sh1ph0").op());
        assertEquals(Problem.Op.CONV2D, Problem.parse("mb1ic256ih56oc512kh1sh2ph0").op()); // strided 1x1
        assertEquals(Problem.Op.DEPTHWISE, Problem.parse("g32mb1ic32ih112oc32kh3sh1ph1").op());
        Problem sep = Problem.parse("sep_mb1ic32ih112oc16kh3sh2ph1");
        assertEquals(Problem.Op.SEPARABLE, sep.op());
        assertEquals(56, sep.outH());
        Problem inv = Problem.parse("inv_mb1ic128ih56kh7sh2gc16r4");
        assertEquals(28, inv.outH());
        assertEquals(2.0 * 28 * 28 * (128 * 32 + 32 * 49 * 8 + 128 * 49), inv.flops());
        assertEquals(Problem.parse("mb2ic3ih224iw200oc8kh7kw5sh2sw1ph3pw2"),
                Problem.parse(Problem.parse("mb2ic3ih224iw200oc8kh7kw5sh2sw1ph3pw2").toString()));
        assertEquals("mb1ic3ih9oc4kh3sh1ph0", Problem.parse("ic3ih9oc4kh3").toString()); // benchdnn defaults

        for (String bad : List.of("mb1ic64", "mb1ic64ih56oc64kh3xx1", "mb1ic64ih56oc64kh3sh1sh1", "inv_mb1ic64ih56kh7sh1ph0",
                "mb1ic4ih2oc4kh5sh1ph0")) {
            assertThrows(IllegalArgumentException.class, () -> Problem.parse(bad), bad);
        }
    }

    @Test
    void suitesHoldTheNetworksDistinctLayersWithTheirCounts() {
        List<OperatorCase> resnet = cases("resnet50-layers");
        assertEquals(23, resnet.size());
        assertEquals(53, resnet.stream().mapToInt(OperatorCase::count).sum()); // every conv of ResNet-50
        assertEquals(Set.of(1L, 3L, 7L), Set.copyOf(resnet.stream().map(OperatorCase::kernel).toList()));

        List<OperatorCase> mobilenet = cases("mobilenetv2-layers");
        assertEquals(10, mobilenet.stream().filter(c -> c.op().equals("depthwise_conv2d")).count());
        assertEquals(19, mobilenet.stream().filter(c -> c.op().equals("pointwise_conv2d")).count());
        assertEquals(12, mobilenet.stream().filter(c -> c.op().equals("separable_conv2d")).count());

        List<OperatorCase> rednet = cases("rednet50-layers");
        assertEquals(1 + 16, rednet.stream().mapToInt(OperatorCase::count).sum()); // stem + 3+4+6+3 blocks
        assertEquals(3, rednet.stream().filter(c -> c.stride() == 2).count());

        for (Suite suite : Suites.all().values()) {
            for (var c : suite.cases().get()) {
                if (!c.op().equals("model")) {
                    assertEquals(c.name(), Problem.parse(c.name()).toString(), suite.name());
                }
            }
        }
    }

    @Test
    void modelsSuiteTimesResNet50AndRedNet26And50WithTheIssueTargets() {
        List<? extends BenchCase> models = Suites.select("models").get(0).cases().get();
        assertEquals(List.of("resnet50_mb1ih224", "rednet26_mb1ih224", "rednet50_mb1ih224"),
                models.stream().map(BenchCase::name).toList());
        assertTrue(Suites.select("all").stream().anyMatch(s -> s.name().equals("models")));
        BenchCase resnet = models.get(0);
        assertEquals("model", resnet.op());
        assertEquals(Shape.nchw(1, 3, 224, 224), resnet.input());
        assertEquals(1000, resnet.outChannels());
        assertEquals(2 * 4_089_184_256.0, resnet.flops(), 1e9 * 0.01); // torchvision: 4.09 GMACs
        assertEquals(27.0, resnet.targetMs());
        assertEquals(20.0, models.get(2).targetMs());
        assertTrue(Double.isNaN(models.get(1).targetMs()));
        assertEquals("rednet50_mb1ih64", models.get(2).checkVariant().name()); // the self-check runs at 64x64
        assertThrows(IllegalArgumentException.class, () -> new ModelCase("resnet51", 224));
        assertThrows(IllegalArgumentException.class, () -> new ModelCase("resnet50", 16));
        for (BenchCase model : models) {
            assertEquals(model, ModelCase.parse(model.name())); // the names the peers print parse back
        }
        assertEquals(new ModelCase("rednet26", 96), ModelCase.parse("rednet26_mb1ih96"));
        for (String bad : List.of("resnet51_mb1ih224", "resnet50_mb1ih16", "resnet50_mb2ih224", "resnet50")) {
            assertThrows(IllegalArgumentException.class, () -> ModelCase.parse(bad), bad);
        }
    }

    /** --case takes model case names too, so that one model can be timed alone (head-to-head.sh). */
    @Test
    void aCaseOptionRunsAModelByItsName() {
        Run r = run("bench", "--case", "rednet26_mb1ih64", "--case", "mb1ic3ih9oc4kh3sh1ph1", "--list");
        assertEquals(0, r.code(), r.err());
        assertEquals(List.of("rednet26_mb1ih64", "mb1ic3ih9oc4kh3sh1ph1"),
                r.out().lines().filter(l -> !l.startsWith("#")).toList());
        Run timed = run("bench", "--case", "rednet26_mb1ih64", "--quick");
        assertEquals(0, timed.code(), timed.err());
        assertTrue(timed.out().contains("rednet26_mb1ih64"), timed.out());
        assertTrue(timed.out().contains(" ok "), timed.out());
        Run bad = run("bench", "--case", "resnet51_mb1ih224");
        assertEquals(2, bad.code(), bad.out());
        assertTrue(bad.err().contains("resnet51"), bad.err());
    }

    /** The whole models path on a small input: built, timed, checked against the plain-Java network. */
    @Test
    void aModelCaseRunsAndMatchesThePlainJavaNetwork() {
        ModelCase small = new ModelCase("rednet26", 64);
        try (Context context = Context.create(2); BenchCase.Prepared p = small.prepare(context, 7)) {
            p.run();
            BenchCase.Verdict verdict = p.check();
            assertTrue(verdict.passed(), verdict.detail());
            assertTrue(verdict.maxError() < 1e-2, verdict.detail());
        }
    }

    /** --winograd: the network's 3x3 convolutions at 112x112 (layers 1 and 2) are Winograd's. */
    @Test
    void aWinogradModelCaseSaysSoAndMatchesThePlainJavaNetwork() {
        ModelCase winograd = new ModelCase("resnet50", 112).withAlgorithm(Conv2d.Algorithm.WINOGRAD);
        assertEquals("resnet50_mb1ih112", winograd.name()); // the peers' case name
        assertEquals(Conv2d.Algorithm.WINOGRAD, ((ModelCase) winograd.checkVariant()).algorithm());
        try (Context context = Context.create(2); BenchCase.Prepared p = winograd.prepare(context, 7)) {
            assertEquals("network of resnet50, WINOGRAD convs", p.kernelName());
            p.run();
            BenchCase.Verdict verdict = p.check();
            assertTrue(verdict.passed(), verdict.detail());
        }
    }

    /**
     * --winograd on an operator case: a general 3x3 stride-1 conv takes Winograd (NCHW in and
     * out) and passes its check; a pointwise one is unchanged.
     */
    @Test
    void aWinogradOperatorCaseRunsWinogradAndPassesItsCheck() {
        OperatorCase conv = OperatorCase.of("mb1ic64ih20oc48kh3sh1ph1", 1).withAlgorithm(Conv2d.Algorithm.WINOGRAD);
        assertEquals("mb1ic64ih20oc48kh3sh1ph1", conv.name()); // the peers' case name
        assertEquals(Conv2d.Algorithm.WINOGRAD, ((OperatorCase) conv.checkVariant()).algorithm());
        OperatorCase pointwise = OperatorCase.of("mb1ic64ih20oc48kh1sh1ph0", 1).withAlgorithm(Conv2d.Algorithm.WINOGRAD);
        try (Context context = Context.create(2);
             BenchCase.Prepared p = conv.prepare(context, 7);
             BenchCase.Prepared q = pointwise.prepare(context, 7)) {
            assertTrue(p.kernelName().contains("+f32_winograd_4x4_3x3_"), p.kernelName());
            assertFalse(q.kernelName().contains("winograd"), q.kernelName());
            p.run();
            BenchCase.Verdict verdict = p.check();
            assertTrue(verdict.passed(), verdict.detail());
        }
    }

    @SuppressWarnings("unchecked")
    private static List<OperatorCase> cases(String suite) {
        return (List<OperatorCase>) Suites.select(suite).get(0).cases().get();
    }

    // ---- a quick run ------------------------------------------------------------------------------

    @Test
    @SuppressWarnings("unchecked")
    void quickSmokeRunWritesValidJsonAndAPngChart(@TempDir Path dir) throws IOException {
        Path json = dir.resolve("results/smoke.json");
        Run r = run("bench", "--suite", "smoke", "--quick", "--seconds", "0.02", "--compare-java", "--threads", "2",
                "--json", json.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("GFLOP/s"), r.out());
        assertTrue(r.err().contains("[5/5]"), r.err());

        List<Object> cases = (List<Object>) new MiniJson(Files.readString(json)).parse();
        assertEquals(5, cases.size());
        for (Object o : cases) {
            Map<String, Object> c = (Map<String, Object>) o;
            for (String field : List.of("name", "op", "n", "c", "h", "w", "out_channels", "kernel", "stride", "groups",
                    "median_ms", "gflops", "p10_ms", "p90_ms", "threads", "isa", "kernel_name")) {
                assertTrue(c.containsKey(field), field + " missing in " + c);
            }
            assertEquals("pass", c.get("check"), c.toString());
            assertEquals(2.0, c.get("threads"));
            double median = (Double) c.get("median_ms");
            assertTrue(median > 0 && (Double) c.get("p10_ms") <= median && median <= (Double) c.get("p90_ms"), c.toString());
            assertTrue((Double) c.get("gflops") > 0);
            assertTrue((Double) c.get("bandwidth_gbps") > 0, "the bandwidth yardstick: " + c);
            if (c.get("op").equals("depthwise_conv2d")) {
                assertTrue((Double) c.get("pct_bandwidth") > 0, c.toString());
            }
            assertTrue((Double) c.get("java_median_ms") > 0);
            assertEquals(Problem.parse((String) c.get("name")).toString(), c.get("name"));
        }
        assertEquals(List.of("conv2d", "pointwise_conv2d", "depthwise_conv2d", "separable_conv2d", "involution2d"),
                cases.stream().map(o -> ((Map<String, Object>) o).get("op")).toList());

        BufferedImage png = ImageIO.read(dir.resolve("results/smoke.png").toFile());
        assertNotNull(png, "smoke.png is not a readable image");
        assertEquals(1200, png.getWidth());
        assertTrue(png.getHeight() > 100);
    }

    @Test
    void aCaseTheLibraryRejectsIsReportedAndTheOthersStillRun() {
        Run r = run("bench", "--quick", "--seconds", "0.01", "--case", "inv_mb1ic24ih8kh3sh1gc16r4", "--case",
                "mb1ic8ih9oc8kh3sh1ph1");
        assertEquals(1, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("inv_mb1ic24ih8kh3sh1gc16r4") && r.out().contains("ERROR"), r.out());
        assertTrue(r.err().contains("group_channels"), r.err());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("mb1ic8ih9oc8kh3sh1ph1") && l.contains(" ok ")), r.out());
    }

    /** Just enough JSON to read the bench's output back: objects, arrays, strings, numbers, literals. */
    private static final class MiniJson {
        private final String s;
        private int at;

        MiniJson(String s) {
            this.s = s;
        }

        Object parse() {
            Object v = value();
            space();
            if (at != s.length()) {
                throw error("trailing text");
            }
            return v;
        }

        private Object value() {
            space();
            if (at >= s.length()) {
                throw error("unexpected end");
            }
            char c = s.charAt(at);
            if (c == '{') {
                Map<String, Object> m = new LinkedHashMap<>();
                at++;
                space();
                if (peek('}')) {
                    return m;
                }
                do {
                    space();
                    String key = string();
                    space();
                    expect(':');
                    if (m.put(key, value()) != null) {
                        throw error("duplicate key " + key);
                    }
                    space();
                } while (peek(','));
                expect('}');
                return m;
            }
            if (c == '[') {
                List<Object> l = new ArrayList<>();
                at++;
                space();
                if (peek(']')) {
                    return l;
                }
                do {
                    l.add(value());
                    space();
                } while (peek(','));
                expect(']');
                return l;
            }
            if (c == '"') {
                return string();
            }
            for (String literal : List.of("true", "false", "null")) {
                if (s.startsWith(literal, at)) {
                    at += literal.length();
                    return literal.equals("null") ? null : Boolean.valueOf(literal);
                }
            }
            int start = at;
            while (at < s.length() && "+-0123456789.eE".indexOf(s.charAt(at)) >= 0) {
                at++;
            }
            String number = s.substring(start, at);
            if (!number.matches("-?(0|[1-9]\\d*)(\\.\\d+)?([eE][+-]?\\d+)?")) {
                throw error("bad number '" + number + "'");
            }
            return Double.valueOf(number);
        }

        private String string() {
            expect('"');
            StringBuilder b = new StringBuilder();
            while (s.charAt(at) != '"') {
                char c = s.charAt(at++);
                if (c == '\\') {
                    char e = s.charAt(at++);
                    b.append(switch (e) {
                        case 'n' -> '\n';
                        case 't' -> '\t';
                        case 'r' -> '\r';
                        case 'u' -> {
                            char u = (char) Integer.parseInt(s.substring(at, at + 4), 16);
                            at += 4;
                            yield u;
                        }
                        default -> e;
                    });
                } else if (c < 0x20) {
                    throw error("control character in string");
                } else {
                    b.append(c);
                }
            }
            at++;
            return b.toString();
        }

        private void space() {
            while (at < s.length() && Character.isWhitespace(s.charAt(at))) {
                at++;
            }
        }

        private boolean peek(char c) {
            if (at < s.length() && s.charAt(at) == c) {
                at++;
                return true;
            }
            return false;
        }

        private void expect(char c) {
            if (!peek(c)) {
                throw error("expected '" + c + "'");
            }
        }

        private IllegalStateException error(String what) {
            return new IllegalStateException("invalid JSON at " + at + ": " + what);
        }
    }
}
