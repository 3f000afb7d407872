package dev.invconv.cli.bench;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One operator case as a canonical problem string (STYLE §11), in oneDNN benchdnn's style:
 * <pre>
 * mb1ic64ih56oc64kh3sh1ph1          conv2d 3×3, 64→64, 56×56, stride 1, padding 1
 * mb1ic256ih56oc64kh1sh1ph0         pointwise (1×1, stride 1, no padding, no groups)
 * g32mb1ic32ih112oc32kh3sh1ph1      depthwise (groups = in = out channels)
 * sep_mb1ic32ih112oc16kh3sh1ph1     separable: depthwise 3×3 on 32 channels, then pointwise 32→16
 * inv_mb1ic64ih56kh7sh1gc16r4       involution2d (official module, kernel generation included)
 * </pre>
 * {@code iw}, {@code kw}, {@code sw}, {@code pw} are written only when they differ from their
 * {@code h} twin; {@code g}, {@code dm} (depth multiplier) only when not 1. The oneDNN and PyTorch
 * peers ({@code benchmarks/peers}) parse the same strings, so every tool names a case alike.
 *
 * @param op  the operator
 * @param n   batch
 * @param c   input channels
 * @param h   input height
 * @param w   input width
 * @param oc  output channels (for involution: = c)
 * @param kh  kernel height (involution: K)
 * @param kw  kernel width
 * @param sh  stride
 * @param sw  stride
 * @param ph  padding, top and bottom (involution: (K-1)/2, implied)
 * @param pw  padding, left and right
 * @param g   groups (conv2d and depthwise)
 * @param dm  depth multiplier (separable)
 * @param gc  channels per involution group
 * @param r   involution reduction ratio
 */
public record Problem(Op op, long n, long c, long h, long w, long oc, long kh, long kw, long sh, long sw,
                      long ph, long pw, long g, long dm, long gc, long r) {

    /** The operators a problem string can describe. */
    public enum Op {
        CONV2D("conv2d"), DEPTHWISE("depthwise_conv2d"), POINTWISE("pointwise_conv2d"),
        SEPARABLE("separable_conv2d"), INVOLUTION2D("involution2d");

        private final String label;

        Op(String label) {
            this.label = label;
        }

        /** The name used in JSON and tables, e.g. {@code depthwise_conv2d}. */
        public String label() {
            return label;
        }
    }

    private static final Pattern FIELD = Pattern.compile("([a-z]+)(\\d+)");

    public Problem {
        if (n < 1 || c < 1 || h < 1 || w < 1 || oc < 1 || kh < 1 || kw < 1 || sh < 1 || sw < 1
                || ph < 0 || pw < 0 || g < 1 || dm < 1 || gc < 1 || r < 1) {
            throw new IllegalArgumentException("problem: every size must be >= 1 (padding >= 0)");
        }
    }

    /** A plain, grouped or depthwise convolution (classified by {@link #conv}). */
    public static Problem conv(long n, long c, long h, long oc, long k, long s, long p) {
        return conv(n, c, h, oc, k, s, p, 1);
    }

    /** A convolution with groups; depthwise when {@code g == c == oc}, pointwise when 1×1/s1/p0/g1. */
    public static Problem conv(long n, long c, long h, long oc, long k, long s, long p, long g) {
        Op op = g == c && oc == c && g > 1 ? Op.DEPTHWISE
                : k == 1 && s == 1 && p == 0 && g == 1 ? Op.POINTWISE : Op.CONV2D;
        return new Problem(op, n, c, h, h, oc, k, k, s, s, p, p, g, 1, 16, 4);
    }

    /** A depthwise 3×3-style convolution on {@code c} channels. */
    public static Problem depthwise(long n, long c, long h, long k, long s, long p) {
        return conv(n, c, h, c, k, s, p, c);
    }

    /** Depthwise {@code k×k} on {@code c} channels with stride {@code s}, then pointwise {@code c → oc}. */
    public static Problem separable(long n, long c, long h, long oc, long k, long s, long p) {
        return new Problem(Op.SEPARABLE, n, c, h, h, oc, k, k, s, s, p, p, 1, 1, 16, 4);
    }

    /** The official involution module: {@code K×K}, 16 channels per group, reduction ratio 4. */
    public static Problem involution(long n, long c, long h, long k, long s) {
        return new Problem(Op.INVOLUTION2D, n, c, h, h, c, k, k, s, s, (k - 1) / 2, (k - 1) / 2, 1, 1, 16, 4);
    }

    /**
     * Parses a problem string (see the class comment). Omitted fields default as in benchdnn:
     * {@code mb1}, {@code sh1}, {@code ph0}; {@code iw = ih}, {@code kw = kh}, {@code sw = sh},
     * {@code pw = ph}.
     *
     * @throws IllegalArgumentException naming the problem string and what is wrong with it
     */
    public static Problem parse(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        Op op = null;
        if (s.startsWith("sep_")) {
            op = Op.SEPARABLE;
            s = s.substring(4);
        } else if (s.startsWith("inv_")) {
            op = Op.INVOLUTION2D;
            s = s.substring(4);
        }
        Map<String, Long> f = new LinkedHashMap<>();
        Matcher m = FIELD.matcher(s);
        int at = 0;
        while (at < s.length()) {
            if (!m.find(at) || m.start() != at) {
                throw new IllegalArgumentException("problem '" + text + "': cannot read from '" + s.substring(at)
                        + "' (expected fields like mb1ic64ih56oc64kh3sh1ph1)");
            }
            String key = m.group(1);
            if (!java.util.Set.of("g", "mb", "ic", "ih", "iw", "oc", "kh", "kw", "sh", "sw", "ph", "pw", "dm", "gc", "r")
                    .contains(key)) {
                throw new IllegalArgumentException("problem '" + text + "': unknown field '" + key + "'");
            }
            if (f.put(key, Long.parseLong(m.group(2))) != null) {
                throw new IllegalArgumentException("problem '" + text + "': field '" + key + "' given twice");
            }
            at = m.end();
        }
        for (String required : op == Op.INVOLUTION2D ? new String[] {"ic", "ih", "kh"} : new String[] {"ic", "ih", "oc", "kh"}) {
            if (!f.containsKey(required)) {
                throw new IllegalArgumentException("problem '" + text + "': field '" + required + "' is missing");
            }
        }
        long c = f.get("ic");
        long ih = f.get("ih");
        long kh = f.get("kh");
        long sh = f.getOrDefault("sh", 1L);
        long g = f.getOrDefault("g", 1L);
        if (op == null) {
            long oc = f.get("oc");
            long ph = f.getOrDefault("ph", 0L);
            op = g == c && oc == c && g > 1 ? Op.DEPTHWISE
                    : kh == 1 && f.getOrDefault("kw", 1L) == 1 && sh == 1 && f.getOrDefault("sw", 1L) == 1
                      && ph == 0 && f.getOrDefault("pw", 0L) == 0 && g == 1 ? Op.POINTWISE : Op.CONV2D;
        }
        long defaultPad = op == Op.INVOLUTION2D ? (kh - 1) / 2 : 0;
        long ph = f.getOrDefault("ph", defaultPad);
        Problem p = new Problem(op, f.getOrDefault("mb", 1L), c, ih, f.getOrDefault("iw", ih),
                op == Op.INVOLUTION2D ? c : f.get("oc"), kh, f.getOrDefault("kw", kh), sh, f.getOrDefault("sw", sh),
                ph, f.getOrDefault("pw", ph), g, f.getOrDefault("dm", 1L), f.getOrDefault("gc", 16L),
                f.getOrDefault("r", 4L));
        if (op == Op.INVOLUTION2D && (p.kh != p.kw || p.sh != p.sw || p.ph != defaultPad || p.pw != defaultPad)) {
            throw new IllegalArgumentException("problem '" + text
                    + "': involution has a square kernel, one stride and padding (K-1)/2");
        }
        if (p.outH() < 1 || p.outW() < 1) {
            throw new IllegalArgumentException("problem '" + text + "': the kernel does not fit the padded input");
        }
        return p;
    }

    /** The canonical string; {@code parse(p.toString()).equals(p)}. */
    @Override
    public String toString() {
        StringBuilder s = new StringBuilder();
        switch (op) {
            case SEPARABLE -> s.append("sep_");
            case INVOLUTION2D -> s.append("inv_");
            default -> {
                if (g != 1) {
                    s.append('g').append(g);
                }
            }
        }
        s.append("mb").append(n).append("ic").append(c).append("ih").append(h);
        if (w != h) {
            s.append("iw").append(w);
        }
        if (op != Op.INVOLUTION2D) {
            s.append("oc").append(oc);
        }
        s.append("kh").append(kh);
        if (kw != kh) {
            s.append("kw").append(kw);
        }
        s.append("sh").append(sh);
        if (sw != sh) {
            s.append("sw").append(sw);
        }
        if (op == Op.INVOLUTION2D) {
            return s.append("gc").append(gc).append('r').append(r).toString();
        }
        s.append("ph").append(ph);
        if (pw != ph) {
            s.append("pw").append(pw);
        }
        if (dm != 1) {
            s.append("dm").append(dm);
        }
        return s.toString();
    }

    public long outH() {
        return Math.floorDiv(h + 2 * ph - kh, sh) + 1;
    }

    public long outW() {
        return Math.floorDiv(w + 2 * pw - kw, sw) + 1;
    }

    /** Floating-point operations of one run, 2 per multiply-add; bias, activation and pooling not counted. */
    public double flops() {
        double pixels = (double) n * outH() * outW();
        return switch (op) {
            case CONV2D, DEPTHWISE, POINTWISE -> 2 * pixels * oc * (c / g) * kh * kw;
            case SEPARABLE -> 2 * pixels * (c * dm * kh * kw + c * dm * oc);
            case INVOLUTION2D -> {
                double reduced = c / r;
                double span = kh * kh * (c / gc);
                yield 2 * pixels * (c * reduced + reduced * span + c * kh * kh);
            }
        };
    }

    /**
     * The least memory traffic of one run in bytes: input, weights and output read or written once
     * (float32). Involution's generated kernels are not counted (the library never stores them).
     */
    public double bytes() {
        double in = (double) n * c * h * w;
        double out = (double) n * oc * outH() * outW();
        double weights = switch (op) {
            case CONV2D, DEPTHWISE, POINTWISE -> (double) oc * (c / g) * kh * kw + oc;
            case SEPARABLE -> (double) c * dm * kh * kw + c * dm + (double) oc * c * dm + oc;
            case INVOLUTION2D -> {
                double reduced = c / r;
                double span = kh * kh * (c / gc);
                yield c * reduced + 4 * reduced + reduced * span + span;
            }
        };
        return 4 * (in + out + weights);
    }

    /**
     * The same operator on a smaller picture, for the self-check against the float64 reference:
     * channels, kernel, stride and padding kept, height and width cut to at most 12 (kept a
     * multiple of the stride, as involution's pooling needs).
     */
    public Problem smallVariant() {
        long small = Math.max(12 / sh * sh, Math.max(kh, kw));
        if (h <= small && w <= small) {
            return this;
        }
        return new Problem(op, n, c, Math.min(h, small), Math.min(w, small), oc, kh, kw, sh, sw, ph, pw, g, dm, gc, r);
    }

    /** The short shape for tables, e.g. {@code 64x56x56 -> 64x56x56 k3 s1}. */
    public String shapeText() {
        String batch = n == 1 ? "" : n + "x";
        return batch + c + "x" + h + "x" + w + " -> " + oc + "x" + outH() + "x" + outW() + " k" + kh
                + (kw != kh ? "x" + kw : "") + " s" + sh + (g != 1 ? " g" + g : "");
    }
}
