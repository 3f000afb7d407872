package dev.invconv.model;

import dev.invconv.Shape;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A model summary for one input shape, like torchinfo's: one row per operator outside the
 * residual blocks and one per residual block, with output shape, parameters and MACs.
 *
 * @param layer  the model
 * @param input  the input shape
 * @param rows   the rows, in execution order
 * @param output the model's output shape
 */
public record Summary(Layer layer, Shape input, List<Row> rows, Shape output) {

    /**
     * One row.
     *
     * @param name        module path
     * @param description what it computes
     * @param output      output shape
     * @param parameters  trainable parameters (as PyTorch counts)
     * @param macs        multiply-accumulates
     */
    public record Row(String name, String description, Shape output, long parameters, long macs) {}

    /** Summarises {@code layer} for an input of {@code input}. */
    public static Summary of(Layer layer, Shape input) {
        List<Row> rows = new ArrayList<>();
        Shape output = add(rows, layer, input);
        return new Summary(layer, input, List.copyOf(rows), output);
    }

    private static Shape add(List<Row> rows, Layer layer, Shape input) {
        if (layer instanceof Layer.Sequential s) {
            Shape shape = input;
            for (Layer child : s.layers()) {
                shape = add(rows, child, shape);
            }
            return shape;
        }
        Shape output = layer.outputShape(input);
        rows.add(new Row(layer.name(), layer.describe(), output, layer.parameterCount(), layer.macs(input)));
        return output;
    }

    /** The trainable parameters of the whole model. */
    public long parameters() {
        return layer.parameterCount();
    }

    /** The multiply-accumulates of the whole model. */
    public long macs() {
        return layer.macs(input);
    }

    /** The table, then the totals, e.g. {@code 9,233,166 parameters (9.23M), 1.73 GMACs}. */
    public String format() {
        int width = Math.max(5, rows.stream().mapToInt(r -> r.name().length()).max().orElse(5));
        String row = "%-" + width + "s  %-44s  %-20s  %11s  %9s%n";
        StringBuilder table = new StringBuilder();
        table.append(String.format(Locale.ROOT, row, "layer", "operation", "output", "parameters", "MMACs"));
        for (Row r : rows) {
            table.append(String.format(Locale.ROOT, row, r.name(), r.description(), r.output(),
                    String.format(Locale.ROOT, "%,d", r.parameters()),
                    String.format(Locale.ROOT, "%.1f", r.macs() / 1e6)));
        }
        table.append(String.format(Locale.ROOT, "%s: %,d parameters (%.2fM), %.2f GMACs for input %s → %s%n",
                layer.name(), parameters(), parameters() / 1e6, macs() / 1e9, input, output));
        return table.toString();
    }
}
