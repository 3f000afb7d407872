package dev.invconv.reference;

import dev.invconv.Shape;

import java.util.function.IntToDoubleFunction;

/**
 * The accuracy rules of SPEC §3 and §8, for comparing an implementation's output with a
 * float64 reference:
 * <ul>
 *   <li>operators: {@code |y − ref| <= 1e-5 · m + 1e-6}, with {@code m} the magnitude behind
 *       each output ({@link #check});</li>
 *   <li>modules (no magnitude): {@code |y − ref| <= 1e-4 · max|ref| + 1e-6} ({@link #checkModule}).</li>
 * </ul>
 * NaN or infinite outputs always fail. All arrays are in the same (logical NCHW) order.
 */
public final class Tolerance {

    /** Relative tolerance of an operator output, per unit of magnitude. */
    public static final double OPERATOR_RELATIVE = 1e-5;
    /** Relative tolerance of a module output, per unit of the largest reference value. */
    public static final double MODULE_RELATIVE = 1e-4;
    /** Absolute tolerance added to both. */
    public static final double ABSOLUTE = 1e-6;

    private Tolerance() {}

    /** Checks float32 operator outputs against the reference and its magnitudes. */
    public static Report check(float[] actual, double[] expected, double[] magnitude) {
        requireSameLength(actual.length, expected.length);
        requireSameLength(magnitude.length, expected.length);
        return compare(i -> actual[i], expected, i -> OPERATOR_RELATIVE * magnitude[i] + ABSOLUTE);
    }

    /** Checks float64 operator outputs (such as another reference's) against the reference. */
    public static Report check(double[] actual, double[] expected, double[] magnitude) {
        requireSameLength(actual.length, expected.length);
        requireSameLength(magnitude.length, expected.length);
        return compare(i -> actual[i], expected, i -> OPERATOR_RELATIVE * magnitude[i] + ABSOLUTE);
    }

    /** Checks float32 module outputs against the reference. */
    public static Report checkModule(float[] actual, double[] expected) {
        requireSameLength(actual.length, expected.length);
        double bound = moduleBound(expected);
        return compare(i -> actual[i], expected, i -> bound);
    }

    /** Checks float64 module outputs against the reference. */
    public static Report checkModule(double[] actual, double[] expected) {
        requireSameLength(actual.length, expected.length);
        double bound = moduleBound(expected);
        return compare(i -> actual[i], expected, i -> bound);
    }

    /** The module rule's bound, {@code 1e-4 · max|ref| + 1e-6}. */
    public static double moduleBound(double[] expected) {
        double max = 0;
        for (double value : expected) {
            max = Math.max(max, Math.abs(value));
        }
        return MODULE_RELATIVE * max + ABSOLUTE;
    }

    private static Report compare(IntToDoubleFunction actual, double[] expected, IntToDoubleFunction allowed) {
        int failures = 0;
        int firstFailure = -1;
        int worst = -1;
        double maxError = 0;
        for (int i = 0; i < expected.length; i++) {
            double error = Math.abs(actual.applyAsDouble(i) - expected[i]);
            if (Double.isNaN(error)) {
                error = Double.POSITIVE_INFINITY; // ranks a NaN output as the worst
            }
            if (worst < 0 || error > maxError) {
                maxError = error;
                worst = i;
            }
            if (!(error <= allowed.applyAsDouble(i))) {
                failures++;
                if (firstFailure < 0) {
                    firstFailure = i;
                }
            }
        }
        int shown = firstFailure >= 0 ? firstFailure : worst;
        return new Report(expected.length, failures, maxError, worst, firstFailure,
                shown < 0 ? 0 : actual.applyAsDouble(shown), shown < 0 ? 0 : expected[shown],
                shown < 0 ? 0 : allowed.applyAsDouble(shown));
    }

    private static void requireSameLength(int length, int expected) {
        if (length != expected) {
            throw new IllegalArgumentException("tolerance: " + length + " values to compare with "
                    + expected + " expected values");
        }
    }

    /**
     * The outcome of a comparison.
     *
     * @param count         outputs compared
     * @param failures      outputs outside the tolerance
     * @param maxError      the largest {@code |y − ref|} (infinite for a NaN output)
     * @param maxErrorIndex where it occurs (-1 if nothing was compared)
     * @param firstFailure  the first output outside the tolerance, -1 if none
     * @param actual        the output at {@code firstFailure}, else at {@code maxErrorIndex}
     * @param expected      the reference there
     * @param allowed       the tolerance there
     */
    public record Report(int count, int failures, double maxError, int maxErrorIndex, int firstFailure,
                         double actual, double expected, double allowed) {

        /** Whether every output is within the tolerance. */
        public boolean passed() {
            return failures == 0;
        }

        /** A one-line summary, indices flattened. */
        @Override
        public String toString() {
            return describe(null);
        }

        /** A one-line summary, with indices as {@code [n, c, h, w]} of {@code shape} (when not null). */
        public String describe(Shape shape) {
            String where = firstFailure >= 0 ? "first failure at " + position(firstFailure, shape)
                    : "worst at " + position(maxErrorIndex, shape);
            return (passed() ? "passed" : failures + " of " + count + " outputs out of tolerance") + "; " + where
                    + ": actual " + actual + " expected " + expected + " (allowed error " + allowed + "); max error "
                    + maxError + " at " + position(maxErrorIndex, shape);
        }

        private static String position(int index, Shape shape) {
            if (shape == null || index < 0) {
                return String.valueOf(index);
            }
            long w = index % shape.w();
            long h = index / shape.w() % shape.h();
            long c = index / (shape.w() * shape.h()) % shape.c();
            long n = index / (shape.w() * shape.h() * shape.c());
            return "[" + n + ", " + c + ", " + h + ", " + w + "]";
        }
    }
}
