package dev.invconv.model;

import dev.invconv.Shape;
import dev.invconv.Tensor;

import javax.imageio.ImageIO;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * ImageNet preprocessing as torchvision's classification models expect it:
 * {@code Resize(256)} (shorter side to 256, bilinear with antialiasing, as PIL), {@code
 * CenterCrop(224)}, scaled to [0, 1] and normalised per channel with the ImageNet mean
 * (0.485, 0.456, 0.406) and standard deviation (0.229, 0.224, 0.225). Grayscale, palette and
 * alpha images become RGB (alpha dropped), as PIL's {@code convert("RGB")}.
 *
 * <pre>{@code
 * Tensor x = ImageNetInput.load(arena, List.of(Path.of("cat.jpg")));   // [1, 3, 224, 224]
 * }</pre>
 */
public final class ImageNetInput {

    /** The shorter side after the resize. */
    public static final int RESIZE = 256;
    /** The side of the centre crop, the models' input size. */
    public static final int CROP = 224;

    private static final double[] MEAN = {0.485, 0.456, 0.406};
    private static final double[] STD = {0.229, 0.224, 0.225};

    private ImageNetInput() {}

    /**
     * Reads images (PNG, JPEG, anything {@link ImageIO} reads) into one NCHW batch of {@code arena}.
     *
     * @throws IOException              if a file cannot be read
     * @throws IllegalArgumentException naming the file if it is not an image ImageIO can decode
     */
    public static Tensor load(Arena arena, List<Path> files) throws IOException {
        if (files.isEmpty()) {
            throw new IllegalArgumentException("no images given");
        }
        Tensor batch = Tensor.allocate(arena, Shape.nchw(files.size(), 3, CROP, CROP));
        int plane = CROP * CROP * 3;
        for (int i = 0; i < files.size(); i++) {
            float[] pixels = preprocess(read(files.get(i)));
            MemorySegment.copy(pixels, 0, batch.segment(), ValueLayout.JAVA_FLOAT, (long) i * plane * Float.BYTES, plane);
        }
        return batch;
    }

    /**
     * Decodes one image file.
     *
     * @throws IllegalArgumentException if no ImageIO reader understands it
     */
    public static BufferedImage read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + ": no such file");
        }
        BufferedImage image = ImageIO.read(file.toFile());
        if (image == null) {
            throw new IllegalArgumentException(file + ": not an image this JVM can decode (PNG, JPEG, GIF, BMP)");
        }
        return image;
    }

    /** The preprocessed image, {@code [3, 224, 224]} in CHW order. */
    public static float[] preprocess(BufferedImage image) {
        return preprocess(image, RESIZE, CROP);
    }

    /** Resize the shorter side to {@code resize}, centre-crop {@code crop}, normalise; CHW order. */
    public static float[] preprocess(BufferedImage image, int resize, int crop) {
        int width = image.getWidth();
        int height = image.getHeight();
        // torchvision: the shorter side becomes `resize`, the longer one int(resize * long / short).
        int outW = width <= height ? resize : (int) ((long) resize * width / height);
        int outH = width <= height ? (int) ((long) resize * height / width) : resize;
        if (outW < crop || outH < crop) {
            throw new IllegalArgumentException("image " + width + "x" + height + " resized to " + outW + "x" + outH
                    + " is smaller than the " + crop + "x" + crop + " crop");
        }
        int[] argb = rgb(image);
        // torchvision: int(round((size - crop) / 2.0)), Python's round half to even.
        int top = (int) Math.rint((outH - crop) / 2.0);
        int left = (int) Math.rint((outW - crop) / 2.0);
        float[] chw = new float[3 * crop * crop];
        double[] channel = new double[width * height];
        for (int c = 0; c < 3; c++) {
            int shift = 16 - 8 * c; // R, G, B
            for (int i = 0; i < channel.length; i++) {
                channel[i] = (argb[i] >> shift) & 0xff;
            }
            double[] resized = resize(channel, width, height, outW, outH);
            for (int y = 0; y < crop; y++) {
                for (int x = 0; x < crop; x++) {
                    double value = resized[(top + y) * outW + left + x] / 255.0;
                    chw[(c * crop + y) * crop + x] = (float) ((value - MEAN[c]) / STD[c]);
                }
            }
        }
        return chw;
    }

    /**
     * The pixels as packed {@code 0xRRGGBB}. Grayscale images are read from their samples, each
     * value {@code v} becoming {@code (v, v, v)} as in PIL; {@link BufferedImage#getRGB} would
     * treat Java's gray colour space as linear and change the values.
     */
    private static int[] rgb(BufferedImage image) {
        int width = image.getWidth();
        int height = image.getHeight();
        Raster raster = image.getRaster();
        if (image.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_GRAY) {
            int bits = raster.getSampleModel().getSampleSize(0);
            int[] samples = raster.getSamples(0, 0, width, height, 0, (int[]) null);
            int[] packed = new int[samples.length];
            for (int i = 0; i < samples.length; i++) {
                int v = bits == 8 ? samples[i] : (int) Math.round(samples[i] * 255.0 / ((1 << bits) - 1));
                packed[i] = v << 16 | v << 8 | v;
            }
            return packed;
        }
        return image.getRGB(0, 0, width, height, null, 0, width);
    }

    /**
     * Separable bilinear (triangle filter) resampling, widened when shrinking, as PIL's
     * BILINEAR: horizontal then vertical, rounded to 8 bits after each pass.
     */
    static double[] resize(double[] source, int width, int height, int outW, int outH) {
        double[] horizontal = new double[outW * height];
        Filter fx = Filter.of(width, outW);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < outW; x++) {
                double sum = 0;
                for (int k = 0; k < fx.count[x]; k++) {
                    sum += fx.weights[x][k] * source[y * width + fx.first[x] + k];
                }
                horizontal[y * outW + x] = toByte(sum);
            }
        }
        double[] result = new double[outW * outH];
        Filter fy = Filter.of(height, outH);
        for (int y = 0; y < outH; y++) {
            for (int x = 0; x < outW; x++) {
                double sum = 0;
                for (int k = 0; k < fy.count[y]; k++) {
                    sum += fy.weights[y][k] * horizontal[(fy.first[y] + k) * outW + x];
                }
                result[y * outW + x] = toByte(sum);
            }
        }
        return result;
    }

    /** PIL keeps 8-bit images between and after the passes: round and clamp. */
    private static double toByte(double value) {
        return Math.min(255, Math.max(0, Math.rint(value)));
    }

    /** For each output position, the first input index, the tap count and the normalised weights. */
    private record Filter(int[] first, int[] count, double[][] weights) {

        static Filter of(int in, int out) {
            double scale = (double) in / out;
            double support = Math.max(scale, 1.0); // the triangle's half-width, in input pixels
            int[] first = new int[out];
            int[] count = new int[out];
            double[][] weights = new double[out][];
            for (int o = 0; o < out; o++) {
                double center = (o + 0.5) * scale;
                int lo = Math.max(0, (int) Math.floor(center - support));
                int hi = Math.min(in, (int) Math.ceil(center + support));
                double[] w = new double[hi - lo];
                double total = 0;
                for (int i = lo; i < hi; i++) {
                    double t = Math.max(0, 1 - Math.abs(i + 0.5 - center) / support);
                    w[i - lo] = t;
                    total += t;
                }
                for (int k = 0; k < w.length; k++) {
                    w[k] = total > 0 ? w[k] / total : 0;
                }
                first[o] = lo;
                count[o] = w.length;
                weights[o] = w;
            }
            return new Filter(first, count, weights);
        }
    }
}
