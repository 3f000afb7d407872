package dev.invconv;

import dev.invconv.reference.Result;
import dev.invconv.reference.Tolerance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Assertions comparing a native operator's float32 output (logical NCHW order) with the
 * plain-Java float64 reference; every message starts with the case's problem string.
 */
public final class ReferenceAssertions {

    private ReferenceAssertions() {}

    /** The operator rule of SPEC §3: {@code |y − ref| <= 1e-5 · m + 1e-6} for every output. */
    public static void assertWithinTolerance(String problem, Result expected, float[] actual) {
        assertEquals(expected.shape().elementCount(), actual.length, problem + ": output length");
        Tolerance.Report report = Tolerance.check(actual, expected.values(), expected.magnitude());
        assertTrue(report.passed(), () -> problem + ": " + report.describe(expected.shape()));
    }

    /** The module rule of SPEC §8: {@code |y − ref| <= 1e-4 · max|ref| + 1e-6} for every output. */
    public static void assertWithinModuleTolerance(String problem, Result expected, float[] actual) {
        assertEquals(expected.shape().elementCount(), actual.length, problem + ": output length");
        Tolerance.Report report = Tolerance.checkModule(actual, expected.values());
        assertTrue(report.passed(), () -> problem + ": " + report.describe(expected.shape()));
    }

    /** Bit equality with the reference rounded to float32 (for exact, small-integer data). */
    public static void assertExact(String problem, Result expected, float[] actual) {
        assertBitIdentical(problem + " vs the reference", expected.shape(), expected.toFloatArray(), actual);
    }

    /** Bit equality of two float32 outputs of {@code shape} (logical NCHW order). */
    public static void assertBitIdentical(String problem, Shape shape, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, problem + ": output length");
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                fail(problem + ": first difference at " + position(shape, i) + ": expected " + expected[i]
                        + " but was " + actual[i]);
            }
        }
    }

    /** {@code [n, c, h, w]} of a logical NCHW index. */
    private static String position(Shape shape, long index) {
        long w = index % shape.w();
        long h = index / shape.w() % shape.h();
        long c = index / (shape.w() * shape.h()) % shape.c();
        long n = index / (shape.w() * shape.h() * shape.c());
        return "[" + n + ", " + c + ", " + h + ", " + w + "]";
    }
}
