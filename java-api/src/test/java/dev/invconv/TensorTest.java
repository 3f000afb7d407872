package dev.invconv;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TensorTest {

    private static final Shape SHAPE = Shape.nchw(2, 3, 4, 5);

    /** 0, 1, 2, ... in memory order. */
    private static float[] ramp(long count) {
        float[] values = new float[(int) count];
        for (int i = 0; i < values.length; i++) {
            values[i] = i;
        }
        return values;
    }

    @ParameterizedTest
    @EnumSource(Layout.class)
    void allocatesZeroedAndAligned(Layout layout) {
        try (Arena arena = Arena.ofConfined()) {
            // Several allocations, so that an arena packing them would show misalignment.
            for (int i = 0; i < 4; i++) {
                Tensor tensor = Tensor.allocate(arena, Shape.nchw(1, 3, 3, 1 + i), layout);
                assertEquals(0, tensor.segment().address() % 64, "64-byte aligned");
                assertEquals(tensor.shape().byteSize(), tensor.segment().byteSize());
                assertEquals(layout, tensor.layout());
                assertArrayEquals(new float[(int) tensor.shape().elementCount()], tensor.toArray());
            }
        }
        try (Tensor owned = Tensor.allocate(SHAPE, layout)) {
            assertEquals(0, owned.segment().address() % 64);
            assertArrayEquals(new float[(int) SHAPE.elementCount()], owned.toArray());
        }
    }

    @Test
    void defaultLayoutIsNchw() {
        try (Arena arena = Arena.ofConfined(); Tensor owned = Tensor.allocate(SHAPE)) {
            assertEquals(Layout.NCHW, Tensor.allocate(arena, SHAPE).layout());
            assertEquals(Layout.NCHW, owned.layout());
            assertEquals(Layout.NCHW, Tensor.of(arena, SHAPE, ramp(SHAPE.elementCount())).layout());
        }
    }

    /** An arena that, like a pool, hands back used memory. */
    private static final class DirtyArena implements Arena {
        private final Arena inner = Arena.ofConfined();

        @Override
        public MemorySegment allocate(long byteSize, long byteAlignment) {
            return inner.allocate(byteSize, byteAlignment).fill((byte) 0x7f);
        }

        @Override
        public MemorySegment.Scope scope() {
            return inner.scope();
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    @Test
    void zeroesMemoryOfCustomArenas() {
        try (Arena arena = new DirtyArena()) {
            Tensor tensor = Tensor.allocate(arena, SHAPE);
            assertArrayEquals(new float[(int) SHAPE.elementCount()], tensor.toArray());
        }
    }

    @Test
    void indexFollowsTheLayout() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor nchw = Tensor.allocate(arena, SHAPE, Layout.NCHW);
            Tensor nhwc = Tensor.allocate(arena, SHAPE, Layout.NHWC);
            // n=1, c=2, h=3, w=4 with N,C,H,W = 2,3,4,5
            assertEquals(((1 * 3 + 2) * 4 + 3) * 5 + 4, nchw.index(1, 2, 3, 4));
            assertEquals(((1 * 4 + 3) * 5 + 4) * 3 + 2, nhwc.index(1, 2, 3, 4));
            assertEquals(1, nhwc.index(0, 1, 0, 0), "channels are innermost in NHWC");
            assertEquals(20, nchw.index(0, 1, 0, 0), "a channel is an H×W plane in NCHW");
        }
    }

    @Test
    void indexChecksBounds() {
        try (Tensor tensor = Tensor.allocate(SHAPE)) {
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> tensor.get(0, 3, 0, 0));
            assertEquals("tensor [2, 3, 4, 5]: index c=3 is out of bounds [0, 3)", e.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> tensor.set(-1, 0, 0, 0, 1f));
            assertThrows(IndexOutOfBoundsException.class, () -> tensor.index(0, 0, 4, 0));
            assertThrows(IndexOutOfBoundsException.class, () -> tensor.index(0, 0, 0, 5));
        }
    }

    @ParameterizedTest
    @EnumSource(Layout.class)
    void getAndSetUseLogicalIndices(Layout layout) {
        try (Arena arena = Arena.ofConfined()) {
            Tensor tensor = Tensor.allocate(arena, SHAPE, layout);
            tensor.set(1, 2, 3, 4, 42f);
            assertEquals(42f, tensor.get(1, 2, 3, 4));
            assertEquals(42f, tensor.segment().getAtIndex(ValueLayout.JAVA_FLOAT, tensor.index(1, 2, 3, 4)));
            assertEquals(42f, tensor.toArray()[(int) tensor.index(1, 2, 3, 4)]);
        }
    }

    @Test
    void convertsBetweenLayouts() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor nchw = Tensor.of(arena, SHAPE, ramp(SHAPE.elementCount()));
            Tensor nhwc = nchw.toLayout(arena, Layout.NHWC);
            assertEquals(Layout.NHWC, nhwc.layout());
            for (long n = 0; n < SHAPE.n(); n++) {
                for (long c = 0; c < SHAPE.c(); c++) {
                    for (long h = 0; h < SHAPE.h(); h++) {
                        for (long w = 0; w < SHAPE.w(); w++) {
                            assertEquals(nchw.get(n, c, h, w), nhwc.get(n, c, h, w));
                        }
                    }
                }
            }
            // Memory order of NHWC: the channels of pixel (0, 0) come first.
            float[] memory = nhwc.toArray();
            assertArrayEquals(new float[] {0, 20, 40, 1}, new float[] {memory[0], memory[1], memory[2], memory[3]});
            assertArrayEquals(nchw.toArray(), nhwc.toLayout(arena, Layout.NCHW).toArray(), "round trip");

            Tensor copy = nchw.toLayout(arena, Layout.NCHW);
            assertNotSame(nchw.segment(), copy.segment());
            copy.set(0, 0, 0, 0, -1f);
            assertEquals(0f, nchw.get(0, 0, 0, 0), "a same-layout conversion is still a copy");
        }
    }

    @Test
    void copiesArraysInMemoryOrder() {
        try (Arena arena = Arena.ofConfined()) {
            float[] values = ramp(SHAPE.elementCount());
            Tensor tensor = Tensor.of(arena, SHAPE, Layout.NHWC, values);
            assertEquals(1f, tensor.get(0, 1, 0, 0), "the array is in the tensor's (NHWC) memory order");
            float[] out = new float[values.length];
            tensor.copyTo(out);
            assertArrayEquals(values, out);
            values[0] = 99f;
            assertEquals(0f, tensor.get(0, 0, 0, 0), "of() copies");
            tensor.copyFrom(values);
            assertEquals(99f, tensor.get(0, 0, 0, 0));
        }
    }

    @Test
    void arraysOfTheWrongLengthAreRejected() {
        try (Tensor tensor = Tensor.allocate(Shape.nchw(1, 1, 2, 2))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tensor.copyFrom(new float[5]));
            assertEquals("tensor [1, 1, 2, 2] has 4 elements but got a float[] of length 5", e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> tensor.copyTo(new float[3]));
            assertThrows(IllegalArgumentException.class, () -> tensor.copyFrom(FloatBuffer.allocate(3)));
            assertThrows(IllegalArgumentException.class, () -> tensor.copyTo(FloatBuffer.allocate(3)));
            assertThrows(IllegalArgumentException.class, () -> Tensor.of(Arena.global(), tensor.shape(), new float[3]));
        }
    }

    @Test
    void copiesFloatBuffersOfAnyKindAndOrder() {
        float[] values = {1.5f, -2f, 3.25f, 4f};
        try (Tensor tensor = Tensor.allocate(Shape.nchw(1, 1, 2, 2))) {
            FloatBuffer heap = FloatBuffer.allocate(6).put(new float[] {9, 9}).slice().put(values).flip();
            tensor.copyFrom(heap);
            assertArrayEquals(values, tensor.toArray());
            assertFalse(heap.hasRemaining(), "the position advances past the copied floats");

            for (ByteOrder order : new ByteOrder[] {ByteOrder.BIG_ENDIAN, ByteOrder.LITTLE_ENDIAN}) {
                FloatBuffer direct = ByteBuffer.allocateDirect(16).order(order).asFloatBuffer();
                direct.put(values).flip();
                tensor.copyFrom(new float[4]);
                tensor.copyFrom(direct);
                assertArrayEquals(values, tensor.toArray(), order.toString());

                FloatBuffer target = ByteBuffer.allocateDirect(24).order(order).asFloatBuffer();
                target.put(7f);
                tensor.copyTo(target);
                assertEquals(5, target.position());
                assertEquals(7f, target.get(0));
                assertEquals(-2f, target.get(2), order.toString());
                assertEquals(4f, target.get(4), order.toString());
            }
        }
    }

    @Test
    void wrapsWithoutCopying() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(SHAPE.byteSize() + 16, 4);
            Tensor tensor = Tensor.wrap(memory, SHAPE, Layout.NHWC);
            assertEquals(SHAPE.byteSize(), tensor.segment().byteSize(), "sliced to the tensor's size");
            assertEquals(memory.address(), tensor.segment().address());
            memory.setAtIndex(ValueLayout.JAVA_FLOAT, 1, 5f);
            assertEquals(5f, tensor.get(0, 1, 0, 0), "shares the memory");

            tensor.close();
            assertThrows(IllegalStateException.class, tensor::segment);
            assertTrue(memory.scope().isAlive(), "a wrapping tensor does not own the memory");

            float[] array = ramp(SHAPE.elementCount());
            Tensor heap = Tensor.wrap(MemorySegment.ofArray(array), SHAPE, Layout.NCHW);
            assertEquals(7f, heap.get(0, 0, 1, 2));
        }
    }

    @Test
    void wrapChecksSizeAndAlignment() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(SHAPE.byteSize() + 8, 8);
            IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                    () -> Tensor.wrap(memory.asSlice(0, 16), SHAPE, Layout.NCHW));
            assertEquals("tensor: a segment of 16 bytes is too small for shape [2, 3, 4, 5] (480 bytes)", small.getMessage());
            IllegalArgumentException misaligned = assertThrows(IllegalArgumentException.class,
                    () -> Tensor.wrap(memory.asSlice(2), SHAPE, Layout.NCHW));
            assertTrue(misaligned.getMessage().contains("is not aligned to 4 bytes"), misaligned.getMessage());
        }
    }

    @Test
    void closedOwnedTensorRefusesAccess() {
        Tensor tensor = Tensor.allocate(SHAPE);
        MemorySegment segment = tensor.segment();
        tensor.close();
        assertFalse(segment.scope().isAlive(), "close frees owned memory");
        assertClosed(tensor);
        assertDoesNotThrow(tensor::close, "closing twice");
        assertEquals(SHAPE, tensor.shape(), "metadata stays readable");
        assertEquals("Tensor[2, 3, 4, 5] NCHW (closed)", tensor.toString());
    }

    @Test
    void tensorOfAClosedArenaRefusesAccess() {
        Arena arena = Arena.ofConfined();
        Tensor tensor = Tensor.allocate(arena, SHAPE, Layout.NHWC);
        assertEquals("Tensor[2, 3, 4, 5] NHWC", tensor.toString());
        arena.close();
        assertClosed(tensor);
    }

    @Test
    void closingABorrowingTensorOnlyMarksIt() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor tensor = Tensor.allocate(arena, SHAPE);
            MemorySegment segment = tensor.segment();
            tensor.close();
            assertTrue(segment.scope().isAlive());
            assertClosed(tensor);
        }
    }

    private static void assertClosed(Tensor tensor) {
        Consumer<org.junit.jupiter.api.function.Executable> closed = call -> {
            IllegalStateException e = assertThrows(IllegalStateException.class, call);
            assertEquals("tensor is closed", e.getMessage());
        };
        closed.accept(tensor::checkAlive);
        closed.accept(tensor::segment);
        closed.accept(() -> tensor.get(0, 0, 0, 0));
        closed.accept(() -> tensor.set(0, 0, 0, 0, 1f));
        closed.accept(tensor::toArray);
        closed.accept(() -> tensor.copyFrom(new float[(int) SHAPE.elementCount()]));
        closed.accept(() -> tensor.copyTo(new float[(int) SHAPE.elementCount()]));
        closed.accept(() -> tensor.copyFrom(FloatBuffer.allocate((int) SHAPE.elementCount())));
        closed.accept(() -> tensor.toLayout(Arena.global(), Layout.NCHW));
    }

    @Test
    void ownedTensorMayBeClosedByAnotherThread() throws InterruptedException {
        Tensor tensor = Tensor.allocate(SHAPE);
        Thread closer = Thread.ofPlatform().start(tensor::close);
        closer.join();
        assertClosed(tensor);
    }

    @Test
    void sameLayoutConversionOfAWrappedHeapTensor() {
        float[] array = ramp(SHAPE.elementCount());
        Tensor heap = Tensor.wrap(MemorySegment.ofArray(array), SHAPE, Layout.NCHW);
        try (Arena arena = Arena.ofConfined()) {
            Tensor copy = heap.toLayout(arena, Layout.NCHW);
            assertTrue(copy.segment().isNative());
            assertArrayEquals(array, copy.toArray());
            assertSame(Layout.NCHW, copy.layout());
        }
    }

    /** Every element where the target layout puts it: the native conversion against get/set. */
    @ParameterizedTest
    @EnumSource(Layout.class)
    void copyToReordersIntoAnyLayout(Layout from) {
        Shape[] shapes = {SHAPE, Shape.nchw(1, 3, 224, 224), Shape.nchw(2, 300, 7, 9), Shape.nchw(1, 1000, 1, 1),
            Shape.nchw(3, 1, 33, 31)};
        try (Arena arena = Arena.ofConfined(); Context context = Context.create(2)) {
            for (Shape shape : shapes) {
                Tensor source = Tensor.of(arena, shape, from, ramp(shape.elementCount()));
                for (Layout to : Layout.values()) {
                    Tensor target = Tensor.allocate(arena, shape, to);
                    source.copyTo(target, context);
                    for (long n = 0; n < shape.n(); n++) {
                        for (long c = 0; c < shape.c(); c++) {
                            for (long h = 0; h < shape.h(); h++) {
                                for (long w = 0; w < shape.w(); w++) {
                                    if (source.get(n, c, h, w) != target.get(n, c, h, w)) {
                                        throw new AssertionError(from + " -> " + to + " " + shape + ": element ("
                                                + n + ", " + c + ", " + h + ", " + w + ") misplaced");
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void heapTensorsConvertWithoutTheNativeLibrary() {
        float[] array = ramp(SHAPE.elementCount());
        Tensor heap = Tensor.wrap(MemorySegment.ofArray(array), SHAPE, Layout.NCHW);
        try (Arena arena = Arena.ofConfined()) {
            Tensor viaJava = heap.toLayout(arena, Layout.NHWC);
            Tensor viaNative = Tensor.of(arena, SHAPE, array).toLayout(arena, Layout.NHWC);
            assertArrayEquals(viaNative.toArray(), viaJava.toArray());
        }
    }

    @Test
    void copyToRejectsWhatItCannotConvert() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor source = Tensor.allocate(arena, SHAPE);
            Context context = Context.shared();
            IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                    () -> source.copyTo(Tensor.allocate(arena, Shape.nchw(2, 3, 5, 4), Layout.NHWC), context));
            assertTrue(shape.getMessage().contains("convert_layout"), shape.getMessage());
            Tensor heap = Tensor.wrap(MemorySegment.ofArray(new float[(int) SHAPE.elementCount()]), SHAPE, Layout.NHWC);
            IllegalArgumentException onHeap = assertThrows(IllegalArgumentException.class,
                    () -> source.copyTo(heap, context));
            assertTrue(onHeap.getMessage().contains("heap"), onHeap.getMessage());
            Tensor alias = Tensor.wrap(source.segment(), SHAPE, Layout.NHWC);
            IllegalArgumentException overlap = assertThrows(IllegalArgumentException.class,
                    () -> source.copyTo(alias, context));
            assertTrue(overlap.getMessage().contains("overlap"), overlap.getMessage());
            assertThrows(NullPointerException.class, () -> source.copyTo(Tensor.allocate(arena, SHAPE), null));
            Tensor closed = Tensor.allocate(SHAPE);
            closed.close();
            assertThrows(IllegalStateException.class, () -> closed.copyTo(Tensor.allocate(arena, SHAPE), context));
        }
    }
}
