package dev.invconv.cli;

import dev.invconv.model.Models;
import dev.invconv.model.Summary;

import java.io.PrintStream;

/** {@code invconv info --model NAME}: a model's layers, parameter count and MACs at 224×224. */
final class ModelInfo {

    private ModelInfo() {}

    /** The value of {@code --model} among the arguments, or null if there is none. */
    static String model(String[] arguments) {
        for (int i = 0; i < arguments.length; i++) {
            if (arguments[i].equals("--model")) {
                if (i + 1 >= arguments.length) {
                    throw new IllegalArgumentException("--model needs a value (one of " + String.join(", ", Models.NAMES) + ")");
                }
                return arguments[i + 1];
            }
            if (arguments[i].startsWith("--model=")) {
                return arguments[i].substring("--model=".length());
            }
        }
        return null;
    }

    static int run(String model, PrintStream out) {
        Summary summary = Summary.of(Models.architecture(model), Models.imagenetInput(1));
        out.print(summary.format());
        return 0;
    }
}
