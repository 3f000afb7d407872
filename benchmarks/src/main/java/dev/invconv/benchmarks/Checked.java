package dev.invconv.benchmarks;

import dev.invconv.Context;
import dev.invconv.cli.bench.BenchCase;

/** Benchmarks check their own results (STYLE §13): setup helpers that refuse a wrong output. */
final class Checked {

    private Checked() {}

    /**
     * Checks the case's small variant against the float64 reference, then prepares the case
     * itself. Throws (failing the JMH trial) when the check fails.
     */
    static BenchCase.Prepared prepare(BenchCase benchCase, Context context) {
        BenchCase small = benchCase.checkVariant();
        try (BenchCase.Prepared p = small.prepare(context, 7)) {
            p.run();
            BenchCase.Verdict verdict = p.check();
            if (!verdict.passed()) {
                throw new IllegalStateException(small.name() + " failed its self-check: " + verdict.detail());
            }
        }
        return benchCase.prepare(context, 42);
    }
}
