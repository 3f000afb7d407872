package dev.invconv;

/** The activation an operator may apply to its output, fused into the kernel. */
public enum Activation {
    /** Identity ({@code ic_activation_t} 0). */
    NONE(0),
    /** {@code max(x, 0)} ({@code ic_activation_t} 1). */
    RELU(1),
    /** {@code min(max(x, 0), 6)}, as in MobileNet ({@code ic_activation_t} 2). */
    RELU6(2);

    private final int nativeValue;

    Activation(int nativeValue) {
        this.nativeValue = nativeValue;
    }

    /** The matching {@code ic_activation_t} value of the C API. */
    public int nativeValue() {
        return nativeValue;
    }

    /** Applies the activation to one value; NaN stays NaN. */
    public double apply(double x) {
        return switch (this) {
            case NONE -> x;
            case RELU -> Math.max(x, 0);
            case RELU6 -> Math.min(Math.max(x, 0), 6);
        };
    }
}
