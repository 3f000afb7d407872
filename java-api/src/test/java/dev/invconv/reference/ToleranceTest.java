package dev.invconv.reference;

import dev.invconv.Shape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ToleranceTest {

    @Test
    void operatorRuleScalesWithMagnitude() {
        double[] expected = {1, 2, 3};
        double[] magnitude = {10, 1000, 0};
        // Allowed: 1e-4 + 1e-6, 1e-2 + 1e-6, 1e-6.
        Tolerance.Report ok = Tolerance.check(new float[] {1.0001f, 2.009f, 3f}, expected, magnitude);
        assertTrue(ok.passed(), ok.toString());
        assertEquals(-1, ok.firstFailure());
        assertEquals(1, ok.maxErrorIndex());

        Tolerance.Report bad = Tolerance.check(new double[] {1.0002, 2.009, 3.00001}, expected, magnitude);
        assertFalse(bad.passed());
        assertEquals(2, bad.failures());
        assertEquals(0, bad.firstFailure());
        assertEquals(1.0002, bad.actual());
        assertEquals(1.0, bad.expected());
        assertEquals(1e-4 + 1e-6, bad.allowed(), 1e-18);
    }

    @Test
    void moduleRuleUsesTheLargestReference() {
        double[] expected = {-100, 0.5};
        assertEquals(1e-2 + 1e-6, Tolerance.moduleBound(expected), 1e-15);
        assertTrue(Tolerance.checkModule(new float[] {-100.009f, 0.509f}, expected).passed());
        Tolerance.Report report = Tolerance.checkModule(new double[] {-100, 0.52}, expected);
        assertFalse(report.passed());
        assertEquals(1, report.firstFailure());
    }

    @Test
    void nanAndInfinityFail() {
        Tolerance.Report report = Tolerance.check(new float[] {Float.NaN, 1}, new double[] {0, 1}, new double[] {1, 1});
        assertFalse(report.passed());
        assertEquals(Double.POSITIVE_INFINITY, report.maxError());
        assertEquals(0, report.maxErrorIndex());
        assertFalse(Tolerance.checkModule(new float[] {Float.POSITIVE_INFINITY}, new double[] {1}).passed());
    }

    @Test
    void describesPositionsInTheShape() {
        Shape shape = Shape.nchw(2, 3, 4, 5);
        double[] expected = new double[(int) shape.elementCount()];
        double[] actual = expected.clone();
        actual[((1 * 3 + 2) * 4 + 3) * 5 + 4] = 1; // [1, 2, 3, 4]
        Tolerance.Report report = Tolerance.checkModule(actual, expected);
        assertEquals("1 of 120 outputs out of tolerance; first failure at [1, 2, 3, 4]: actual 1.0 expected 0.0 "
                + "(allowed error 1.0E-6); max error 1.0 at [1, 2, 3, 4]", report.describe(shape));
        assertTrue(report.toString().contains("first failure at 119"), report.toString());
    }

    @Test
    void lengthsMustAgree() {
        assertThrows(IllegalArgumentException.class, () -> Tolerance.check(new float[2], new double[3], new double[3]));
        assertThrows(IllegalArgumentException.class, () -> Tolerance.check(new float[3], new double[3], new double[2]));
        assertThrows(IllegalArgumentException.class, () -> Tolerance.checkModule(new double[2], new double[3]));
    }
}
