/*
 * f32-maxpool2d-impl.h — the body of the SIMD max pooling kernels, included once by each ISA's
 * file after its macros (f32-pool2d-taps.h lists the ones of the tap loads):
 *
 *   IC_VSET1(x)
 *   IC_VLOADN(p, n), IC_VSTOREN(p, v, n)   the first n lanes (0 < n <= IC_B; loads zero the rest)
 *   IC_VLOADZ(p, mask)                     the mask's lanes from p (others: anything)
 *   IC_VFOLD(best, v)                      (v > best || isnan(v)) ? v : best, per lane
 *   IC_VFOLD_MASK(best, v, mask, fill)     the same on the mask's lanes; the others keep best
 *   IC_VMAX(best, v)                       v > best ? v : best (vmaxps v, best)
 *   IC_VMAX_MASK(best, v, mask, fill)      the same on the mask's lanes
 *   IC_ODD(a, b)                           the odd lanes of the 2 * IC_B floats a:b
 *   IC_SHIFT_T, IC_SHIFT_MAKE(m), IC_SHIFT(a, b, shift)   lanes m .. m + IC_B - 1 of a:b
 *   IC_VADD(a, b), IC_ANY_NAN(v)
 *   IC_VI, IC_VIMIN_INIT(), IC_VIMIN(m, v), IC_ANY_INT32_MIN(m)   int32 minimum of float bits
 *   IC_MAXPOOL_FN                          the kernel's name
 *
 * Results are bit-identical to ic_f32_maxpool2d_ukernel_direct__scalar, NaN payloads and the
 * sign of tied zeros included. That kernel folds each window in row-major order with
 * best = (v > best || isnan(v)) ? v : best: the window's last NaN if it has one, else the first
 * of its largest values. Padding reads as -inf or is masked out of the fold, which never
 * changes it (-inf loses to everything and equals only itself).
 *
 * The exact fold costs three vector operations per tap (max, NaN test, blend), and only its
 * row-major order decides between a -0.0 and a +0.0 that tie. So each call first scans the
 * input its slice reads (one add per vector, since NaN + anything is NaN, and for NCHW one
 * integer minimum, -0.0 being the only float whose bits are INT32_MIN; a false alarm from
 * inf + -inf only costs speed) and takes the cheapest path that gives the same bits:
 *
 *   NCHW (src w-stride 1), neither NaN nor -0.0: max is then an ordinary maximum whose bits do
 *     not depend on the order, so windows reduce separably, column maxima first and then
 *     along the row in registers (ic_maxpool_nchw_separable): every input element loaded once
 *     per output row, a few vector operations per output vector.
 *   NCHW otherwise: outputs along x, IC_POOL_GROUP vectors of IC_B at a time (independent
 *     chains), taps in row-major order, each one or two masked loads straight from the input
 *     row and a de-interleave for stride 2 (f32-pool2d-taps.h); vmaxps alone without NaN, the
 *     exact fold with one.
 *   NHWC (src c-stride 1): channels in the vector, up to 4 vectors per pixel for independent
 *     chains, taps in row-major order, each one contiguous load per vector; vmaxps alone
 *     without NaN (ties keep the earlier value, as the scalar fold does), the exact fold with.
 *   Strides above 2 or windows wider than IC_POOL_MASKED_KW in NCHW: one vector at a time
 *     through ic_pool_load_tap, exact fold. Any other view runs the scalar kernel.
 */
#include <math.h>
#include <stdbool.h>

#include "f32-maxpool/f32-pool2d-taps.h"
#include "internal.h"
#include "ukernels.h"

/* The exact fold, or vmaxps where the slice holds no NaN. `exact` is a constant wherever these
 * are expanded (the functions taking it are always inlined), so the choice costs nothing. */
#define IC_FOLD(best, v, exact) ((exact) ? IC_VFOLD(best, v) : IC_VMAX(best, v))
#define IC_FOLD_MASK(best, v, mask, fill, exact) \
  ((exact) ? IC_VFOLD_MASK(best, v, mask, fill) : IC_VMAX_MASK(best, v, mask, fill))

/* What the scan found in the input a slice reads. */
typedef struct ic_maxpool_scan {
  IC_V sum;   /* NaN + anything is NaN (a false alarm from inf + -inf only costs speed) */
  IC_VI min;  /* the bits as int32: -0.0f (0x80000000) is the only float at INT32_MIN */
} ic_maxpool_scan_t;

/* Scans n contiguous floats; for -0.0 too if negative_zero. */
IC_INLINE void ic_maxpool_scan(const float* p, int64_t n, ic_maxpool_scan_t* scan,
                                    const bool negative_zero) {
  int64_t i = 0;
  for (; i + IC_B <= n; i += IC_B) {
    const IC_V v = IC_VLOAD(p + i);
    scan->sum = IC_VADD(scan->sum, v);
    if (negative_zero) scan->min = IC_VIMIN(scan->min, v);
  }
  if (i < n) {
    const IC_V v = IC_VLOADN(p + i, (int)(n - i)); /* zeros past n: neither NaN nor -0 */
    scan->sum = IC_VADD(scan->sum, v);
    if (negative_zero) scan->min = IC_VIMIN(scan->min, v);
  }
}

enum { IC_MAXPOOL_NAN = 1, IC_MAXPOOL_NEGATIVE_ZERO = 2 };

/* Which of NaN and -0.0 the input the slice reads (rows of its windows, its channels) may
 * hold. -0.0 matters only to the NCHW path (its separable reduction changes the order in which
 * a -0.0 and a +0.0 tie); NHWC folds in row-major order and looks for NaN alone. */
static int ic_maxpool_slice_scan(const ic_f32_maxpool2d_args_t* args) {
  const ic_pool2d_geometry_t* g = args->geometry;
  const ic_view_strides_t xs = args->src_stride;
  const int64_t first = args->y0 * g->stride_h - g->pad_top;
  const int64_t last = (args->y1 - 1) * g->stride_h - g->pad_top + g->kernel_h;
  const int64_t iy0 = first > 0 ? first : 0, iy1 = last < g->in_h ? last : g->in_h;
  ic_maxpool_scan_t scan = {IC_VSET1(0.0f), IC_VIMIN_INIT()};
  if (xs.w == 1) {
    for (int64_t c = args->c0; c < args->c1; c++) {
      for (int64_t iy = iy0; iy < iy1; iy++) {
        ic_maxpool_scan(args->src + c * xs.c + iy * xs.h, g->in_w, &scan, true);
      }
    }
  } else {
    for (int64_t iy = iy0; iy < iy1; iy++) {
      for (int64_t ix = 0; ix < g->in_w; ix++) {
        ic_maxpool_scan(args->src + iy * xs.h + ix * xs.w + args->c0, args->c1 - args->c0,
                        &scan, false);
      }
    }
  }
  return (IC_ANY_NAN(scan.sum) ? IC_MAXPOOL_NAN : 0) |
         (IC_ANY_INT32_MIN(scan.min) ? IC_MAXPOOL_NEGATIVE_ZERO : 0);
}

/* Columns [col, col + IC_B) of rows[0 .. rows_count) (row stride row_stride), their largest
 * per column; -inf outside [0, in_w). Only for inputs without NaN or -0.0, where max is
 * independent of the order. */
IC_INLINE IC_V ic_maxpool_column_max(const float* rows, int64_t row_stride,
                                          int64_t rows_count, int64_t in_w, int64_t col,
                                          IC_V fill) {
  if (col >= 0 && col + IC_B <= in_w) {
    IC_V m = IC_VLOAD(rows + col);
    for (int64_t r = 1; r < rows_count; r++) {
      m = IC_VMAX(m, IC_VLOAD(rows + r * row_stride + col));
    }
    return m;
  }
  if (col >= in_w || col + IC_B <= 0) return fill;
  const IC_MASK mask = ic_pool_cols_mask(in_w, col, 1);
  IC_V m = IC_VLOAD_MASK(rows + col, mask, fill);
  for (int64_t r = 1; r < rows_count; r++) {
    m = IC_VMAX(m, IC_VLOAD_MASK(rows + r * row_stride + col, mask, fill));
  }
  return m;
}

/* The column maxima of IC_B output columns' first taps from input column `col`: stride 1,
 * one vector; stride 2, the even and the odd input columns of 2 * IC_B, de-interleaved. */
IC_INLINE void ic_maxpool_column_vectors(const float* rows, int64_t row_stride, int64_t count,
                                              int64_t width, int64_t col, IC_V fill, int S,
                                              IC_V out[2]) {
  if (S == 1) {
    out[0] = ic_maxpool_column_max(rows, row_stride, count, width, col, fill);
  } else {
    const IC_V r0 = ic_maxpool_column_max(rows, row_stride, count, width, col, fill);
    const IC_V r1 = ic_maxpool_column_max(rows, row_stride, count, width, col + IC_B, fill);
    out[0] = IC_EVEN(r0, r1);
    out[1] = IC_ODD(r0, r1);
  }
}

/* The NCHW path for inputs without NaN or -0.0, stride S (1 or 2), windows whose taps reach
 * less than a vector past their first column ((kernel_w - 1) / S < IC_B). There max is a
 * plain commutative, associative maximum whose result is the same bits in any order, so the
 * window is reduced separably: the column maxima over the window's rows, one vector R_i per
 * IC_B input columns, then along the row in registers.
 * With the rows' columns split into stride phases P_r (P_0 = R for stride 1; the even and odd
 * columns of R_2v:R_2v+1 for stride 2), tap k of output vector v is phase k % S shifted by
 * k / S lanes, drawn from P[v] and P[v + 1]. Every input element is loaded once per output
 * row, and nothing is staged through memory. */
IC_INLINE void ic_maxpool_nchw_separable(const ic_f32_maxpool2d_args_t* args,
                                              const int S) {
  const ic_pool2d_geometry_t* g = args->geometry;
  const ic_view_strides_t xs = args->src_stride;
  const ic_view_strides_t ys = args->dst_stride;
  const IC_V fill = IC_VSET1(-INFINITY);
  const int64_t kw = g->kernel_w;
  const int64_t vectors = (g->out_w + IC_B - 1) / IC_B;
  IC_SHIFT_T shift[IC_B];
  for (int m = 0; m < IC_B; m++) shift[m] = IC_SHIFT_MAKE(m);
  for (int64_t c = args->c0; c < args->c1; c++) {
    for (int64_t y = args->y0; y < args->y1; y++) {
      const int64_t iy0 = y * g->stride_h - g->pad_top;
      int64_t kh0, kh1;
      ic_tap_range(iy0, 1, g->kernel_h, g->in_h, &kh0, &kh1);
      const float* rows = args->src + c * xs.c + (iy0 + kh0) * xs.h;
      const int64_t count = kh1 - kh0;
      float* out = args->dst + c * ys.c + (y - args->y0) * ys.h;
      /* Input column of lane 0 of output vector v: S * v * IC_B - pad_left. */
      IC_V cur[2], next[2];
      int64_t col = -g->pad_left;
      ic_maxpool_column_vectors(rows, xs.h, count, g->in_w, col, fill, S, cur);
      for (int64_t v = 0; v < vectors; v++) {
        col += S * IC_B;
        ic_maxpool_column_vectors(rows, xs.h, count, g->in_w, col, fill, S, next);
        IC_V best = cur[0];
        for (int64_t k = 1; k < kw; k++) {
          const int r = S == 1 ? 0 : (int)(k & 1);
          const int64_t m = S == 1 ? k : k >> 1;
          best = IC_VMAX(best, m == 0 ? cur[r] : IC_SHIFT(cur[r], next[r], shift[m]));
        }
        const int64_t x = v * IC_B, n = g->out_w - x;
        if (ys.w != 1) {
          float lanes[IC_B];
          IC_VSTORE(lanes, best);
          for (int64_t l = 0; l < n && l < IC_B; l++) out[(x + l) * ys.w] = lanes[l];
        } else if (n >= IC_B) {
          IC_VSTORE(out + x, best);
        } else {
          IC_VSTOREN(out + x, best, (int)n);
        }
        cur[0] = next[0];
        if (S == 2) cur[1] = next[1];
      }
    }
  }
}

/* Outputs [x0, x0 + V * IC_B) of every row and channel of the slice, for stride S (1 or 2)
 * and windows up to IC_POOL_MASKED_KW wide. The lanes of a tap that lie inside the input row
 * depend only on the output column and the tap, so their masks are computed once here: the
 * loads read only those columns and the fold skips the other lanes (padding). Lanes past
 * out_w compute whatever their columns hold and are not stored. */
IC_INLINE void ic_maxpool_nchw_group(const ic_f32_maxpool2d_args_t* args, int64_t x0,
                                          const int V, const int S, const bool exact) {
  const ic_pool2d_geometry_t* g = args->geometry;
  const ic_view_strides_t xs = args->src_stride;
  const ic_view_strides_t ys = args->dst_stride;
  const IC_V fill = IC_VSET1(-INFINITY);
  /* Per vector and tap: the first load's lanes, the second's (stride 2) and the tap's. */
  IC_MASK lo[IC_POOL_GROUP][IC_POOL_MASKED_KW], hi[IC_POOL_GROUP][IC_POOL_MASKED_KW];
  IC_MASK in[IC_POOL_GROUP][IC_POOL_MASKED_KW];
  int64_t col[IC_POOL_GROUP];
  for (int v = 0; v < V; v++) {
    col[v] = (x0 + v * IC_B) * S - g->pad_left;
    for (int64_t kw = 0; kw < g->kernel_w; kw++) {
      lo[v][kw] = ic_pool_cols_mask(g->in_w, col[v] + kw, 1);
      hi[v][kw] = ic_pool_cols_mask(g->in_w, col[v] + kw + IC_B, 1);
      in[v][kw] = ic_pool_cols_mask(g->in_w, col[v] + kw, S);
    }
  }
  for (int64_t c = args->c0; c < args->c1; c++) {
    for (int64_t y = args->y0; y < args->y1; y++) {
      const int64_t iy0 = y * g->stride_h - g->pad_top;
      int64_t kh0, kh1;
      ic_tap_range(iy0, 1, g->kernel_h, g->in_h, &kh0, &kh1);
      const float* row = args->src + c * xs.c + (iy0 + kh0) * xs.h;
      /* -inf first: the fold of -inf and v is v, bit for bit. */
      IC_V best[IC_POOL_GROUP];
      for (int v = 0; v < V; v++) best[v] = fill;
      for (int64_t kh = kh0; kh < kh1; kh++, row += xs.h) {
        for (int64_t kw = 0; kw < g->kernel_w; kw++) {
          for (int v = 0; v < V; v++) {
            const float* p = row + col[v] + kw;
            IC_V tap = IC_VLOADZ(p, lo[v][kw]);
            if (S == 2) tap = IC_EVEN(tap, IC_VLOADZ(p + IC_B, hi[v][kw]));
            best[v] = IC_FOLD_MASK(best[v], tap, in[v][kw], fill, exact);
          }
        }
      }
      float* out = args->dst + c * ys.c + (y - args->y0) * ys.h;
      for (int v = 0; v < V; v++) {
        const int64_t x = x0 + v * IC_B, n = g->out_w - x;
        if (n <= 0) break;
        if (ys.w != 1) {
          float lanes[IC_B];
          IC_VSTORE(lanes, best[v]);
          for (int64_t l = 0; l < n && l < IC_B; l++) out[(x + l) * ys.w] = lanes[l];
        } else if (n >= IC_B) {
          IC_VSTORE(out + x, best[v]);
        } else {
          IC_VSTOREN(out + x, best[v], (int)n);
        }
      }
    }
  }
}

/* Any stride and width: one output vector at a time, taps through ic_pool_load_tap, the exact
 * fold (not a path any network pool takes). */
static void ic_maxpool_nchw_any(const ic_f32_maxpool2d_args_t* args) {
  const ic_pool2d_geometry_t* g = args->geometry;
  const ic_view_strides_t xs = args->src_stride;
  const ic_view_strides_t ys = args->dst_stride;
  const IC_V fill = IC_VSET1(-INFINITY);
  for (int64_t c = args->c0; c < args->c1; c++) {
    for (int64_t y = args->y0; y < args->y1; y++) {
      const int64_t iy0 = y * g->stride_h - g->pad_top;
      int64_t kh0, kh1;
      ic_tap_range(iy0, 1, g->kernel_h, g->in_h, &kh0, &kh1);
      const float* rows = args->src + c * xs.c + (iy0 + kh0) * xs.h;
      float* out = args->dst + c * ys.c + (y - args->y0) * ys.h;
      for (int64_t x = 0; x < g->out_w; x += IC_B) {
        const int64_t col = x * g->stride_w - g->pad_left;
        /* Only the taps some lane's column reaches inside the row: the others fold -inf,
         * which changes nothing, and a window may be far wider than the row. */
        const int64_t span = ic_mul_saturate(IC_B - 1, g->stride_w); /* last lane - first */
        const int64_t kw0 = col >= 0 || span >= -col ? 0 : -(col + span);
        const int64_t kw1 = ic_min_i64(g->kernel_w, g->in_w - col);
        IC_V best = fill;
        for (int64_t kh = 0; kh < kh1 - kh0; kh++) {
          for (int64_t kw = kw0; kw < kw1; kw++) {
            best = IC_VFOLD(best, ic_pool_load_tap(rows + kh * xs.h, g->in_w, col + kw,
                                                   g->stride_w, fill));
          }
        }
        float lanes[IC_B];
        IC_VSTORE(lanes, best);
        for (int64_t l = 0; l < g->out_w - x && l < IC_B; l++) out[(x + l) * ys.w] = lanes[l];
      }
    }
  }
}

IC_INLINE void ic_maxpool_nchw_stride(const ic_f32_maxpool2d_args_t* args, const int S,
                                           const bool exact) {
  const int64_t out_w = args->geometry->out_w;
  /* Groups of IC_POOL_GROUP vectors while more than half a group remains, then single ones. */
  for (int64_t x0 = 0; x0 < out_w;) {
    if (out_w - x0 > IC_POOL_GROUP / 2 * IC_B) {
      ic_maxpool_nchw_group(args, x0, IC_POOL_GROUP, S, exact);
      x0 += IC_POOL_GROUP * IC_B;
    } else {
      ic_maxpool_nchw_group(args, x0, 1, S, exact);
      x0 += IC_B;
    }
  }
}

static void ic_maxpool_nchw(const ic_f32_maxpool2d_args_t* args, int found) {
  const ic_pool2d_geometry_t* g = args->geometry;
  if (g->stride_w > 2 || g->kernel_w > IC_POOL_MASKED_KW) {
    ic_maxpool_nchw_any(args);
  } else if (found == 0 && (g->kernel_w - 1) / g->stride_w < IC_B) {
    if (g->stride_w == 1) {
      ic_maxpool_nchw_separable(args, 1);
    } else {
      ic_maxpool_nchw_separable(args, 2);
    }
  } else {
    /* Row-major order: -0.0 ties with +0.0 go to the first, NaNs to the last. */
    const bool exact = (found & IC_MAXPOOL_NAN) != 0;
    if (g->stride_w == 1) {
      if (exact) {
        ic_maxpool_nchw_stride(args, 1, true);
      } else {
        ic_maxpool_nchw_stride(args, 1, false);
      }
    } else {
      if (exact) {
        ic_maxpool_nchw_stride(args, 2, true);
      } else {
        ic_maxpool_nchw_stride(args, 2, false);
      }
    }
  }
}

/* Channels [c, c + n) of one output pixel, n <= 4 * IC_B, into dst (channel stride dst_c). */
IC_INLINE void ic_maxpool_nhwc_pixel(const float* src, ic_view_strides_t xs, int64_t iy,
                                          int64_t kh_count, int64_t ix, int64_t kw_count,
                                          int64_t c, int64_t n, float* dst, int64_t dst_c,
                                          const bool exact) {
  IC_V acc[4];
  const int vectors = (int)((n + IC_B - 1) / IC_B);
  const float* first = src + iy * xs.h + ix * xs.w + c;
  if (n == 4 * IC_B) {
    /* The common case: 4 independent chains, fully unrolled. */
    for (int v = 0; v < 4; v++) acc[v] = IC_VLOAD(first + v * IC_B);
    for (int64_t kh = 0; kh < kh_count; kh++) {
      const float* p = first + kh * xs.h;
      for (int64_t kw = kh == 0 ? 1 : 0; kw < kw_count; kw++) {
        for (int v = 0; v < 4; v++) {
          acc[v] = IC_FOLD(acc[v], IC_VLOAD(p + kw * xs.w + v * IC_B), exact);
        }
      }
    }
  } else {
    /* The last vector holds `tail` channels; masked loads never touch the next pixel's. */
    const int tail = (int)(n - (vectors - 1) * IC_B);
    for (int v = 0; v < vectors; v++) {
      acc[v] = IC_VLOADN(first + v * IC_B, v == vectors - 1 ? tail : IC_B);
    }
    for (int64_t kh = 0; kh < kh_count; kh++) {
      const float* p = first + kh * xs.h;
      for (int64_t kw = kh == 0 ? 1 : 0; kw < kw_count; kw++) {
        for (int v = 0; v < vectors; v++) {
          const IC_V x = IC_VLOADN(p + kw * xs.w + v * IC_B, v == vectors - 1 ? tail : IC_B);
          acc[v] = IC_FOLD(acc[v], x, exact);
        }
      }
    }
  }
  if (dst_c == 1) {
    for (int v = 0; v < vectors; v++) {
      const int64_t lanes = n - v * IC_B;
      if (lanes >= IC_B) {
        IC_VSTORE(dst + v * IC_B, acc[v]);
      } else {
        IC_VSTOREN(dst + v * IC_B, acc[v], (int)lanes);
      }
    }
  } else {
    float lanes[4 * IC_B];
    for (int v = 0; v < vectors; v++) IC_VSTORE(lanes + v * IC_B, acc[v]);
    for (int64_t i = 0; i < n; i++) dst[i * dst_c] = lanes[i];
  }
}

IC_INLINE void ic_maxpool_nhwc(const ic_f32_maxpool2d_args_t* args, const bool exact) {
  const ic_pool2d_geometry_t* g = args->geometry;
  const ic_view_strides_t xs = args->src_stride;
  const ic_view_strides_t ys = args->dst_stride;
  for (int64_t y = args->y0; y < args->y1; y++) {
    const int64_t iy0 = y * g->stride_h - g->pad_top;
    int64_t kh0, kh1;
    ic_tap_range(iy0, 1, g->kernel_h, g->in_h, &kh0, &kh1);
    for (int64_t x = 0; x < g->out_w; x++) {
      const int64_t ix0 = x * g->stride_w - g->pad_left;
      int64_t kw0, kw1;
      ic_tap_range(ix0, 1, g->kernel_w, g->in_w, &kw0, &kw1);
      float* out = args->dst + (y - args->y0) * ys.h + x * ys.w;
      for (int64_t c = args->c0; c < args->c1; c += 4 * IC_B) {
        const int64_t n = args->c1 - c < 4 * IC_B ? args->c1 - c : 4 * IC_B;
        ic_maxpool_nhwc_pixel(args->src, xs, iy0 + kh0, kh1 - kh0, ix0 + kw0, kw1 - kw0, c, n,
                              out + c * ys.c, ys.c, exact);
      }
    }
  }
}

void IC_MAXPOOL_FN(const ic_f32_maxpool2d_args_t* args) {
  if (args->src_stride.w != 1 && args->src_stride.c != 1) {
    ic_f32_maxpool2d_ukernel_direct__scalar(args);
    return;
  }
  const int found = ic_maxpool_slice_scan(args);
  if (args->src_stride.w == 1) {
    ic_maxpool_nchw(args, found);
  } else if (found & IC_MAXPOOL_NAN) {
    ic_maxpool_nhwc(args, true);
  } else {
    ic_maxpool_nhwc(args, false);
  }
}
