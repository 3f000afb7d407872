package dev.invconv.cli.bench;

import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * A named list of cases for {@code invconv bench --suite NAME}. The cases are made on demand, so a
 * suite whose classes are heavy (models) costs nothing until it is chosen.
 *
 * @param name        the {@code --suite} value
 * @param description one line for {@code --list-suites} and the usage text
 * @param cases       makes the cases, in the order they run
 */
public record Suite(String name, String description, Supplier<List<? extends BenchCase>> cases) {

    public Suite {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(description, "description");
        Objects.requireNonNull(cases, "cases");
    }
}
