package dev.invconv.examples.scala

import dev.invconv.{Conv2d, Involution2d, InvolutionAggregate, Padding, Shape, Tensor}
import dev.invconv.reference.{ReferenceConv2d, ReferenceInvolution, ReferenceInvolution2d, Tolerance}
import dev.invconv.examples.scala.syntax.*
import org.junit.jupiter.api.Assertions.{assertEquals, assertThrows, assertTrue}
import org.junit.jupiter.api.Test

import java.lang.foreign.Arena
import scala.util.{Random, Using}

/** Runs the Scala examples (JUnit 5, so surefire runs them) against the float64 references. */
class ExampleTest:

  private def assertPassed(report: Tolerance.Report, shape: Shape): Unit =
    assertTrue(report.passed(), () => report.describe(shape))

  @Test def conv3x3SameReluMatchesTheReference(): Unit =
    val random = Random(1)
    Using.resource(Arena.ofConfined()) { arena =>
      val shape = Shape.nchw(2, 8, 9, 7)
      val x = arena.tensor(shape, random.floats(shape.elementCount.toInt))
      val w = random.floats(12 * 8 * 3 * 3, 0.3f)
      val b = random.floats(12)

      val y = Example.conv3x3SameRelu(arena, x, 12, w, b)

      assertEquals(Shape.nchw(2, 12, 9, 7), y.shape)   // SAME, stride 1: spatial size kept
      val params = Conv2d.builder(8, 12, 3).padding(Padding.SAME).relu().params()
      val ref = ReferenceConv2d.run(params, x, w, b, null)
      assertPassed(Tolerance.check(y.toArray, ref.values, ref.magnitude), y.shape)
      assertTrue(y.toArray.forall(_ >= 0f), "ReLU is fused")
    }

  @Test def involutionModuleWithStride2MatchesTheReference(): Unit =
    val random = Random(2)
    Using.resource(Arena.ofConfined()) { arena =>
      val shape = Shape.nchw(1, 32, 12, 10)
      val x = arena.tensor(shape, random.floats(shape.elementCount.toInt))
      val builder = Involution2d.builder(32, 7).stride(2)
      val p = Example.randomInvolutionParameters(builder, random)

      val y = Example.involution(arena, x, builder, p)

      assertEquals(Shape.nchw(1, 32, 6, 5), y.shape)
      import Involution2d.*
      val ref = ReferenceInvolution2d.run(builder.params(), x, p(REDUCE_WEIGHT), p(BN_WEIGHT), p(BN_BIAS),
        p(BN_RUNNING_MEAN), p(BN_RUNNING_VAR), p(SPAN_WEIGHT), p(SPAN_BIAS))
      assertPassed(Tolerance.checkModule(y.toArray, ref.values), y.shape)
    }

  @Test def involutionWithKernelsFromAScalaFunctionMatchesTheReference(): Unit =
    val random = Random(3)
    Using.Manager { use =>
      val arena = use(Arena.ofConfined())
      val op = use(InvolutionAggregate.builder(32, 3).build())
      val shape = Shape.nchw(2, 32, 8, 8)
      val x = arena.tensor(shape, random.floats(shape.elementCount.toInt))
      // Each group and pixel gets its own kernel; the weights depend on every index.
      val kernel = (n: Long, g: Long, kh: Long, kw: Long, i: Long, j: Long) =>
        ((n + 2 * g + 3 * kh + 5 * kw + 7 * i + 11 * j) % 13 - 6) / 6f

      val y = Example.involutionWith(arena, x, op)(kernel)

      // The reference reads the same kernels, rebuilt here independently.
      val ks = op.kernelsShape(shape)
      val kernels = Tensor.allocate(arena, ks)
      for n <- 0L until ks.n; g <- 0L until 2L; t <- 0L until 9L; i <- 0L until ks.h; j <- 0L until ks.w do
        kernels.set(n, g * 9 + t, i, j, kernel(n, g, t / 3, t % 3, i, j))
      val ref = ReferenceInvolution.aggregate(op.params, x, kernels)
      assertPassed(Tolerance.check(y.toArray, ref.values, ref.magnitude), y.shape)
    }.get

  @Test def badParametersFailWithAMessageThatNamesThem(): Unit =
    val e = assertThrows(classOf[IllegalArgumentException], () => Conv2d.builder(8, 12, 3).groups(3).params())
    assertTrue(e.getMessage.contains("groups=3"), e.getMessage)

  @Test def mainRuns(): Unit = Example.runExamples()
