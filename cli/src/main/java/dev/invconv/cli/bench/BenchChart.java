package dev.invconv.cli.bench;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A PNG bar chart of the results, one panel per suite: for every case the native median and,
 * when measured ({@code --compare-java}), the plain-Java reference's, on one logarithmic
 * milliseconds axis, with the speed-up at the end of the row. Drawn with java.awt on a
 * {@link BufferedImage}; needs no display ({@code java.awt.headless} is set).
 */
public final class BenchChart {

    private static final Color NATIVE = new Color(0x1f77b4);
    private static final Color JAVA = new Color(0xff7f0e);
    private static final Color GRID = new Color(0xdddddd);
    private static final int WIDTH = 1200;
    private static final int LABEL_WIDTH = 330;
    private static final int RIGHT_MARGIN = 150;
    private static final int ROW = 26;

    private BenchChart() {}

    /** Draws the chart of {@code results} (in suite order) and writes it to {@code file} as PNG. */
    public static void write(List<BenchResult> results, String title, Path file) throws IOException {
        System.setProperty("java.awt.headless", "true");
        Map<String, List<BenchResult>> suites = new LinkedHashMap<>();
        for (BenchResult r : results) {
            suites.computeIfAbsent(r.suite(), s -> new ArrayList<>()).add(r);
        }
        double min = Double.POSITIVE_INFINITY;
        double max = 0;
        for (BenchResult r : results) {
            min = Math.min(min, r.timing().median());
            max = Math.max(max, r.java() == null ? r.timing().median() : r.java().median());
        }
        if (results.isEmpty()) {
            min = 0.1;
            max = 1;
        }
        int lo = (int) Math.floor(Math.log10(min));
        int hi = Math.max(lo + 1, (int) Math.ceil(Math.log10(max)));
        int top = 78;
        int height = top + suites.size() * 40 + results.size() * ROW + 50;

        BufferedImage image = new BufferedImage(WIDTH, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, height);
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
            g.drawString(title, 12, 24);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            boolean anyJava = results.stream().anyMatch(r -> r.java() != null);
            legend(g, 12, 46, NATIVE, "invconv native (median)");
            if (anyJava) {
                legend(g, 220, 46, JAVA, "plain-Java reference, float64 (median); xN = native speed-up");
            } else {
                g.setColor(Color.GRAY);
                g.drawString("plain Java not measured (run with --compare-java)", 220, 56);
            }

            int x0 = LABEL_WIDTH;
            int x1 = WIDTH - RIGHT_MARGIN;
            int y = top;
            FontMetrics fm = g.getFontMetrics();
            for (Map.Entry<String, List<BenchResult>> suite : suites.entrySet()) {
                y += 24;
                g.setColor(Color.BLACK);
                g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
                g.drawString(suite.getKey(), 12, y);
                g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
                int panelTop = y + 6;
                int panelBottom = panelTop + suite.getValue().size() * ROW;
                for (int d = lo; d <= hi; d++) { // decade grid with labels
                    int x = xOf(Math.pow(10, d), lo, hi, x0, x1);
                    g.setColor(GRID);
                    g.drawLine(x, panelTop, x, panelBottom);
                    g.setColor(Color.GRAY);
                    String label = decade(d);
                    g.drawString(label, x - fm.stringWidth(label) / 2, y);
                }
                int rowY = panelTop;
                for (BenchResult r : suite.getValue()) {
                    g.setColor(Color.BLACK);
                    g.drawString(clip(r.benchCase().name(), fm, LABEL_WIDTH - 20), 12, rowY + 16);
                    boolean two = r.java() != null;
                    int barH = two ? 9 : 14;
                    bar(g, NATIVE, x0, xOf(r.timing().median(), lo, hi, x0, x1), rowY + 4, barH);
                    String text = millis(r.timing().median());
                    if (two) {
                        int xj = xOf(r.java().median(), lo, hi, x0, x1);
                        bar(g, JAVA, x0, xj, rowY + 4 + barH + 1, barH);
                        text = String.format(Locale.ROOT, "%s / %s  x%.0f", text, millis(r.java().median()),
                                r.speedupOverJava());
                    }
                    g.setColor(Color.DARK_GRAY);
                    int xt = xOf(two ? r.java().median() : r.timing().median(), lo, hi, x0, x1) + 6;
                    g.drawString(text, Math.min(xt, WIDTH - fm.stringWidth(text) - 4), rowY + 16);
                    rowY += ROW;
                }
                g.setColor(Color.GRAY);
                g.setStroke(new BasicStroke(1));
                g.drawLine(x0, panelTop, x0, panelBottom);
                y = panelBottom + 10;
            }
            g.setColor(Color.GRAY);
            g.drawString("milliseconds per run, log scale; batch 1, fp32, NCHW; shorter is faster", 12, height - 16);
        } finally {
            g.dispose();
        }
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        if (!ImageIO.write(image, "png", file.toFile())) {
            throw new IOException("no PNG writer in this JVM");
        }
    }

    private static void legend(Graphics2D g, int x, int y, Color color, String text) {
        g.setColor(color);
        g.fillRect(x, y, 14, 12);
        g.setColor(Color.BLACK);
        g.drawString(text, x + 20, y + 11);
    }

    private static void bar(Graphics2D g, Color color, int x0, int x, int y, int h) {
        g.setColor(color);
        g.fillRect(x0, y, Math.max(1, x - x0), h);
    }

    private static int xOf(double millis, int lo, int hi, int x0, int x1) {
        double t = (Math.log10(Math.max(millis, Math.pow(10, lo))) - lo) / (hi - lo);
        return x0 + (int) Math.round(t * (x1 - x0));
    }

    /** An axis label: {@code 0.001 ms} ... {@code 100 ms}, {@code 1 s}, {@code 10 s}. */
    static String decade(int exponent) {
        return exponent >= 3 ? java.math.BigDecimal.ONE.scaleByPowerOfTen(exponent - 3).toPlainString() + " s"
                : java.math.BigDecimal.ONE.scaleByPowerOfTen(exponent).toPlainString() + " ms";
    }

    static String millis(double ms) {
        if (ms >= 1000) {
            return String.format(Locale.ROOT, "%.3g s", ms / 1000);
        }
        return (ms >= 1 ? String.format(Locale.ROOT, "%.3g", ms) : String.format(Locale.ROOT, "%.2g", ms)) + " ms";
    }

    private static String clip(String text, FontMetrics fm, int width) {
        if (fm.stringWidth(text) <= width) {
            return text;
        }
        String s = text;
        while (s.length() > 1 && fm.stringWidth(s + "...") > width) {
            s = s.substring(0, s.length() - 1);
        }
        return s + "...";
    }
}
