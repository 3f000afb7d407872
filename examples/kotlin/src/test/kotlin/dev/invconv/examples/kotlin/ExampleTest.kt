package dev.invconv.examples.kotlin

import dev.invconv.Conv2d
import dev.invconv.Involution2d
import dev.invconv.InvolutionAggregate
import dev.invconv.Padding
import dev.invconv.Shape
import dev.invconv.Tensor
import dev.invconv.reference.ReferenceConv2d
import dev.invconv.reference.ReferenceInvolution
import dev.invconv.reference.ReferenceInvolution2d
import dev.invconv.reference.Tolerance
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.lang.foreign.Arena
import kotlin.random.Random

/** Runs the Kotlin examples and checks them against the plain-Java float64 references. */
class ExampleTest {

    private fun assertPassed(report: Tolerance.Report, shape: Shape) =
        assertTrue(report.passed()) { report.describe(shape) }

    @Test
    fun `conv3x3 SAME with ReLU matches the reference`() {
        val random = Random(1)
        Arena.ofConfined().use { arena ->
            val shape = Shape.nchw(2, 8, 9, 7)
            val x = arena.tensor(shape, random.floats(shape.elementCount().toInt()))
            val w = random.floats(12 * 8 * 3 * 3, 0.3f)
            val b = random.floats(12)

            val y = conv3x3SameRelu(arena, x, 12, w, b)

            assertEquals(Shape.nchw(2, 12, 9, 7), y.shape())  // SAME, stride 1: spatial size kept
            val params = Conv2d.builder(8, 12, 3).padding(Padding.SAME).relu().params()
            val ref = ReferenceConv2d.run(params, x, w, b, null)
            assertPassed(Tolerance.check(y.toArray(), ref.values(), ref.magnitude()), y.shape())
            assertTrue(y.toArray().all { it >= 0f }, "ReLU is fused")
        }
    }

    @Test
    fun `involution module with stride 2 matches the reference`() {
        val random = Random(2)
        Arena.ofConfined().use { arena ->
            val shape = Shape.nchw(1, 32, 12, 10)
            val x = arena.tensor(shape, random.floats(shape.elementCount().toInt()))
            val builder = Involution2d.builder(32, 7).stride(2)
            val p = randomInvolutionParameters(builder, random)

            val y = involution(arena, x, builder, p)

            assertEquals(Shape.nchw(1, 32, 6, 5), y.shape())
            val ref = ReferenceInvolution2d.run(builder.params(), x,
                p.getValue(Involution2d.REDUCE_WEIGHT), p.getValue(Involution2d.BN_WEIGHT),
                p.getValue(Involution2d.BN_BIAS), p.getValue(Involution2d.BN_RUNNING_MEAN),
                p.getValue(Involution2d.BN_RUNNING_VAR), p.getValue(Involution2d.SPAN_WEIGHT),
                p.getValue(Involution2d.SPAN_BIAS))
            assertPassed(Tolerance.checkModule(y.toArray(), ref.values()), y.shape())
        }
    }

    @Test
    fun `involution with kernels from a Kotlin lambda matches the reference`() {
        val random = Random(3)
        Arena.ofConfined().use { arena ->
            val shape = Shape.nchw(2, 32, 8, 8)
            val x = arena.tensor(shape, random.floats(shape.elementCount().toInt()))
            InvolutionAggregate.builder(32, 3).build().use { op ->
                // Each group and pixel gets its own kernel; weights depend on everything.
                val kernel = { n: Long, g: Long, kh: Long, kw: Long, i: Long, j: Long ->
                    ((n + 2 * g + 3 * kh + 5 * kw + 7 * i + 11 * j) % 13 - 6) / 6f
                }
                val y = involutionWith(arena, x, op, kernel)

                // The reference reads the same kernels, rebuilt here independently.
                val ks = op.kernelsShape(shape)
                val kernels = Tensor.allocate(arena, ks)
                for (n in 0 until ks.n) for (g in 0 until 2L) for (t in 0 until 9L)
                    for (i in 0 until ks.h) for (j in 0 until ks.w)
                        kernels[n, g * 9 + t, i, j] = kernel(n, g, t / 3, t % 3, i, j)
                val ref = ReferenceInvolution.aggregate(op.params(), x, kernels)
                assertPassed(Tolerance.check(y.toArray(), ref.values(), ref.magnitude()), y.shape())
            }
        }
    }

    @Test
    fun `bad parameters fail with a message that names them`() {
        val e = assertThrows(IllegalArgumentException::class.java) {
            Conv2d.builder(8, 12, 3).groups(3).params()
        }
        assertTrue("groups=3" in e.message.orEmpty()) { e.message }
    }

    @Test
    fun `main runs`() = main()
}
