package dev.invconv.safetensors;

import dev.invconv.Layout;
import dev.invconv.Shape;
import dev.invconv.Tensor;
import dev.invconv.Vectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafeTensorsTest {

    @TempDir
    Path temp;

    // ---- the shared vectors -------------------------------------------------------------------

    static List<Path> vectorFiles() {
        return Vectors.files();
    }

    @ParameterizedTest
    @MethodSource("vectorFiles")
    void readsEveryVector(Path path) throws IOException {
        try (SafeTensors file = SafeTensors.open(path)) {
            String op = file.metadata().get("op");
            assertTrue(Set.of("conv2d", "separable_conv2d", "involution_aggregate", "involution2d", "rednet_bottleneck")
                    .contains(op), "op " + op);
            TensorInfo input = file.info("input");
            assertEquals(DType.F32, input.dtype());
            assertEquals(4, input.shape().length);
            assertEquals(DType.F64, file.info("expected").dtype());
            boolean module = op.equals("involution2d") || op.equals("rednet_bottleneck");
            assertEquals(!module, file.has("magnitude"), "operators have magnitudes, modules do not");
            if (file.has("magnitude")) {
                file.require("magnitude", DType.F64, file.info("expected").shape());
            }
            for (String name : file.names()) {
                TensorView view = file.tensor(name);
                assertTrue(view.dtype() == DType.F32 || view.dtype() == DType.F64, name + " " + view.dtype());
                assertEquals(view.info().byteSize(), view.segment().byteSize());
                assertEquals(view.elementCount() * view.dtype().byteSize(), view.segment().byteSize());
                double[] doubles = view.toDoubleArray();
                float[] floats = view.toFloatArray();
                assertEquals(view.elementCount(), doubles.length);
                for (int i = 0; i < doubles.length; i++) {
                    assertEquals((float) doubles[i], floats[i], name + "[" + i + "]");
                    assertTrue(Double.isFinite(doubles[i]), name + "[" + i + "]");
                }
            }
        }
    }

    @Test
    void readsAKnownVectorExactly() throws IOException {
        try (SafeTensors file = SafeTensors.open(Vectors.file("conv_3x3_same_bias_relu"))) {
            assertEquals(Map.of("op", "conv2d", "stride", "1,1", "dilation", "1,1", "groups", "1", "padding", "SAME",
                    "pads", "1,1,1,1", "activation", "RELU"), file.metadata());
            assertEquals(Set.of("input", "weight", "expected", "magnitude", "bias"), file.names());
            assertEquals(List.of("input", "weight", "expected", "magnitude", "bias"), List.copyOf(file.names()),
                    "header order");
            TensorInfo weight = file.info("weight");
            assertEquals(new TensorInfo("weight", DType.F32, new long[] {16, 8, 3, 3}, 3840, 8448), weight);
            assertEquals(16 * 8 * 3 * 3, file.require("weight", DType.F32, 16, 8, 3, 3).toFloatArray().length);
            assertEquals("weight F32 [16, 8, 3, 3]", weight.toString());
            // F32 tensors of the vectors start 4-byte aligned, so they can be wrapped as tensors.
            Tensor input = file.tensor("input").asTensor();
            assertEquals(Shape.nchw(1, 8, 10, 12), input.shape());
            assertEquals(file.tensor("input").toFloatArray()[13], input.get(0, 0, 1, 1));
        }
    }

    @Test
    void requireNamesTheTensorAndWhatIsWrong() throws IOException {
        Path path = Vectors.file("conv_3x3_same_bias_relu");
        try (SafeTensors file = SafeTensors.open(path)) {
            SafeTensorsException shape = assertThrows(SafeTensorsException.class,
                    () -> file.require("weight", DType.F32, 8, 8, 3, 3));
            assertEquals(path + ": tensor 'weight': shape [16, 8, 3, 3] expected [8, 8, 3, 3]", shape.getMessage());
            SafeTensorsException dtype = assertThrows(SafeTensorsException.class,
                    () -> file.require("weight", DType.F64, 16, 8, 3, 3));
            assertEquals(path + ": tensor 'weight': dtype F32 expected F64", dtype.getMessage());
            SafeTensorsException missing = assertThrows(SafeTensorsException.class,
                    () -> file.require("conv1.weight", DType.F32, 16, 3, 3, 3));
            assertTrue(missing.getMessage().startsWith(path + ": tensor 'conv1.weight': not in the file"),
                    missing.getMessage());
            assertFalse(file.has("conv1.weight"));
            assertThrows(SafeTensorsException.class, () -> file.info("nope"));
            assertThrows(SafeTensorsException.class, () -> file.tensor("expected").asTensor(), "F64 is not a Tensor");
        }
    }

    @Test
    void closingUnmaps() throws IOException {
        SafeTensors file = SafeTensors.open(Vectors.file("seed_valid_3x3_k2"));
        TensorView view = file.tensor("input");
        MemorySegment segment = view.segment();
        file.close();
        assertFalse(segment.scope().isAlive());
        IllegalStateException e = assertThrows(IllegalStateException.class, view::segment);
        assertTrue(e.getMessage().endsWith("seed_valid_3x3_k2.safetensors is closed"), e.getMessage());
        assertThrows(IllegalStateException.class, view::toFloatArray);
        assertDoesNotThrow(file::close);
        assertEquals(DType.F32, view.dtype(), "the header stays readable");
    }

    // ---- writer round trips -------------------------------------------------------------------

    @Test
    void writerRoundTrips() throws IOException {
        Path path = temp.resolve("round.safetensors");
        float[] floats = {1.5f, -2f, 3f, Float.MIN_VALUE, Float.MAX_VALUE, -0f};
        double[] doubles = {Math.PI, -1e-300, 7};
        new SafeTensorsWriter()
                .metadata("op", "conv2d")
                .metadata("quote\"d", "ünïcode\n")
                .add("floats", floats, 2, 3)
                .add("doubles", doubles, 3)
                .add("scalar", new double[] {42}) // shape []
                .add("empty", new float[0], 0, 3)
                .write(path);
        byte[] bytes = Files.readAllBytes(path);
        long headerLength = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, (8 + headerLength) % 8, "data starts 8-byte aligned");

        try (SafeTensors file = SafeTensors.open(path)) {
            assertEquals(Map.of("op", "conv2d", "quote\"d", "ünïcode\n"), file.metadata());
            assertEquals(List.of("floats", "doubles", "scalar", "empty"), List.copyOf(file.names()));
            assertArrayEquals(floats, file.require("floats", DType.F32, 2, 3).toFloatArray());
            assertArrayEquals(doubles, file.require("doubles", DType.F64, 3).toDoubleArray());
            assertArrayEquals(new double[] {42}, file.require("scalar", DType.F64).toDoubleArray());
            assertEquals(1, file.info("scalar").elementCount());
            assertEquals(0, file.require("empty", DType.F32, 0, 3).toFloatArray().length);
            assertEquals(0, file.tensor("floats").segment().address() % 8);
        }
    }

    @Test
    void writerConvertsNhwcTensorsToNchw() throws IOException {
        Path path = temp.resolve("tensor.safetensors");
        Shape shape = Shape.nchw(1, 2, 2, 3);
        try (Arena arena = Arena.ofConfined()) {
            float[] nchw = new float[12];
            for (int i = 0; i < nchw.length; i++) {
                nchw[i] = i;
            }
            Tensor nhwc = Tensor.of(arena, shape, nchw).toLayout(arena, Layout.NHWC);
            new SafeTensorsWriter().add("y", nhwc).write(path);
            try (SafeTensors file = SafeTensors.open(path)) {
                assertArrayEquals(nchw, file.require("y", DType.F32, 1, 2, 2, 3).toFloatArray());
            }
        }
    }

    @Test
    void convertsHalfPrecisionAndRecognisesIntegers() throws IOException {
        Path path = temp.resolve("half.safetensors");
        // 1.0, -2.0, 0.5 in float16 and bfloat16, little-endian.
        byte[] f16 = le((short) 0x3c00, (short) 0xc000, (short) 0x3800);
        byte[] bf16 = le((short) 0x3f80, (short) 0xc000, (short) 0x3f00);
        byte[] i64 = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(7).array();
        new SafeTensorsWriter()
                .addRaw("f16", DType.F16, new long[] {3}, f16)
                .addRaw("bf16", DType.BF16, new long[] {3}, bf16)
                .addRaw("num_batches_tracked", DType.I64, new long[0], i64)
                .write(path);
        try (SafeTensors file = SafeTensors.open(path)) {
            assertArrayEquals(new float[] {1, -2, 0.5f}, file.tensor("f16").toFloatArray());
            assertArrayEquals(new double[] {1, -2, 0.5}, file.tensor("bf16").toDoubleArray());
            assertEquals(DType.I64, file.info("num_batches_tracked").dtype());
            assertEquals(7, file.tensor("num_batches_tracked").segment()
                    .get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0));
            SafeTensorsException e = assertThrows(SafeTensorsException.class,
                    () -> file.tensor("num_batches_tracked").toFloatArray());
            assertEquals(path + ": tensor 'num_batches_tracked': has dtype I64; toFloatArray reads F32, F64, F16 and BF16",
                    e.getMessage());
        }
    }

    private static byte[] le(short... values) {
        ByteBuffer buffer = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (short value : values) {
            buffer.putShort(value);
        }
        return buffer.array();
    }

    @Test
    void writerRejectsInconsistentTensors() {
        SafeTensorsWriter writer = new SafeTensorsWriter().add("w", new float[4], 2, 2);
        IllegalArgumentException duplicate = assertThrows(IllegalArgumentException.class,
                () -> writer.add("w", new float[4], 4));
        assertEquals("tensor 'w' was already added", duplicate.getMessage());
        IllegalArgumentException size = assertThrows(IllegalArgumentException.class, () -> writer.add("x", new float[5], 2, 2));
        assertEquals("tensor 'x': 5 values but shape [2, 2] has 4 elements", size.getMessage());
        assertThrows(IllegalArgumentException.class, () -> writer.add("__metadata__", new float[1], 1));
        assertThrows(IllegalArgumentException.class, () -> writer.add("y", new float[0], -1));
        assertThrows(IllegalArgumentException.class, () -> writer.addRaw("z", DType.F16, new long[] {3}, new byte[4]));
    }

    // ---- malformed files --------------------------------------------------------------------

    /** Writes an 8-byte little-endian {@code length}, then {@code header} and {@code data} bytes. */
    private Path craft(String name, long length, String header, int dataBytes) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buffer = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(length).put(json);
        Path path = temp.resolve(name + ".safetensors");
        Files.write(path, buffer.array());
        return path;
    }

    private Path craft(String name, String header, int dataBytes) throws IOException {
        return craft(name, header.getBytes(StandardCharsets.UTF_8).length, header, dataBytes);
    }

    private static String entry(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + "," + end + "]}";
    }

    private static void assertMalformed(Path path, String message) {
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.open(path).close());
        assertEquals(path + ": " + message, e.getMessage());
    }

    @Test
    void rejectsFilesTooShortForTheLength() throws IOException {
        Path path = temp.resolve("short.safetensors");
        Files.write(path, new byte[5]);
        assertMalformed(path, "the file is 5 bytes, too short for the 8-byte header length");
    }

    @Test
    void rejectsTruncatedHeaders() throws IOException {
        String header = "{" + entry("w", "F32", "[2]", 0, 8) + "}";
        Path path = craft("truncated", header.length() + 100, header, 0);
        assertMalformed(path, "header length " + (header.length() + 100) + " is larger than the " + header.length()
                + " bytes after it (truncated file?)");
    }

    @Test
    void rejectsAbsurdHeaderLengths() throws IOException {
        assertMalformed(craft("huge", 200_000_000, "{}", 0),
                "header length 200000000 exceeds the limit of 100000000 bytes");
        assertMalformed(craft("negative", -1, "{}", 0),
                "header length 18446744073709551615 exceeds the limit of 100000000 bytes");
    }

    @Test
    void rejectsTruncatedData() throws IOException {
        Path path = craft("short-data", "{" + entry("w", "F32", "[4]", 0, 16) + "}", 10);
        assertMalformed(path, "tensor 'w': data_offsets [0, 16] are outside the 10-byte data section");
    }

    @Test
    void rejectsBadJson() throws IOException {
        assertMalformed(craft("json", "{\"w\":{\"dtype\":\"F32\",}}", 0),
                "the header is not valid JSON: unexpected '}', expected a string key at offset 20");
        assertMalformed(craft("array", "[]", 0), "the header is not a JSON object");
        Path utf8 = temp.resolve("utf8.safetensors");
        Files.write(utf8, ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(4)
                .put(new byte[] {'"', (byte) 0xff, (byte) 0xfe, '"'}).array());
        assertMalformed(utf8, "the header is not valid UTF-8");
    }

    @Test
    void rejectsOffsetsOutOfRange() throws IOException {
        assertMalformed(craft("range", "{" + entry("w", "F32", "[2]", 8, 16) + "}", 8),
                "tensor 'w': data_offsets [8, 16] are outside the 8-byte data section");
        assertMalformed(craft("reversed", "{" + entry("w", "F32", "[0]", 8, 4) + "}", 8),
                "tensor 'w': data_offsets [8, 4] are outside the 8-byte data section (end before begin)");
    }

    @Test
    void rejectsOverlappingTensors() throws IOException {
        Path path = craft("overlap", "{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 4, 12) + "}", 12);
        assertMalformed(path, "tensor 'b': data_offsets [4, 12] overlap tensor 'a' [0, 8]");
    }

    @Test
    void rejectsUnusedBytes() throws IOException {
        assertMalformed(craft("gap", "{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("b", "F32", "[1]", 8, 12) + "}", 12),
                "bytes [4, 8) of the data section belong to no tensor");
        assertMalformed(craft("trailing", "{" + entry("a", "F32", "[1]", 0, 4) + "}", 6),
                "bytes [4, 6) of the data section belong to no tensor");
    }

    @Test
    void rejectsShapesThatDoNotMatchTheirBytes() throws IOException {
        assertMalformed(craft("size", "{" + entry("w", "F32", "[2, 3]", 0, 20) + "}", 20),
                "tensor 'w': shape [2, 3] of F32 needs 24 bytes but data_offsets [0, 20] hold 20");
        assertMalformed(craft("overflow", "{" + entry("w", "F64", "[4294967296, 4294967296]", 0, 8) + "}", 8),
                "tensor 'w': shape [4294967296, 4294967296] overflows a 64-bit size");
        assertMalformed(craft("negative", "{" + entry("w", "F32", "[-1]", 0, 0) + "}", 0),
                "tensor 'w': \"shape\" holds -1, not a non-negative 64-bit integer");
        assertMalformed(craft("fraction", "{" + entry("w", "F32", "[1.5]", 0, 4) + "}", 4),
                "tensor 'w': \"shape\" holds 1.5, not a non-negative 64-bit integer");
        assertMalformed(craft("offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4),
                "tensor 'w': \"data_offsets\" is not an array of 2 integers");
    }

    @Test
    void rejectsUnknownDtypes() throws IOException {
        assertMalformed(craft("dtype", "{" + entry("w", "F7", "[1]", 0, 4) + "}", 4), "tensor 'w': unknown dtype 'F7'");
        assertMalformed(craft("nodtype", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
                "tensor 'w': no \"dtype\" string");
    }

    @Test
    void rejectsDuplicateNames() throws IOException {
        assertMalformed(craft("duplicate", "{" + entry("w", "F32", "[1]", 0, 4) + "," + entry("w", "F32", "[1]", 4, 8) + "}", 8),
                "tensor 'w' appears twice in the header");
        assertMalformed(craft("metadata2", "{\"__metadata__\":{},\"__metadata__\":{}}", 0),
                "the header has two __metadata__");
    }

    @Test
    void rejectsMetadataThatIsNotStrings() throws IOException {
        assertMalformed(craft("meta", "{\"__metadata__\":{\"groups\":1}}", 0),
                "__metadata__ value of 'groups' is not a string");
        assertMalformed(craft("meta2", "{\"__metadata__\":[]}", 0), "__metadata__ is not a JSON object");
        assertMalformed(craft("entry", "{\"w\":3}", 0), "tensor 'w': the header entry is not a JSON object");
    }

    @Test
    void acceptsHeadersPaddedWithSpacesAndNullMetadata() throws IOException {
        Path path = craft("padded", "{\"__metadata__\":null," + entry("w", "F32", "[1]", 0, 4) + "}      ", 4);
        try (SafeTensors file = SafeTensors.open(path)) {
            assertEquals(Map.of(), file.metadata());
            assertArrayEquals(new float[] {0}, file.tensor("w").toFloatArray());
        }
        try (SafeTensors empty = SafeTensors.open(craft("empty", "{}", 0))) {
            assertTrue(empty.names().isEmpty());
        }
    }

    @Test
    void missingFilesAreIoExceptions() {
        assertThrows(java.nio.file.NoSuchFileException.class, () -> SafeTensors.open(temp.resolve("absent.safetensors")));
    }
}
