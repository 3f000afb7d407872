package dev.invconv.model;

import java.util.List;

/**
 * Weights that do not fit a model: every missing, unexpected, mis-shaped and mis-typed tensor
 * at once, each by name. The message lists them all, grouped, e.g.
 * <pre>
 * weights.safetensors does not fit rednet26: 1 missing, 1 unexpected, 1 with the wrong shape:
 *   missing: 'head.fc.bias' [1000]
 *   unexpected: 'fc.bias'
 *   wrong shape: 'layer1.0.conv1.weight' is [64, 64, 1, 1], expected [64, 64, 3, 3]
 * </pre>
 */
public final class WeightsException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private final transient List<String> missing;
    private final transient List<String> unexpected;
    private final transient List<String> wrongShape;
    private final transient List<String> wrongDtype;

    WeightsException(String message, List<String> missing, List<String> unexpected, List<String> wrongShape,
                     List<String> wrongDtype) {
        super(message);
        this.missing = List.copyOf(missing);
        this.unexpected = List.copyOf(unexpected);
        this.wrongShape = List.copyOf(wrongShape);
        this.wrongDtype = List.copyOf(wrongDtype);
    }

    /** The names of the tensors the model needs that the weights lack. */
    public List<String> missing() {
        return missing;
    }

    /** The names of the tensors the weights have that the model does not use. */
    public List<String> unexpected() {
        return unexpected;
    }

    /** The names of the tensors whose shape differs from the model's. */
    public List<String> wrongShape() {
        return wrongShape;
    }

    /** The names of the tensors that are not F32. */
    public List<String> wrongDtype() {
        return wrongDtype;
    }
}
