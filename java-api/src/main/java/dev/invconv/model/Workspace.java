package dev.invconv.model;

import dev.invconv.Context;
import dev.invconv.Layout;
import dev.invconv.Shape;
import dev.invconv.Tensor;

import java.lang.foreign.MemorySegment;

/**
 * The scratch memory of one forward pass: a stack of 64-byte aligned activation buffers carved
 * out of one preallocated segment ({@link #mark()}, {@link #allocate}, {@link #release}), plus
 * the context and the optional profile of the pass. Confined to the thread running the pass.
 */
final class Workspace {

    static final long ALIGNMENT = Tensor.ALIGNMENT;

    final Context context;
    final Profile profile;
    final Layout layout;
    private final MemorySegment memory;
    private long top;

    Workspace(MemorySegment memory, Context context, Profile profile, Layout layout) {
        this.memory = memory;
        this.context = context;
        this.profile = profile;
        this.layout = layout;
    }

    /** The bytes {@link #allocate} takes for a tensor of {@code shape}. */
    static long bytes(Shape shape) {
        return (shape.byteSize() + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    long mark() {
        return top;
    }

    void release(long mark) {
        top = mark;
    }

    /** A raw slot of {@code bytes} (a multiple of the alignment) for tensors of several shapes. */
    MemorySegment slot(long bytes) {
        if (top + bytes > memory.byteSize()) {
            throw new IllegalStateException("workspace: " + bytes + " bytes requested at offset " + top
                    + " of " + memory.byteSize() + " (a workspace size was underestimated)");
        }
        MemorySegment slot = memory.asSlice(top, bytes);
        top += bytes;
        return slot;
    }

    /** A tensor of {@code shape} over a new slot. */
    Tensor allocate(Shape shape) {
        return in(slot(bytes(shape)), shape);
    }

    /** A tensor of {@code shape} over the start of {@code slot}. */
    Tensor in(MemorySegment slot, Shape shape) {
        return Tensor.wrap(slot, shape, layout);
    }
}
