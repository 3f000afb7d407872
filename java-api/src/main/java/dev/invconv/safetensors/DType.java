package dev.invconv.safetensors;

import java.util.Optional;

/**
 * The element types of the safetensors format, by their names in the header. All are
 * recognised (so files holding, say, an {@code I64} BatchNorm counter open fine); the
 * conversions of {@link TensorView} read the floating-point ones.
 */
public enum DType {
    /** Boolean, one byte. */
    BOOL(1),
    /** Unsigned 8-bit integer. */
    U8(1),
    /** Signed 8-bit integer. */
    I8(1),
    /** 8-bit float, 5 exponent and 2 mantissa bits. */
    F8_E5M2(1),
    /** 8-bit float, 4 exponent and 3 mantissa bits. */
    F8_E4M3(1),
    /** Signed 16-bit integer. */
    I16(2),
    /** Unsigned 16-bit integer. */
    U16(2),
    /** IEEE 754 half precision. */
    F16(2),
    /** bfloat16: the upper half of a float32. */
    BF16(2),
    /** Signed 32-bit integer. */
    I32(4),
    /** Unsigned 32-bit integer. */
    U32(4),
    /** IEEE 754 single precision. */
    F32(4),
    /** Signed 64-bit integer (e.g. PyTorch's BatchNorm {@code num_batches_tracked}). */
    I64(8),
    /** Unsigned 64-bit integer. */
    U64(8),
    /** IEEE 754 double precision. */
    F64(8);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** The size of one element in bytes. */
    public int byteSize() {
        return byteSize;
    }

    /** The dtype named {@code name} in a header ({@code "F32"}), or empty if there is none. */
    public static Optional<DType> parse(String name) {
        for (DType dtype : values()) {
            if (dtype.name().equals(name)) {
                return Optional.of(dtype);
            }
        }
        return Optional.empty();
    }
}
