package dev.invconv;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The instruction-set levels the native-operator tests cover (STYLE §5): every level up to the
 * one active when the tests start — the CPU's best, unless {@code INVCONV_MAX_ISA} lowers it —
 * so one JVM tests the AVX-512, AVX2 and scalar kernels alike.
 *
 * <p>The limit applies to operators built after it is set, so tests build under
 * {@link #build} and run whenever they like. Tests run one at a time (no parallel JUnit), and
 * {@code build} restores the starting limit before it returns.
 */
public final class IsaLevels {

    private static final Isa TOP = Invconv.activeIsa();

    private IsaLevels() {}

    /** The level active when the tests started: the default for operators built outside {@link #build}. */
    public static Isa top() {
        return TOP;
    }

    /** Every level from SCALAR up to {@link #top()}, lowest first. */
    public static List<Isa> all() {
        List<Isa> levels = new ArrayList<>();
        for (Isa isa : Isa.values()) {
            if (isa.compareTo(TOP) <= 0) {
                levels.add(isa);
            }
        }
        return levels;
    }

    /** The level for the {@code index}-th of a series of cases: round robin over {@link #all()}, top first. */
    public static Isa cycle(int index) {
        List<Isa> levels = all();
        return levels.get(levels.size() - 1 - index % levels.size());
    }

    /** Calls {@code build} with the ISA limit lowered to {@code isa}, then restores the starting limit. */
    public static synchronized <T> T build(Isa isa, Supplier<T> build) {
        if (isa.compareTo(TOP) > 0) {
            throw new IllegalArgumentException("isa " + isa + " is above the level the tests run at, " + TOP);
        }
        Invconv.setMaxIsa(isa);
        try {
            return build.get();
        } finally {
            Invconv.setMaxIsa(TOP);
        }
    }

    /** {@code isa=avx2}, for problem strings. */
    public static String describe(Isa isa) {
        return "isa=" + isa.name().toLowerCase(Locale.ROOT);
    }

    /**
     * The ISA a kernel name says after its double underscore; for chained kernels
     * ({@code a__avx512+b__scalar}) the highest of them.
     */
    public static Isa of(String kernelName) {
        Isa highest = Isa.SCALAR;
        for (String part : kernelName.split("\\+")) {
            int at = part.lastIndexOf("__");
            if (at < 0) {
                throw new IllegalArgumentException("kernel name " + part + " has no __<isa> suffix");
            }
            Isa isa = Isa.valueOf(part.substring(at + 2).toUpperCase(Locale.ROOT));
            highest = isa.compareTo(highest) > 0 ? isa : highest;
        }
        return highest;
    }
}
