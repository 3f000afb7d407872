/**
 * Networks over the native operators: RedNet and ResNet, and the pieces to build your own.
 *
 * <ul>
 *   <li>{@link dev.invconv.model.Layer} describes a network (convolutions with BatchNorm,
 *       involutions, pooling, linear layers, sequences and residual blocks) by the
 *       {@code state_dict} names of its tensors, with shapes, parameter counts and MACs.</li>
 *   <li>{@link dev.invconv.model.ModelWeights} holds the tensors: a memory-mapped safetensors
 *       checkpoint, arrays, or seeded random values; {@code check} reports every tensor that does
 *       not fit, at once.</li>
 *   <li>{@link dev.invconv.model.Network} is a layer built into native operators, BatchNorm
 *       folded and ReLU and residual adds fused, running batches with reused workspaces;
 *       {@link dev.invconv.model.Profile} times its operators.</li>
 *   <li>{@link dev.invconv.model.Models} is the zoo (RedNet-26/38/50/101/152, ResNet-50/101/152),
 *       {@link dev.invconv.model.ReferenceNetwork} the plain-Java oracle, and
 *       {@link dev.invconv.model.ImageNetInput} the ImageNet preprocessing of image files.</li>
 * </ul>
 *
 * <pre>{@code
 * try (ModelWeights weights = ModelWeights.open(Path.of("rednet50.safetensors"));
 *      Network net = Models.create("rednet50", weights);
 *      Arena arena = Arena.ofConfined()) {
 *     Tensor images = ImageNetInput.load(arena, List.of(Path.of("cat.jpg")));
 *     float[] logits = net.forward(images, arena).toArray();     // [1, 1000, 1, 1]
 * }
 * }</pre>
 */
package dev.invconv.model;
