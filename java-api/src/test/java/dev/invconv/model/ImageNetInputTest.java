package dev.invconv.model;

import dev.invconv.Shape;
import dev.invconv.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Image files to ImageNet-normalised input tensors, as torchvision's Resize(256) + CenterCrop(224). */
class ImageNetInputTest {

    private static final double[] MEAN = {0.485, 0.456, 0.406};
    private static final double[] STD = {0.229, 0.224, 0.225};

    @TempDir
    Path temp;

    private Path write(BufferedImage image, String format) throws IOException {
        Path path = temp.resolve("image-" + image.getWidth() + "x" + image.getHeight() + "-" + image.getType() + "." + format);
        assertTrue(ImageIO.write(image, format, path.toFile()), "a " + format + " writer");
        return path;
    }

    private static BufferedImage solid(int width, int height, int type, Color color) {
        BufferedImage image = new BufferedImage(width, height, type);
        Graphics2D g = image.createGraphics();
        g.setColor(color);
        g.fillRect(0, 0, width, height);
        g.dispose();
        return image;
    }

    private static double normalised(int value, int channel) {
        return (value / 255.0 - MEAN[channel]) / STD[channel];
    }

    @Test
    void aPngOfAnySizeBecomesA224CropNormalisedPerChannel() throws IOException {
        Path png = write(solid(300, 200, BufferedImage.TYPE_INT_RGB, new Color(255, 0, 128)), "png");
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = ImageNetInput.load(arena, List.of(png));
            assertEquals(Shape.nchw(1, 3, 224, 224), x.shape());
            int[] rgb = {255, 0, 128};
            for (int c = 0; c < 3; c++) {
                for (int[] p : new int[][] {{0, 0}, {111, 57}, {223, 223}}) {
                    assertEquals(normalised(rgb[c], c), x.get(0, c, p[0], p[1]), 1e-5, "channel " + c);
                }
            }
        }
    }

    @Test
    void aJpegAndAGrayscaleImageMakeABatch() throws IOException {
        Path jpeg = write(solid(180, 260, BufferedImage.TYPE_INT_RGB, new Color(40, 120, 200)), "jpg");
        BufferedImage grayImage = new BufferedImage(64, 48, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 48; y++) {
            for (int x = 0; x < 64; x++) {
                grayImage.getRaster().setSample(x, y, 0, 100);
            }
        }
        Path gray = write(grayImage, "png");
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = ImageNetInput.load(arena, List.of(jpeg, gray));
            assertEquals(Shape.nchw(2, 3, 224, 224), x.shape());
            int[] rgb = {40, 120, 200};
            for (int c = 0; c < 3; c++) {
                // JPEG is lossy: within a few levels of 255.
                assertEquals(normalised(rgb[c], c), x.get(0, c, 112, 112), 4 / 255.0 / STD[c], "jpeg channel " + c);
                // Grayscale is replicated into three channels (then normalised per channel); the small
                // image is upscaled.
                assertEquals(normalised(100, c), x.get(1, c, 10, 200), 1e-5, "gray channel " + c);
            }
        }
    }

    @Test
    void theCropIsCentredAndTheShorterSideIsResizedTo256() {
        // Left half black, right half white, 512x256: resized to 512x256 (unchanged), cropped at
        // columns 144..368, so the edge at column 256 falls at crop column 112.
        BufferedImage image = new BufferedImage(512, 256, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(256, 0, 256, 256);
        g.dispose();
        float[] chw = ImageNetInput.preprocess(image);
        assertEquals(normalised(0, 0), chw[100 * 224 + 111], 1e-5);
        assertEquals(normalised(255, 0), chw[100 * 224 + 112], 1e-5);
        // Downscaling is antialiased: a 1-pixel checkerboard averages to mid-gray.
        BufferedImage checker = new BufferedImage(1024, 1024, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 1024; y++) {
            for (int x = 0; x < 1024; x++) {
                checker.setRGB(x, y, (x + y) % 2 == 0 ? 0xffffff : 0);
            }
        }
        float[] averaged = ImageNetInput.preprocess(checker);
        assertEquals(normalised(0, 0) + (normalised(255, 0) - normalised(0, 0)) / 2, averaged[50 * 224 + 50], 0.05);
    }

    @Test
    void filesThatAreNotImagesAreNamed() throws IOException {
        Path text = temp.resolve("notes.png");
        Files.writeString(text, "not an image");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ImageNetInput.read(text));
        assertTrue(e.getMessage().startsWith(text + ": not an image"), e.getMessage());
        IOException missing = assertThrows(IOException.class, () -> ImageNetInput.read(temp.resolve("none.jpg")));
        assertTrue(missing.getMessage().contains("none.jpg"), missing.getMessage());
    }
}
