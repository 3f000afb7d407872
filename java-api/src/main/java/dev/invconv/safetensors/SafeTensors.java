package dev.invconv.safetensors;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A memory-mapped <a href="https://github.com/huggingface/safetensors">safetensors</a> file:
 * an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape and
 * byte range, then the data. Tensors are zero-copy, read-only slices of the mapping.
 *
 * <pre>{@code
 * try (SafeTensors file = SafeTensors.open(path)) {
 *     float[] w = file.require("conv1.weight", DType.F32, 16, 3, 3, 3).toFloatArray();
 * }
 * }</pre>
 *
 * <p>{@link #open} validates the whole header as the reference implementation does, so a
 * malformed file fails there with a {@link SafeTensorsException} naming the file and tensor:
 * a header length beyond the file or above 100 MB, invalid UTF-8 or JSON, an unknown dtype,
 * a shape whose size differs from its byte range, byte ranges outside the data, overlapping
 * or leaving bytes unused, duplicate names.
 *
 * <p>Safe for concurrent reads. {@link #close()} unmaps the file; views and segments obtained
 * from it become unusable ({@link IllegalStateException}), and closing while another thread
 * reads fails rather than pulling the memory from under it.
 */
public final class SafeTensors implements AutoCloseable {

    /** The reference implementation's limit; it keeps a corrupt length from exhausting memory. */
    public static final long MAX_HEADER_BYTES = 100_000_000;

    private static final String METADATA_KEY = "__metadata__";

    private final Path path;
    private final Arena arena;
    private final Map<String, String> metadata;
    private final Map<String, TensorView> tensors;

    private SafeTensors(Path path, Arena arena, MemorySegment file) {
        this.path = path;
        this.arena = arena;
        long headerBytes = headerLength(file);
        Map<String, Object> header = parseHeader(file.asSlice(Long.BYTES, headerBytes));
        MemorySegment data = file.asSlice(Long.BYTES + headerBytes);
        Map<String, String> meta = Map.of();
        List<TensorInfo> infos = new ArrayList<>();
        for (Map.Entry<String, Object> entry : header.entrySet()) {
            if (entry.getKey().equals(METADATA_KEY)) {
                meta = metadata(entry.getValue());
            } else {
                infos.add(tensorInfo(entry.getKey(), entry.getValue(), data.byteSize()));
            }
        }
        checkLayout(infos, data.byteSize());
        Map<String, TensorView> views = new LinkedHashMap<>();
        for (TensorInfo info : infos) {
            views.put(info.name(), new TensorView(this, info, data.asSlice(info.dataBegin(), info.byteSize())));
        }
        this.metadata = meta;
        this.tensors = Collections.unmodifiableMap(views);
    }

    /**
     * Maps and validates a safetensors file.
     *
     * @throws IOException          if the file cannot be opened or mapped
     * @throws SafeTensorsException if it is not a valid safetensors file
     */
    public static SafeTensors open(Path path) throws IOException {
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < Long.BYTES) {
                throw new SafeTensorsException(path + ": the file is " + size
                        + " bytes, too short for the 8-byte header length");
            }
            MemorySegment file = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena).asReadOnly();
            return new SafeTensors(path, arena, file);
        } catch (IOException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** The file this was opened from. */
    public Path path() {
        return path;
    }

    /** The tensor names, in header order. */
    public Set<String> names() {
        return tensors.keySet();
    }

    /** The header's {@code __metadata__} (string to string), empty if it has none. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Whether the file holds a tensor named {@code name}. */
    public boolean has(String name) {
        return tensors.containsKey(name);
    }

    /**
     * The header entry of a tensor.
     *
     * @throws SafeTensorsException if there is no tensor of that name
     */
    public TensorInfo info(String name) {
        return tensor(name).info();
    }

    /**
     * A tensor, as a zero-copy view.
     *
     * @throws SafeTensorsException if there is no tensor of that name
     */
    public TensorView tensor(String name) {
        TensorView view = tensors.get(name);
        if (view == null) {
            throw new SafeTensorsException(describe(name) + ": not in the file (it has " + tensors.size()
                    + " tensors" + (tensors.isEmpty() ? "" : ", e.g. '" + tensors.keySet().iterator().next() + "'")
                    + ")");
        }
        return view;
    }

    /**
     * A tensor that must exist with the given dtype and shape, e.g. the weights of a model.
     *
     * @throws SafeTensorsException naming the tensor if it is missing or has another dtype or
     *                              shape, e.g. "tensor 'conv1.weight': shape [8, 3, 3, 3] expected [16, 3, 3, 3]"
     */
    public TensorView require(String name, DType dtype, long... shape) {
        TensorView view = tensor(name);
        if (view.dtype() != dtype) {
            throw new SafeTensorsException(describe(name) + ": dtype " + view.dtype() + " expected " + dtype);
        }
        if (!Arrays.equals(view.info().shape(), shape)) {
            throw new SafeTensorsException(describe(name) + ": shape " + Arrays.toString(view.info().shape())
                    + " expected " + Arrays.toString(shape));
        }
        return view;
    }

    /** Unmaps the file. Closing twice has no effect. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "SafeTensors[" + path + ", " + tensors.size() + " tensors]";
    }

    /** "file: tensor 'name'", the prefix of every message about one tensor. */
    String describe(String name) {
        return path + ": " + label(name);
    }

    void checkOpen() {
        if (!arena.scope().isAlive()) {
            throw new IllegalStateException(path + " is closed");
        }
    }

    // ---- parsing --------------------------------------------------------------------------

    private long headerLength(MemorySegment file) {
        long length = file.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        // Compared as unsigned: the format's length is a u64.
        if (Long.compareUnsigned(length, MAX_HEADER_BYTES) > 0) {
            throw fail("header length " + Long.toUnsignedString(length) + " exceeds the limit of "
                    + MAX_HEADER_BYTES + " bytes");
        }
        if (length > file.byteSize() - Long.BYTES) {
            throw fail("header length " + length + " is larger than the " + (file.byteSize() - Long.BYTES)
                    + " bytes after it (truncated file?)");
        }
        return length;
    }

    private Map<String, Object> parseHeader(MemorySegment bytes) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes.toArray(ValueLayout.JAVA_BYTE)))
                    .toString();
        } catch (CharacterCodingException e) {
            throw fail("the header is not valid UTF-8", e);
        }
        Object header;
        try {
            header = Json.parse(text);
        } catch (Json.JsonException e) {
            if (e.duplicateKey != null && e.depth == 1) {
                throw fail(e.duplicateKey.equals(METADATA_KEY) ? "the header has two " + METADATA_KEY
                        : label(e.duplicateKey) + " appears twice in the header", e);
            }
            throw fail("the header is not valid JSON: " + e.getMessage(), e);
        }
        if (!(header instanceof Map<?, ?> map)) {
            throw fail("the header is not a JSON object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> members = (Map<String, Object>) map;
        return members;
    }

    private Map<String, String> metadata(Object value) {
        if (value == Json.NULL) {
            return Map.of();
        }
        if (!(value instanceof Map<?, ?> map)) {
            throw fail(METADATA_KEY + " is not a JSON object");
        }
        Map<String, String> result = new LinkedHashMap<>();
        for (Map.Entry<?, ?> entry : map.entrySet()) {
            if (!(entry.getValue() instanceof String string)) {
                throw fail(METADATA_KEY + " value of '" + entry.getKey() + "' is not a string");
            }
            result.put((String) entry.getKey(), string);
        }
        return Collections.unmodifiableMap(result);
    }

    private TensorInfo tensorInfo(String name, Object value, long dataBytes) {
        if (!(value instanceof Map<?, ?> entry)) {
            throw fail(label(name) + ": the header entry is not a JSON object");
        }
        if (!(entry.get("dtype") instanceof String dtypeName)) {
            throw fail(label(name) + ": no \"dtype\" string");
        }
        DType dtype = DType.parse(dtypeName)
                .orElseThrow(() -> fail(label(name) + ": unknown dtype '" + dtypeName + "'"));
        long[] shape = integers(name, entry.get("shape"), "shape", -1);
        long[] offsets = integers(name, entry.get("data_offsets"), "data_offsets", 2);
        long begin = offsets[0];
        long end = offsets[1];
        if (begin > end || end > dataBytes) {
            throw fail(label(name) + ": data_offsets [" + begin + ", " + end + "] are outside the "
                    + dataBytes + "-byte data section" + (begin > end ? " (end before begin)" : ""));
        }
        long bytes = dtype.byteSize();
        try {
            for (long dim : shape) {
                bytes = Math.multiplyExact(bytes, dim);
            }
        } catch (ArithmeticException e) {
            throw fail(label(name) + ": shape " + Arrays.toString(shape) + " overflows a 64-bit size", e);
        }
        if (bytes != end - begin) {
            throw fail(label(name) + ": shape " + Arrays.toString(shape) + " of " + dtype + " needs " + bytes
                    + " bytes but data_offsets [" + begin + ", " + end + "] hold " + (end - begin));
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    /** A JSON array of non-negative integers, of {@code length} elements unless that is -1. */
    private long[] integers(String name, Object value, String key, int length) {
        if (!(value instanceof List<?> list) || (length >= 0 && list.size() != length)) {
            throw fail(label(name) + ": \"" + key + "\" is not an array"
                    + (length >= 0 ? " of " + length + " integers" : " of integers"));
        }
        long[] result = new long[list.size()];
        for (int i = 0; i < result.length; i++) {
            Object element = list.get(i);
            if (!(element instanceof Long number) || number < 0) {
                String shown = element instanceof BigDecimal || element instanceof Long ? element.toString() : "a non-number";
                throw fail(label(name) + ": \"" + key + "\" holds " + shown + ", not a non-negative 64-bit integer");
            }
            result[i] = number;
        }
        return result;
    }

    /**
     * The tensors must tile the data section exactly, as the format requires: no overlaps
     * (which would alias weights) and no unused bytes (a sign of a corrupt header).
     */
    private void checkLayout(List<TensorInfo> infos, long dataBytes) {
        List<TensorInfo> sorted = new ArrayList<>(infos);
        sorted.sort(Comparator.comparingLong(TensorInfo::dataBegin).thenComparingLong(TensorInfo::dataEnd));
        long covered = 0;
        TensorInfo last = null;
        for (TensorInfo info : sorted) {
            if (info.dataBegin() < covered) {
                throw fail(label(info.name()) + ": data_offsets [" + info.dataBegin() + ", " + info.dataEnd()
                        + "] overlap tensor '" + last.name() + "' [" + last.dataBegin() + ", " + last.dataEnd() + "]");
            }
            if (info.dataBegin() > covered) {
                throw fail("bytes [" + covered + ", " + info.dataBegin() + ") of the data section belong to no tensor");
            }
            covered = info.dataEnd();
            last = info;
        }
        if (covered != dataBytes) {
            throw fail("bytes [" + covered + ", " + dataBytes + ") of the data section belong to no tensor");
        }
    }

    private SafeTensorsException fail(String message) {
        return fail(message, null);
    }

    private SafeTensorsException fail(String message, Throwable cause) {
        return new SafeTensorsException(path + ": " + message, cause);
    }

    private static String label(String name) {
        return "tensor '" + name + "'";
    }
}
