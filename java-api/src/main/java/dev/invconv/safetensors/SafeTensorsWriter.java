package dev.invconv.safetensors;

import dev.invconv.Layout;
import dev.invconv.Shape;
import dev.invconv.Tensor;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Builds a safetensors file from named arrays and string metadata, the way the reference
 * implementation writes it: tensors in the order added, packed without gaps, the header padded
 * with spaces so that the data starts 8-byte aligned (so {@link SafeTensors} can hand out
 * aligned float and double segments).
 *
 * <pre>{@code
 * new SafeTensorsWriter()
 *         .metadata("op", "conv2d")
 *         .add("input", input, 1, 3, 8, 8)
 *         .write(path);
 * }</pre>
 *
 * <p>The data is copied when added, so the arrays may change afterwards.
 */
public final class SafeTensorsWriter {

    private record Entry(DType dtype, long[] shape, byte[] data) {}

    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    /** Sets a {@code __metadata__} entry, replacing an earlier value of the same key. */
    public SafeTensorsWriter metadata(String key, String value) {
        metadata.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
        return this;
    }

    /** Adds an F32 tensor; {@code values} are in row-major order of {@code shape}. */
    public SafeTensorsWriter add(String name, float[] values, long... shape) {
        return copy(name, DType.F32, shape, MemorySegment.ofArray(values), ValueLayout.JAVA_FLOAT, values.length);
    }

    /** Adds an F64 tensor; {@code values} are in row-major order of {@code shape}. */
    public SafeTensorsWriter add(String name, double[] values, long... shape) {
        return copy(name, DType.F64, shape, MemorySegment.ofArray(values), ValueLayout.JAVA_DOUBLE, values.length);
    }

    /**
     * Adds a tensor as F32 of shape {@code [N, C, H, W]} in NCHW order (PyTorch's), converting
     * an NHWC tensor.
     */
    public SafeTensorsWriter add(String name, Tensor tensor) {
        Shape shape = tensor.shape();
        try (Arena arena = Arena.ofConfined()) {
            Tensor nchw = tensor.layout() == Layout.NCHW ? tensor : tensor.toLayout(arena, Layout.NCHW);
            return copy(name, DType.F32, shape.toArray(), nchw.segment(), ValueLayout.JAVA_FLOAT,
                    shape.elementCount());
        }
    }

    /**
     * Adds a tensor of any dtype from its raw bytes, which must already be little-endian (the
     * format's byte order).
     *
     * @throws IllegalArgumentException if the byte count does not match dtype and shape
     */
    public SafeTensorsWriter addRaw(String name, DType dtype, long[] shape, byte[] littleEndianBytes) {
        Objects.requireNonNull(dtype, "dtype");
        long count = elementCount(name, shape);
        if (count > Long.MAX_VALUE / dtype.byteSize() || count * dtype.byteSize() != littleEndianBytes.length) {
            throw new IllegalArgumentException("tensor '" + name + "': " + littleEndianBytes.length + " bytes but "
                    + dtype + " " + Arrays.toString(shape) + " needs " + count + " × " + dtype.byteSize());
        }
        return put(name, new Entry(dtype, shape.clone(), littleEndianBytes.clone()));
    }

    /**
     * Writes the file, replacing any existing one.
     *
     * @throws IOException if writing fails
     */
    public void write(Path path) throws IOException {
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(path))) {
            write(out);
        }
    }

    /** Writes the file's bytes to {@code out}, which stays open. */
    public void write(OutputStream out) throws IOException {
        byte[] header = header();
        byte[] length = new byte[Long.BYTES];
        MemorySegment.ofArray(length).set(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0,
                header.length);
        out.write(length);
        out.write(header);
        for (Entry entry : entries.values()) {
            out.write(entry.data());
        }
        out.flush();
    }

    /** Adds a copy of {@code count} elements of {@code layout}, converted from native to little-endian order. */
    private SafeTensorsWriter copy(String name, DType dtype, long[] shape, MemorySegment source,
                                   ValueLayout layout, long count) {
        long expected = elementCount(name, shape);
        if (expected != count) {
            throw new IllegalArgumentException("tensor '" + name + "': " + count + " values but shape "
                    + Arrays.toString(shape) + " has " + expected + " elements");
        }
        if (count > (Integer.MAX_VALUE - 8) / dtype.byteSize()) {
            throw new IllegalArgumentException("tensor '" + name + "': " + count * dtype.byteSize()
                    + " bytes are more than this writer holds per tensor");
        }
        byte[] data = new byte[(int) (count * dtype.byteSize())];
        // Unaligned layouts: a byte[] segment (and a wrapped tensor) guarantees no alignment.
        ValueLayout element = layout.withByteAlignment(1);
        MemorySegment.copy(source, element, 0, MemorySegment.ofArray(data),
                element.withOrder(ByteOrder.LITTLE_ENDIAN), 0, count);
        return put(name, new Entry(dtype, shape.clone(), data));
    }

    private SafeTensorsWriter put(String name, Entry entry) {
        if (name.equals("__metadata__")) {
            throw new IllegalArgumentException("'__metadata__' is reserved and cannot name a tensor");
        }
        if (entries.putIfAbsent(name, entry) != null) {
            throw new IllegalArgumentException("tensor '" + name + "' was already added");
        }
        return this;
    }

    private static long elementCount(String name, long[] shape) {
        Objects.requireNonNull(name, "name");
        long count = 1;
        for (long dim : shape) {
            if (dim < 0) {
                throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape)
                        + " has a negative dimension");
            }
            try {
                count = Math.multiplyExact(count, dim);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape)
                        + " overflows a 64-bit size", e);
            }
        }
        return count;
    }

    private byte[] header() {
        StringBuilder json = new StringBuilder("{");
        if (!metadata.isEmpty()) {
            json.append(Json.quote("__metadata__")).append(":{");
            String separator = "";
            for (Map.Entry<String, String> entry : metadata.entrySet()) {
                json.append(separator).append(Json.quote(entry.getKey())).append(':').append(Json.quote(entry.getValue()));
                separator = ",";
            }
            json.append('}');
        }
        long offset = 0;
        String separator = metadata.isEmpty() ? "" : ",";
        for (Map.Entry<String, Entry> named : entries.entrySet()) {
            Entry entry = named.getValue();
            long end = offset + entry.data().length;
            json.append(separator).append(Json.quote(named.getKey()))
                    .append(":{\"dtype\":\"").append(entry.dtype()).append("\",\"shape\":[");
            for (int i = 0; i < entry.shape().length; i++) {
                json.append(i == 0 ? "" : ",").append(entry.shape()[i]);
            }
            json.append("],\"data_offsets\":[").append(offset).append(',').append(end).append("]}");
            offset = end;
            separator = ",";
        }
        json.append('}');
        byte[] text = json.toString().getBytes(StandardCharsets.UTF_8);
        // Pad with spaces (valid JSON whitespace) so that the data starts at a multiple of 8.
        int padded = (text.length + 7) / 8 * 8;
        byte[] header = Arrays.copyOf(text, padded);
        Arrays.fill(header, text.length, padded, (byte) ' ');
        return header;
    }
}
