/*
 * invconv from Kotlin. Operators and owning tensors are AutoCloseable, so Kotlin's `use` closes
 * them; arenas are too (`Arena.ofConfined().use { arena -> ... }`). Java getters and record
 * components read as properties (`shape.c`, `conv.kernelName`), and Tensor.get(n, c, h, w) works
 * with the indexing operator (`y[0, 1, 2, 3]`).
 */
package dev.invconv.examples.kotlin

import dev.invconv.Conv2d
import dev.invconv.Involution2d
import dev.invconv.InvolutionAggregate
import dev.invconv.Padding
import dev.invconv.Shape
import dev.invconv.Tensor
import java.lang.foreign.Arena
import kotlin.random.Random

/** An NCHW tensor in this arena holding a copy of [values]. */
fun Arena.tensor(shape: Shape, values: FloatArray): Tensor = Tensor.of(this, shape, values)

/** [size] uniform values in [-scale, scale). */
fun Random.floats(size: Int, scale: Float = 1f): FloatArray =
    FloatArray(size) { (nextFloat() * 2f - 1f) * scale }

/** The element count of a PyTorch-style shape such as `[C_out, C_in, KH, KW]`. */
val LongArray.elements: Int get() = fold(1L, Long::times).toInt()

/**
 * A 3×3 convolution with TensorFlow-style SAME padding and a fused ReLU: the README's example,
 * the Kotlin way. Weights in PyTorch order `[outChannels, image.c, 3, 3]`, bias `[outChannels]`.
 */
fun conv3x3SameRelu(arena: Arena, image: Tensor, outChannels: Long, weights: FloatArray, bias: FloatArray): Tensor =
    Conv2d.builder(image.shape().c, outChannels, 3)
        .padding(Padding.SAME)
        .relu()
        .build(weights, bias)
        .use { conv -> conv.apply(image, arena) }

/**
 * Random parameters for an [Involution2d] under the official state_dict names, shaped by
 * [Involution2d.parameterShapes]: what a converted checkpoint would hold.
 */
fun randomInvolutionParameters(builder: Involution2d.Builder, random: Random): Map<String, FloatArray> =
    Involution2d.parameterShapes(builder.params()).mapValues { (name, shape) ->
        when (name) {
            Involution2d.BN_RUNNING_VAR -> FloatArray(shape.elements) { 0.5f + random.nextFloat() }  // > 0
            Involution2d.BN_WEIGHT -> FloatArray(shape.elements) { 0.5f + random.nextFloat() }
            else -> random.floats(shape.elements, scale = 0.5f)
        }
    }

/** The official involution module (kernel generation + aggregation) applied once. */
fun involution(arena: Arena, x: Tensor, builder: Involution2d.Builder, parameters: Map<String, FloatArray>): Tensor =
    builder.build(parameters).use { inv -> inv.apply(x, arena) }

/**
 * Involution with kernels you make yourself: [kernel] gives the weight of tap (kh, kw) for
 * kernel group g at output pixel (i, j) of image n; here plain Kotlin, in a network the output of
 * any layer. The kernels tensor is `[N, G·K·K, H', W']` in the official order.
 */
fun involutionWith(
    arena: Arena,
    x: Tensor,
    op: InvolutionAggregate,
    kernel: (n: Long, g: Long, kh: Long, kw: Long, i: Long, j: Long) -> Float,
): Tensor {
    val k = op.params().kernelSize
    val ks = op.kernelsShape(x.shape())
    val kernels = Tensor.allocate(arena, ks)
    for (n in 0 until ks.n) for (ch in 0 until ks.c) for (i in 0 until ks.h) for (j in 0 until ks.w) {
        val g = ch / (k * k)
        val tap = ch % (k * k)
        kernels[n, ch, i, j] = kernel(n, g, tap / k, tap % k, i, j)
    }
    return op.apply(x, kernels, arena)
}

/** Runs the examples on random data and prints what came out. */
fun main() {
    val random = Random(42)
    Arena.ofConfined().use { arena ->
        val image = arena.tensor(Shape.nchw(1, 16, 28, 28), random.floats(16 * 28 * 28))

        val features = conv3x3SameRelu(arena, image, 32, random.floats(32 * 16 * 3 * 3, 0.1f), random.floats(32))
        println("conv3x3 SAME + ReLU: ${image.shape()} -> ${features.shape()}")

        val builder = Involution2d.builder(32, 7).stride(2)
        val y = involution(arena, features, builder, randomInvolutionParameters(builder, random))
        println("involution(32, K=7, stride 2): ${features.shape()} -> ${y.shape()}, y[0,0,0,0] = ${y[0, 0, 0, 0]}")

        // A 3×3 box blur as an involution: the same kernel everywhere is just a depthwise conv.
        val blurred = InvolutionAggregate.builder(16, 3).build().use { op ->
            involutionWith(arena, image, op) { _, _, _, _, _, _ -> 1f / 9 }
        }
        println("box blur by involution: ${blurred.shape()}")
    }
}
