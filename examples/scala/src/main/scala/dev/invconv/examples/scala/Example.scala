/*
 * invconv from Scala 3. Arenas, operators and owning tensors are AutoCloseable, so
 * scala.util.Using closes them: Using.resource for one, Using.Manager for several (closed in
 * reverse order, even when the body throws).
 */
package dev.invconv.examples.scala

import dev.invconv.{Conv2d, Involution2d, InvolutionAggregate, Padding, Shape, Tensor}

import java.lang.foreign.Arena
import scala.jdk.CollectionConverters.*
import scala.util.{Random, Using}

/** Small helpers that make the Java API read like Scala. */
object syntax:

  extension (arena: Arena)
    /** An NCHW tensor in this arena holding a copy of `values`. */
    def tensor(shape: Shape, values: Array[Float]): Tensor = Tensor.of(arena, shape, values)

  extension (t: Tensor)
    /** `t(n, c, h, w)` reads one element. */
    def apply(n: Long, c: Long, h: Long, w: Long): Float = t.get(n, c, h, w)

  extension (random: Random)
    /** `size` uniform values in [-scale, scale). */
    def floats(size: Int, scale: Float = 1f): Array[Float] =
      Array.fill(size)((random.nextFloat() * 2f - 1f) * scale)

  /** The element count of a PyTorch-style shape such as `[C_out, C_in, KH, KW]`. */
  def elements(shape: Array[Long]): Int = shape.product.toInt

import syntax.*

object Example:

  /**
   * A 3×3 convolution with TensorFlow-style SAME padding and a fused ReLU: the README's example,
   * the Scala way. Weights in PyTorch order `[outChannels, image.c, 3, 3]`, bias `[outChannels]`.
   */
  def conv3x3SameRelu(arena: Arena, image: Tensor, outChannels: Long,
                      weights: Array[Float], bias: Array[Float]): Tensor =
    Using.resource(Conv2d.builder(image.shape.c, outChannels, 3).padding(Padding.SAME).relu().build(weights, bias)) {
      conv => conv.apply(image, arena)
    }

  /**
   * Random parameters for an [[Involution2d]] under the official state_dict names, shaped by
   * `Involution2d.parameterShapes`: what a converted checkpoint would hold.
   */
  def randomInvolutionParameters(builder: Involution2d.Builder, random: Random): Map[String, Array[Float]] =
    Involution2d.parameterShapes(builder.params()).asScala.toMap.map { (name, shape) =>
      name -> (name match
        case Involution2d.BN_RUNNING_VAR | Involution2d.BN_WEIGHT =>
          Array.fill(elements(shape))(0.5f + random.nextFloat())   // positive variance and scale
        case _ => random.floats(elements(shape), scale = 0.5f))
    }

  /** The official involution module (kernel generation + aggregation) applied once. */
  def involution(arena: Arena, x: Tensor, builder: Involution2d.Builder,
                 parameters: Map[String, Array[Float]]): Tensor =
    Using.resource(builder.build(parameters.asJava))(_.apply(x, arena))

  /**
   * Involution with kernels you make yourself: `kernel(n, g, kh, kw, i, j)` is the weight of tap
   * (kh, kw) for kernel group g at output pixel (i, j) of image n; here a Scala function, in a
   * network the output of any layer. The kernels tensor is `[N, G·K·K, H', W']`, official order.
   */
  def involutionWith(arena: Arena, x: Tensor, op: InvolutionAggregate)
                    (kernel: (Long, Long, Long, Long, Long, Long) => Float): Tensor =
    val k = op.params.kernelSize
    val ks = op.kernelsShape(x.shape)
    val kernels = Tensor.allocate(arena, ks)
    for n <- 0L until ks.n; ch <- 0L until ks.c; i <- 0L until ks.h; j <- 0L until ks.w do
      val tap = ch % (k * k)
      kernels.set(n, ch, i, j, kernel(n, ch / (k * k), tap / k, tap % k, i, j))
    op.apply(x, kernels, arena)

  /** Runs the examples on random data and prints what came out. */
  @main def runExamples(): Unit =
    val random = Random(42)
    Using.Manager { use =>
      val arena = use(Arena.ofConfined())
      val image = arena.tensor(Shape.nchw(1, 16, 28, 28), random.floats(16 * 28 * 28))

      val features = conv3x3SameRelu(arena, image, 32, random.floats(32 * 16 * 3 * 3, 0.1f), random.floats(32))
      println(s"conv3x3 SAME + ReLU: ${image.shape} -> ${features.shape}")

      val builder = Involution2d.builder(32, 7).stride(2)
      val y = involution(arena, features, builder, randomInvolutionParameters(builder, random))
      println(s"involution(32, K=7, stride 2): ${features.shape} -> ${y.shape}, y(0,0,0,0) = ${y(0, 0, 0, 0)}")

      // A 3×3 box blur as an involution: the same kernel everywhere is just a depthwise conv.
      val blur = use(InvolutionAggregate.builder(16, 3).build())
      val blurred = involutionWith(arena, image, blur)((_, _, _, _, _, _) => 1f / 9)
      println(s"box blur by involution: ${blurred.shape}")
    }.get
