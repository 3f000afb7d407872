package dev.invconv.model;

/**
 * Inference BatchNorm folded into what precedes it, computed in double and rounded once:
 * with {@code scale = γ / √(var + ε)},
 * <pre>
 * w'[o, …] = w[o, …] · scale[o]
 * b'[o]    = β[o] − mean[o] · scale[o] + bias[o] · scale[o]
 * </pre>
 * so that {@code conv'(x) = BN(conv(x))} exactly up to rounding.
 */
final class BatchNormFolding {

    private BatchNormFolding() {}

    /** The per-channel {@code scale} and {@code shift} of an inference BatchNorm. */
    record Affine(double[] scale, double[] shift) {

        static Affine of(float[] gamma, float[] beta, float[] mean, float[] var, double epsilon) {
            int channels = gamma.length;
            double[] scale = new double[channels];
            double[] shift = new double[channels];
            for (int c = 0; c < channels; c++) {
                scale[c] = gamma[c] / Math.sqrt((double) var[c] + epsilon);
                shift[c] = beta[c] - mean[c] * scale[c];
            }
            return new Affine(scale, shift);
        }

        float[] scaleFloats() {
            return round(scale);
        }

        float[] shiftFloats() {
            return round(shift);
        }
    }

    /**
     * Folds the affine into convolution weights {@code [out, …]} and an optional bias.
     *
     * @return {@code {weights', bias'}}
     */
    static float[][] intoConv(Affine affine, float[] weights, float[] bias) {
        int out = affine.scale().length;
        int perChannel = weights.length / out;
        float[] folded = new float[weights.length];
        for (int o = 0; o < out; o++) {
            double scale = affine.scale()[o];
            for (int i = o * perChannel; i < (o + 1) * perChannel; i++) {
                folded[i] = (float) (weights[i] * scale);
            }
        }
        float[] foldedBias = new float[out];
        for (int o = 0; o < out; o++) {
            foldedBias[o] = (float) (affine.shift()[o] + (bias == null ? 0 : bias[o] * affine.scale()[o]));
        }
        return new float[][] {folded, foldedBias};
    }

    private static float[] round(double[] values) {
        float[] rounded = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            rounded[i] = (float) values[i];
        }
        return rounded;
    }
}
