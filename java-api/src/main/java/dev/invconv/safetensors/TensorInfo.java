package dev.invconv.safetensors;

import java.util.Arrays;

/**
 * A tensor's header entry: its dtype, shape and byte range in the file's data section.
 *
 * @param name      the tensor's name
 * @param dtype     the element type
 * @param shape     the dimensions, outermost first (empty for a scalar); copied in and out
 * @param dataBegin the first byte, relative to the start of the data section
 * @param dataEnd   one past the last byte, relative to the start of the data section
 */
public record TensorInfo(String name, DType dtype, long[] shape, long dataBegin, long dataEnd) {

    /** Copies {@code shape}, so that the record stays immutable. */
    public TensorInfo {
        shape = shape.clone();
    }

    /** A copy of the dimensions. */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** The number of elements (1 for a scalar, 0 if a dimension is 0). */
    public long elementCount() {
        long count = 1;
        for (long dim : shape) {
            count *= dim; // cannot overflow: SafeTensors checked it against the byte range
        }
        return count;
    }

    /** The size in bytes, {@code dataEnd − dataBegin}. */
    public long byteSize() {
        return dataEnd - dataBegin;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof TensorInfo that && name.equals(that.name) && dtype == that.dtype
                && Arrays.equals(shape, that.shape) && dataBegin == that.dataBegin && dataEnd == that.dataEnd;
    }

    @Override
    public int hashCode() {
        return (name.hashCode() * 31 + Arrays.hashCode(shape)) * 31 + Long.hashCode(dataBegin);
    }

    /** E.g. {@code conv1.weight F32 [16, 3, 3, 3]}. */
    @Override
    public String toString() {
        return name + " " + dtype + " " + Arrays.toString(shape);
    }
}
