package dev.invconv;

import dev.invconv.bindings.invconv_h;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.FloatBuffer;
import java.util.Objects;

/**
 * A dense 4-D float32 tensor: a logical {@link Shape} {@code N, C, H, W}, a {@link Layout} and
 * the {@link MemorySegment} holding the elements in that layout's order.
 *
 * <p>A tensor either borrows its memory (allocated in a caller's {@link Arena}, or a wrapped
 * segment) or owns it ({@link #allocate(Shape)}), in which case {@link #close()} frees it.
 * Closing a borrowing tensor only marks it closed. Data accessors ({@link #segment()},
 * {@link #get}, {@link #set}, the copies and conversions) throw {@link IllegalStateException}
 * once the tensor is closed or its memory's arena is; like a segment's size, the shape and
 * layout stay readable, so that error messages can still describe the tensor.
 *
 * <p>Tensors are plain data: not synchronized, like arrays. Element access uses the platform's
 * byte order (the C library's) and tolerates unaligned wrapped segments.
 */
public final class Tensor implements AutoCloseable {

    /** The byte alignment of the memory {@code allocate} returns: a cache line, an AVX-512 vector. */
    public static final long ALIGNMENT = 64;

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final String CONVERT = "convert_layout";

    private final Shape shape;
    private final Layout layout;
    private final MemorySegment segment;
    private final Arena owned; // null when the memory is borrowed
    private volatile boolean closed;

    private Tensor(Shape shape, Layout layout, MemorySegment segment, Arena owned) {
        this.shape = shape;
        this.layout = layout;
        this.segment = segment;
        this.owned = owned;
    }

    /** A zeroed NCHW tensor in {@code arena}, 64-byte aligned; it lives as long as the arena. */
    public static Tensor allocate(Arena arena, Shape shape) {
        return allocate(arena, shape, Layout.NCHW);
    }

    /** A zeroed tensor in {@code arena}, 64-byte aligned; it lives as long as the arena. */
    public static Tensor allocate(Arena arena, Shape shape, Layout layout) {
        Objects.requireNonNull(arena, "arena");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(layout, "layout");
        MemorySegment segment = arena.allocate(shape.byteSize(), ALIGNMENT);
        // The JDK's arenas (global, auto, confined, shared) zero what they allocate; a custom
        // arena, such as a pool, may hand back used memory.
        if (arena.getClass().getModule() != Arena.class.getModule()) {
            segment.fill((byte) 0);
        }
        return new Tensor(shape, layout, segment, null);
    }

    /** A zeroed NCHW tensor owning its memory: {@link #close()} frees it. */
    public static Tensor allocate(Shape shape) {
        return allocate(shape, Layout.NCHW);
    }

    /** A zeroed tensor owning its memory (a shared arena, so any thread may close it). */
    public static Tensor allocate(Shape shape, Layout layout) {
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(layout, "layout");
        Arena arena = Arena.ofShared();
        try {
            return new Tensor(shape, layout, arena.allocate(shape.byteSize(), ALIGNMENT), arena);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * A tensor over existing memory, without a copy: the first {@code shape.byteSize()} bytes of
     * {@code segment}, in {@code layout} order. The tensor does not own the memory; it becomes
     * unusable when the segment's arena closes.
     *
     * @throws IllegalArgumentException if the segment is too small or its address is not a
     *                                  multiple of 4 (the C library reads aligned floats)
     */
    public static Tensor wrap(MemorySegment segment, Shape shape, Layout layout) {
        Objects.requireNonNull(segment, "segment");
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(layout, "layout");
        if (segment.byteSize() < shape.byteSize()) {
            throw new IllegalArgumentException("tensor: a segment of " + segment.byteSize()
                    + " bytes is too small for shape " + shape + " (" + shape.byteSize() + " bytes)");
        }
        if (segment.address() % Float.BYTES != 0) {
            throw new IllegalArgumentException("tensor: segment address 0x" + Long.toHexString(segment.address())
                    + " is not aligned to 4 bytes, as float32 data must be");
        }
        return new Tensor(shape, layout, segment.asSlice(0, shape.byteSize()), null);
    }

    /** An NCHW tensor in {@code arena} holding a copy of {@code values} (in NCHW order). */
    public static Tensor of(Arena arena, Shape shape, float[] values) {
        return of(arena, shape, Layout.NCHW, values);
    }

    /** A tensor in {@code arena} holding a copy of {@code values}, given in {@code layout} order. */
    public static Tensor of(Arena arena, Shape shape, Layout layout, float[] values) {
        Objects.requireNonNull(values, "values");
        Tensor tensor = allocate(arena, shape, layout);
        tensor.copyFrom(values);
        return tensor;
    }

    /** The logical shape {@code N, C, H, W}; readable after close. */
    public Shape shape() {
        return shape;
    }

    /** The memory order; readable after close. */
    public Layout layout() {
        return layout;
    }

    /**
     * The memory holding the elements, exactly {@code shape().byteSize()} bytes in
     * {@code layout()} order.
     *
     * @throws IllegalStateException if the tensor is closed
     */
    public MemorySegment segment() {
        checkAlive();
        return segment;
    }

    /**
     * Checks that the tensor can still be used.
     *
     * @throws IllegalStateException "tensor is closed" if {@link #close()} was called or the
     *                               arena of its memory is closed
     */
    public void checkAlive() {
        if (closed || !segment.scope().isAlive()) {
            throw new IllegalStateException("tensor is closed");
        }
    }

    /**
     * The offset, in elements, of the logical element {@code (n, c, h, w)} in the segment.
     *
     * @throws IndexOutOfBoundsException naming the index that is out of range
     */
    public long index(long n, long c, long h, long w) {
        checkIndex("n", n, shape.n());
        checkIndex("c", c, shape.c());
        checkIndex("h", h, shape.h());
        checkIndex("w", w, shape.w());
        return layout.index(shape, n, c, h, w);
    }

    /** The logical element {@code (n, c, h, w)}. */
    public float get(long n, long c, long h, long w) {
        checkAlive();
        return segment.getAtIndex(FLOAT, index(n, c, h, w));
    }

    /** Sets the logical element {@code (n, c, h, w)}. */
    public void set(long n, long c, long h, long w, float value) {
        checkAlive();
        segment.setAtIndex(FLOAT, index(n, c, h, w), value);
    }

    /**
     * Copies all elements from {@code values}, given in this tensor's memory ({@link #layout()})
     * order.
     *
     * @throws IllegalArgumentException if the array length differs from the element count
     */
    public void copyFrom(float[] values) {
        checkAlive();
        requireLength("float[] of length", values.length);
        MemorySegment.copy(values, 0, segment, FLOAT, 0, values.length);
    }

    /**
     * Copies all elements from the remaining floats of {@code values} (heap or direct, in its
     * byte order), in this tensor's memory order, advancing the buffer's position past them.
     *
     * @throws IllegalArgumentException if the buffer's remaining floats differ from the element count
     */
    public void copyFrom(FloatBuffer values) {
        checkAlive();
        requireLength("FloatBuffer with remaining", values.remaining());
        MemorySegment.copy(MemorySegment.ofBuffer(values), FLOAT.withOrder(values.order()), 0,
                segment, FLOAT, 0, values.remaining());
        values.position(values.limit());
    }

    /**
     * Copies all elements, in memory order, into {@code values}.
     *
     * @throws IllegalArgumentException if the array length differs from the element count
     */
    public void copyTo(float[] values) {
        checkAlive();
        requireLength("float[] of length", values.length);
        MemorySegment.copy(segment, FLOAT, 0, values, 0, values.length);
    }

    /**
     * Copies all elements, in memory order, into {@code values} at its position, advancing
     * the position past them.
     *
     * @throws IllegalArgumentException if fewer floats than the element count remain
     */
    public void copyTo(FloatBuffer values) {
        checkAlive();
        if (values.remaining() < shape.elementCount()) {
            throw new IllegalArgumentException("tensor " + shape + " has " + shape.elementCount()
                    + " elements but the FloatBuffer has room for " + values.remaining());
        }
        int count = (int) shape.elementCount();
        MemorySegment target = MemorySegment.ofBuffer(values);
        MemorySegment.copy(segment, FLOAT, 0, target, FLOAT.withOrder(values.order()), 0, count);
        values.position(values.position() + count);
    }

    /**
     * Copies this tensor's elements into {@code target}, a tensor of the same shape in any
     * layout, reordering them when the layouts differ; the native library does it on {@code
     * context}'s threads ({@code ic_convert_layout}). How a network that runs NHWC inside takes
     * NCHW images.
     *
     * @throws IllegalArgumentException if the shapes differ, a tensor is on the Java heap, or
     *                                  the two overlap
     * @throws IllegalStateException    if a tensor or the context is closed
     */
    public void copyTo(Tensor target, Context context) {
        Objects.requireNonNull(context, "context");
        MemorySegment src = NativeOperator.argument(CONVERT, "this tensor", this, null);
        MemorySegment dst = NativeOperator.argument(CONVERT, "target", target, null);
        NativeOperator.checkOutputShape(CONVERT, "target", target, shape);
        NativeOperator.checkNoOverlap(CONVERT, "this tensor", src, dst);
        NativeLibrary.ensureLoaded();
        Status.check(invconv_h.ic_convert_layout(context.handle(), layout.nativeValue(),
                target.layout.nativeValue(), shape.n(), shape.c(), shape.h(), shape.w(), src,
                src.byteSize(), dst, dst.byteSize()));
    }

    /**
     * The elements in memory order, as a new array.
     *
     * @throws IllegalStateException if there are more elements than a Java array can hold
     */
    public float[] toArray() {
        checkAlive();
        if (shape.elementCount() > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("tensor " + shape + " has " + shape.elementCount()
                    + " elements, more than a Java array can hold");
        }
        float[] values = new float[(int) shape.elementCount()];
        copyTo(values);
        return values;
    }

    /**
     * A copy of this tensor in {@code arena} with the given layout: the same logical elements,
     * reordered in memory if the layout differs (by the native library, as {@link
     * #copyTo(Tensor, Context)} on {@link Context#shared()}, when both tensors are off-heap).
     */
    public Tensor toLayout(Arena arena, Layout target) {
        checkAlive();
        Tensor copy = allocate(arena, shape, target);
        if (target == layout) {
            MemorySegment.copy(segment, 0, copy.segment, 0, shape.byteSize());
            return copy;
        }
        if (segment.isNative() && copy.segment.isNative()) {
            copyTo(copy, Context.shared());
            return copy;
        }
        for (long n = 0; n < shape.n(); n++) {
            for (long c = 0; c < shape.c(); c++) {
                for (long h = 0; h < shape.h(); h++) {
                    for (long w = 0; w < shape.w(); w++) {
                        float value = segment.getAtIndex(FLOAT, layout.index(shape, n, c, h, w));
                        copy.segment.setAtIndex(FLOAT, target.index(shape, n, c, h, w), value);
                    }
                }
            }
        }
        return copy;
    }

    /**
     * Closes the tensor: frees the memory if the tensor owns it, otherwise only marks the
     * tensor closed. Closing twice has no effect.
     *
     * @throws IllegalStateException if owned memory is in use by a native call on another thread
     */
    @Override
    public void close() {
        if (owned != null && owned.scope().isAlive()) {
            owned.close();
        }
        closed = true;
    }

    /** E.g. {@code Tensor[1, 64, 56, 56] NCHW}. */
    @Override
    public String toString() {
        return "Tensor" + shape + " " + layout + (closed || !segment.scope().isAlive() ? " (closed)" : "");
    }

    private void checkIndex(String name, long index, long size) {
        if (index < 0 || index >= size) {
            throw new IndexOutOfBoundsException("tensor " + shape + ": index " + name + "=" + index
                    + " is out of bounds [0, " + size + ")");
        }
    }

    private void requireLength(String what, long length) {
        if (length != shape.elementCount()) {
            throw new IllegalArgumentException("tensor " + shape + " has " + shape.elementCount()
                    + " elements but got a " + what + " " + length);
        }
    }
}
