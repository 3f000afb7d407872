package dev.invconv.cli;

import dev.invconv.Context;
import dev.invconv.Conv2d;
import dev.invconv.Shape;
import dev.invconv.Tensor;
import dev.invconv.model.Models;
import dev.invconv.model.Network;
import dev.invconv.safetensors.DType;
import dev.invconv.safetensors.SafeTensors;
import dev.invconv.safetensors.SafeTensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code invconv run} and {@code invconv info --model}, in-process. */
class RunCommandTest {

    @TempDir
    Path temp;

    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void inputAndOutputRoundTripWithTopClasses() throws IOException {
        Path input = temp.resolve("input.safetensors");
        Path output = temp.resolve("output.safetensors");
        float[] values = new float[2 * 3 * 64 * 64];
        Random random = new Random(11);
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextFloat() * 2 - 1;
        }
        new SafeTensorsWriter().add("input", values, 2, 3, 64, 64).write(input);
        Run run = run("run", "--model", "rednet26", "--input", input.toString(), "--output", output.toString(),
                "--top", "3", "--seed", "4", "--threads", "2");
        assertEquals(0, run.code(), run.out() + run.err());
        assertTrue(run.out().startsWith("weights    RANDOM (seed 4): no --weights given, so the scores below are meaningless"),
                run.out());
        assertTrue(run.out().contains("tensor 'input' [2, 3, 64, 64]"), run.out());
        assertTrue(run.out().contains("top-3      input 0") && run.out().contains("top-3      input 1"), run.out());
        float[] logits;
        try (SafeTensors file = SafeTensors.open(output)) {
            logits = file.require("output", DType.F32, 2, 1000).toFloatArray();
            assertEquals("rednet26", file.metadata().get("model"));
        }
        // The same as the API gives (results do not depend on the thread count).
        try (Network network = Models.create("rednet26", 4);
             Arena arena = Arena.ofConfined();
             Context context = Context.create(1)) {
            Tensor x = Tensor.of(arena, Shape.nchw(2, 3, 64, 64), values);
            assertArrayEquals(network.forward(x, arena, context).toArray(), logits);
            // The top class printed is the argmax, with its ImageNet name.
            int best = 0;
            for (int c = 1; c < 1000; c++) {
                if (logits[c] > logits[best]) {
                    best = c;
                }
            }
            String name = RunCommand.imagenetClasses().get(best);
            assertTrue(run.out().matches("(?s).*\\n   1\\. +[0-9.]+%\\s+" + best + "  " + java.util.regex.Pattern.quote(name)
                    + "\\n.*"), best + " " + name + "\n" + run.out());
        }
    }

    /** --winograd builds the network as Models.create(..., WINOGRAD) does, and says so. */
    @Test
    void winogradRunsTheWinogradNetwork() throws IOException {
        Path input = temp.resolve("input112.safetensors");
        Path output = temp.resolve("output112.safetensors");
        float[] values = new float[3 * 112 * 112];
        Random random = new Random(12);
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextFloat() * 2 - 1;
        }
        new SafeTensorsWriter().add("input", values, 1, 3, 112, 112).write(input);
        Run run = run("run", "--model", "resnet50", "--input", input.toString(), "--output", output.toString(),
                "--seed", "5", "--winograd");
        assertEquals(0, run.code(), run.out() + run.err());
        assertTrue(run.out().contains("Winograd 3x3 convolutions"), run.out());
        float[] logits;
        try (SafeTensors file = SafeTensors.open(output)) {
            logits = file.require("output", DType.F32, 1, 1000).toFloatArray();
        }
        try (Network network = Models.create("resnet50", 5, Conv2d.Algorithm.WINOGRAD);
             Arena arena = Arena.ofConfined();
             Context context = Context.create(1)) {
            Tensor x = Tensor.of(arena, Shape.nchw(1, 3, 112, 112), values);
            assertArrayEquals(network.forward(x, arena, context).toArray(), logits);
        }
    }

    @Test
    void imagesAreClassifiedWithImagenetNamesAndAProfile() throws IOException {
        BufferedImage image = new BufferedImage(90, 70, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 70; y++) {
            for (int x = 0; x < 90; x++) {
                image.setRGB(x, y, (x * 2) << 16 | (y * 3) << 8 | 128);
            }
        }
        Path png = temp.resolve("gradient.png");
        ImageIO.write(image, "png", png.toFile());
        Run run = run("run", "--model", "rednet26", "--image", png.toString(), "--profile", "--top", "2",
                "--threads", "2");
        assertEquals(0, run.code(), run.out() + run.err());
        assertTrue(run.out().contains("input      1 image, resized and centre-cropped to 224x224"), run.out());
        assertTrue(run.out().contains("top-2      gradient.png"), run.out());
        assertTrue(run.out().contains("layer4.0.conv3") && run.out().contains("ms/pass"), "profile table:\n" + run.out());
    }

    @Test
    void classNamesAreTheThousandImagenetClasses() {
        var names = RunCommand.imagenetClasses();
        assertEquals(1000, names.size());
        assertEquals("tench", names.get(0));
        assertEquals("tabby", names.get(281));
        assertEquals("toilet tissue", names.get(999));
    }

    @Test
    void infoDescribesAModel() {
        Run run = run("info", "--model", "rednet26");
        assertEquals(0, run.code(), run.err());
        assertTrue(run.out().contains("rednet26: 9,233,166 parameters (9.23M), 1.69 GMACs for input [1, 3, 224, 224]"),
                run.out());
        assertTrue(run.out().contains("stem.1") && run.out().contains("involution 3x3 32"), run.out());
        Run resnet = run("info", "--model", "resnet50");
        assertTrue(resnet.out().contains("resnet50: 25,557,032 parameters (25.56M), 4.09 GMACs"), resnet.out());
    }

    @Test
    void errorsAreClear() throws IOException {
        Run noModel = run("run");
        assertEquals(2, noModel.code());
        assertTrue(noModel.err().contains("--model is required"), noModel.err());
        Run unknown = run("run", "--model", "vgg16");
        assertEquals(2, unknown.code());
        assertTrue(unknown.err().contains("unknown model 'vgg16'"), unknown.err());
        Path wrong = temp.resolve("wrong.safetensors");
        new SafeTensorsWriter().add("fc.weight", new float[4], 2, 2).write(wrong);
        Run weights = run("run", "--model", "rednet26", "--weights", wrong.toString());
        assertEquals(2, weights.code());
        assertTrue(weights.err().contains("does not fit rednet26: 211 missing, 1 unexpected"), weights.err());
        Path truncated = temp.resolve("truncated.safetensors");
        Files.write(truncated, new byte[] {1, 2, 3});
        Run broken = run("run", "--model", "rednet26", "--weights", truncated.toString());
        assertEquals(2, broken.code());
        assertTrue(broken.err().contains("truncated.safetensors"), broken.err());
        Run flag = run("run", "--model", "rednet26", "--frobnicate");
        assertEquals(2, flag.code());
        assertTrue(flag.err().contains("unknown argument '--frobnicate'"), flag.err());
    }
}
