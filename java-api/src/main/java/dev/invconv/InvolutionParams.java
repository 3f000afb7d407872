package dev.invconv;

/**
 * The hyper-parameters of the involution aggregation, field for field those of the C API's
 * {@code ic_involution_params_t} (SPEC §3.2, official d-li14/involution semantics). With
 * {@code K} the kernel size, {@code G = channels / groupChannels} and
 * {@code p = (K − 1) / 2 · dilation}:
 * <pre>
 * y[n,c,i,j] = Σ_{kh,kw} k[n, g(c)·K·K + kh·K + kw, i, j] · x[n, c, i·s − p + kh·d, j·s − p + kw·d]
 * </pre>
 * where {@code g(c) = c / groupChannels}: one {@code K×K} kernel per (sample, group, output
 * pixel), shared by the group's consecutive channels. No bias.
 *
 * @param channels      input and output channels
 * @param kernelSize    {@code K}, odd
 * @param stride        stride along both axes
 * @param dilation      spacing of kernel taps; 1 in the official code
 * @param groupChannels channels sharing one kernel; official default 16
 */
public record InvolutionParams(long channels, long kernelSize, long stride, long dilation, long groupChannels) {

    private static final String OP = "involution";

    /**
     * Validates the parameters.
     *
     * @throws IllegalArgumentException naming the first invalid parameter, e.g.
     *                                  "involution: kernel_size=4 must be odd"
     */
    public InvolutionParams {
        Checks.involution(OP, channels, kernelSize, stride, dilation, groupChannels);
    }

    /** The number of kernel groups {@code G = channels / groupChannels}. */
    public long groups() {
        return channels / groupChannels;
    }

    /** The padding on every side, {@code (K − 1) / 2 · dilation}. */
    public long padding() {
        return (kernelSize - 1) / 2 * dilation;
    }

    /**
     * The output shape for an input of shape {@code input}:
     * {@code out = floor((in + 2p − ((K − 1)·d + 1)) / s) + 1 = floor((in − 1) / s) + 1}.
     *
     * @throws IllegalArgumentException if the input does not have {@code channels} channels
     */
    public Shape outputShape(Shape input) {
        Checks.inputChannels(OP, input, "channels", channels);
        return new Shape(input.n(), channels, (input.h() - 1) / stride + 1, (input.w() - 1) / stride + 1);
    }

    /** The shape of the kernels the aggregation takes, {@code [N, G·K·K, outH, outW]}. */
    public Shape kernelsShape(Shape input) {
        Shape out = outputShape(input);
        return new Shape(input.n(), groups() * kernelSize * kernelSize, out.h(), out.w());
    }
}
