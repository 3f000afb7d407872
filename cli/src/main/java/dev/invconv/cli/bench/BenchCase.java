package dev.invconv.cli.bench;

import dev.invconv.Context;
import dev.invconv.Shape;

/**
 * One thing {@code invconv bench} times: an operator on one shape, or (suite {@code models}) a
 * whole network. A case knows its size and FLOPs; {@link #prepare} builds it (operators, packed
 * weights, seeded random data) so that {@link Prepared#run()} is exactly the timed work.
 *
 * <p>To add a suite, implement this (or reuse {@link OperatorCase}) and add one line to
 * {@link Suites}.
 */
public interface BenchCase {

    /** The canonical name: a problem string such as {@code mb1ic64ih56oc64kh3sh1ph1}, or e.g. {@code resnet50_mb1ih224}. */
    String name();

    /** The operator ({@code conv2d}, {@code depthwise_conv2d}, ..., {@code involution2d}) or {@code model}. */
    String op();

    /** The input's shape. */
    Shape input();

    /** Output channels (the classes of a model). */
    long outChannels();

    /** Kernel size, or 0 when it does not apply (a model). */
    long kernel();

    /** Stride, or 0 when it does not apply. */
    long stride();

    /** Groups, or 0 when it does not apply. */
    long groups();

    /** Floating-point operations of one run (2 per multiply-add). */
    double flops();

    /** The least memory traffic of one run in bytes, or 0 if not meaningful. */
    default double bytes() {
        return 0;
    }

    /**
     * Whether the case is memory-bound by nature (depthwise), so judged by % of the memory
     * bandwidth rather than of the fp32 peak; false by default.
     */
    default boolean memoryBound() {
        return false;
    }

    /** How often this layer occurs in its network (weights the suite total); 1 by default. */
    default int count() {
        return 1;
    }

    /** A target median in milliseconds (the targets), or NaN for none. */
    default double targetMs() {
        return Double.NaN;
    }

    /** A short shape description for the table. */
    String shapeText();

    /**
     * The case the self-check runs when the full-size plain-Java path is not timed: a smaller
     * picture of the same operator (the float64 reference is slow). By default the case itself.
     */
    default BenchCase checkVariant() {
        return this;
    }

    /**
     * Builds the case: operators, packed weights, input and output, all from {@code seed}.
     * Nothing is allocated by {@link Prepared#run()}.
     */
    Prepared prepare(Context context, long seed);

    /** A built case. */
    interface Prepared extends AutoCloseable {

        /** The native kernel(s) chosen, e.g. {@code f32_conv2d_direct__avx512}. */
        String kernelName();

        /** One native run into the case's output: the timed work. */
        void run();

        /** Whether there is a plain-Java path to time and to check against. */
        default boolean hasJava() {
            return true;
        }

        /** One run of the plain-Java path (the float64 reference) on the same data; keeps its result. */
        void runJava();

        /**
         * Compares the output of the last {@link #run()} with the plain-Java result (computing it
         * first if {@link #runJava()} has not run) under the SPEC tolerance.
         */
        Verdict check();

        @Override
        void close();
    }

    /**
     * The outcome of a self-check.
     *
     * @param passed   within the SPEC tolerance
     * @param maxError the largest absolute difference
     * @param detail   a one-line description (what failed where)
     */
    record Verdict(boolean passed, double maxError, String detail) {}
}
