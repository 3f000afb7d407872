package dev.invconv.safetensors;

import dev.invconv.Layout;
import dev.invconv.Shape;
import dev.invconv.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One tensor of an open {@link SafeTensors} file: its header entry and a read-only,
 * zero-copy slice of the memory-mapped file. Valid until the file is closed.
 */
public final class TensorView {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final SafeTensors file;
    private final TensorInfo info;
    private final MemorySegment segment;

    TensorView(SafeTensors file, TensorInfo info, MemorySegment segment) {
        this.file = file;
        this.info = info;
        this.segment = segment;
    }

    /** The tensor's name in the header. */
    public String name() {
        return info.name();
    }

    /** The element type. */
    public DType dtype() {
        return info.dtype();
    }

    /** A copy of the dimensions. */
    public long[] shape() {
        return info.shape();
    }

    /** The header entry. */
    public TensorInfo info() {
        return info;
    }

    /** The number of elements. */
    public long elementCount() {
        return info.elementCount();
    }

    /**
     * The tensor's bytes (little-endian, as the format prescribes): a read-only slice of the
     * mapped file, not a copy.
     *
     * @throws IllegalStateException if the file is closed
     */
    public MemorySegment segment() {
        file.checkOpen();
        return segment;
    }

    /**
     * The elements as floats: F32 copied as they are; F64 rounded to nearest; F16 and BF16 widened
     * exactly.
     *
     * @throws SafeTensorsException for other dtypes, or more elements than an array holds
     */
    public float[] toFloatArray() {
        int count = arrayLength();
        MemorySegment data = segment();
        float[] values = new float[count];
        switch (info.dtype()) {
            case F32 -> MemorySegment.copy(data, F32, 0, values, 0, count);
            case F64 -> {
                for (int i = 0; i < count; i++) {
                    values[i] = (float) data.getAtIndex(F64, i);
                }
            }
            case F16, BF16 -> {
                for (int i = 0; i < count; i++) {
                    values[i] = halfToFloat(data.getAtIndex(HALF, i));
                }
            }
            default -> throw unsupported("toFloatArray");
        }
        return values;
    }

    /**
     * The elements as doubles: F64 copied as they are; F32, F16 and BF16 widened exactly.
     *
     * @throws SafeTensorsException for other dtypes, or more elements than an array holds
     */
    public double[] toDoubleArray() {
        int count = arrayLength();
        MemorySegment data = segment();
        double[] values = new double[count];
        switch (info.dtype()) {
            case F64 -> MemorySegment.copy(data, F64, 0, values, 0, count);
            case F32 -> {
                for (int i = 0; i < count; i++) {
                    values[i] = data.getAtIndex(F32, i);
                }
            }
            case F16, BF16 -> {
                for (int i = 0; i < count; i++) {
                    values[i] = halfToFloat(data.getAtIndex(HALF, i));
                }
            }
            default -> throw unsupported("toDoubleArray");
        }
        return values;
    }

    /**
     * A zero-copy, read-only NCHW {@link Tensor} over a 4-D F32 tensor, valid while the file is
     * open; e.g. an input handed straight to native code.
     *
     * @throws SafeTensorsException if the tensor is not 4-D F32 (on a big-endian platform, F32
     *                              data would need swapping and is refused too)
     */
    public Tensor asTensor() {
        if (info.dtype() != DType.F32 || info.shape().length != 4 || ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new SafeTensorsException(file.describe(info.name()) + ": is " + info.dtype() + " "
                    + Arrays.toString(info.shape()) + ", not a 4-D F32 tensor in native byte order");
        }
        return Tensor.wrap(segment(), Shape.of(info.shape()), Layout.NCHW);
    }

    @Override
    public String toString() {
        return info.toString();
    }

    private float halfToFloat(short bits) {
        return info.dtype() == DType.BF16
                ? Float.intBitsToFloat((bits & 0xffff) << 16) // bfloat16 is float32's upper half
                : Float.float16ToFloat(bits);
    }

    private int arrayLength() {
        long count = info.elementCount();
        if (count > Integer.MAX_VALUE - 8) {
            throw new SafeTensorsException(file.describe(info.name()) + ": " + count
                    + " elements are more than a Java array holds");
        }
        return (int) count;
    }

    private SafeTensorsException unsupported(String method) {
        return new SafeTensorsException(file.describe(info.name()) + ": has dtype " + info.dtype() + "; "
                + method + " reads F32, F64, F16 and BF16");
    }
}
