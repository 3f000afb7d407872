/*
 * f32-avgpool2d-impl.h — the body of the SIMD average pooling kernels, included once by each
 * ISA's file after its macros (f32-maxpool/f32-pool2d-taps.h lists the ones of the tap loads):
 *
 *   IC_VSET1(x), IC_VLOADN(p, n), IC_VSTOREN(p, v, n)   float vectors, the first n lanes
 *   IC_VLOADZ(p, mask)                     the mask's lanes from p, zero elsewhere
 *   IC_VD                                  double vector of IC_B / 2 lanes
 *   IC_VD_ZERO(), IC_VD_SET1(x), IC_VD_LOAD(p), IC_VD_ADD(a, b), IC_VD_DIV(a, b)
 *   IC_VD_MUL(a, b)
 *   IC_WIDEN_LO(v), IC_WIDEN_HI(v)         the low / high half of a float vector, as doubles
 *   IC_NARROW(lo, hi)                      two double vectors rounded into one float vector
 *   IC_AVGPOOL_FN                          the kernel's name
 *
 * Results are the scalar kernel's bits (a NaN may carry another NaN's payload): that kernel
 * sums each window's in-range elements in double, from +0.0, in row-major order, divides by
 * the divisor in double and rounds once. Here every lane does exactly that sequence of double
 * operations. A tap outside the input adds +0.0, which changes no sum: the sum starts at +0.0
 * and never becomes -0.0 (in round-to-nearest x + y is -0.0 only if both are), and NaN and
 * infinities stay what they are.
 *
 *   NCHW (src w-stride 1): outputs along x, IC_POOL_AVG_GROUP float vectors of IC_B at a time,
 *     each widened into two double accumulators (independent chains); taps are masked loads
 *     straight from the input row, de-interleaved for stride 2 (f32-pool2d-taps.h). Strides
 *     above 2, windows wider than IC_POOL_MASKED_KW and rows of fewer than 4 outputs (global
 *     average pooling, whose one output per channel leaves the lanes nothing to share) run the
 *     scalar kernel.
 *   NHWC (src c-stride 1): channels in the vector, 2 float vectors (4 double chains) per pixel.
 *   Any other view runs the scalar kernel.
 */
#include "f32-maxpool/f32-pool2d-taps.h"
#include "ukernels.h"

/* Float vectors per NCHW pass: 4 double chains, enough to hide the adds' latency. */
#define IC_POOL_AVG_GROUP 2

/* The scalar kernel's divisor of a window with rows x columns in-range elements. */
static inline double ic_avgpool_divisor(const ic_pool2d_geometry_t* g, int64_t rows,
                                        int64_t columns) {
  if (g->count_include_pad) return (double)g->kernel_h * (double)g->kernel_w;
  return (double)(rows * columns);
}

/* Outputs [x0, x0 + V * IC_B) of every row and channel of the slice, stride S (1 or 2). */
IC_INLINE void ic_avgpool_nchw_group(const ic_f32_avgpool2d_args_t* args, int64_t x0,
                                          const int V, const int S) {
  const ic_pool2d_geometry_t* g = args->geometry;
  const ic_view_strides_t xs = args->src_stride;
  const ic_view_strides_t ys = args->dst_stride;
  /* Per vector and tap: the first load's lanes and the second's (stride 2); columns outside
   * the row load as +0.0. */
  IC_MASK lo[IC_POOL_AVG_GROUP][IC_POOL_MASKED_KW], hi[IC_POOL_AVG_GROUP][IC_POOL_MASKED_KW];
  int64_t col[IC_POOL_AVG_GROUP];
  /* Per output column: its number of in-range window columns. */
  double columns[IC_POOL_AVG_GROUP * IC_B];
  for (int v = 0; v < V; v++) {
    col[v] = (x0 + v * IC_B) * S - g->pad_left;
    for (int64_t kw = 0; kw < g->kernel_w; kw++) {
      lo[v][kw] = ic_pool_cols_mask(g->in_w, col[v] + kw, 1);
      hi[v][kw] = ic_pool_cols_mask(g->in_w, col[v] + kw + IC_B, 1);
    }
    for (int l = 0; l < IC_B; l++) {
      int64_t kw0, kw1;
      ic_tap_range(col[v] + S * l, 1, g->kernel_w, g->in_w, &kw0, &kw1);
      columns[v * IC_B + l] = (double)(kw1 - kw0);
    }
  }
  for (int64_t c = args->c0; c < args->c1; c++) {
    for (int64_t y = args->y0; y < args->y1; y++) {
      const int64_t iy0 = y * g->stride_h - g->pad_top;
      int64_t kh0, kh1;
      ic_tap_range(iy0, 1, g->kernel_h, g->in_h, &kh0, &kh1);
      const float* row = args->src + c * xs.c + (iy0 + kh0) * xs.h;
      IC_VD sum[IC_POOL_AVG_GROUP][2];
      for (int v = 0; v < V; v++) sum[v][0] = sum[v][1] = IC_VD_ZERO();
      for (int64_t kh = kh0; kh < kh1; kh++, row += xs.h) {
        for (int64_t kw = 0; kw < g->kernel_w; kw++) {
          for (int v = 0; v < V; v++) {
            const float* p = row + col[v] + kw;
            IC_V tap = IC_VLOADZ(p, lo[v][kw]);
            if (S == 2) tap = IC_EVEN(tap, IC_VLOADZ(p + IC_B, hi[v][kw]));
            sum[v][0] = IC_VD_ADD(sum[v][0], IC_WIDEN_LO(tap));
            sum[v][1] = IC_VD_ADD(sum[v][1], IC_WIDEN_HI(tap));
          }
        }
      }
      float* out = args->dst + c * ys.c + (y - args->y0) * ys.h;
      const IC_VD rows = IC_VD_SET1((double)(kh1 - kh0));
      for (int v = 0; v < V; v++) {
        const int64_t x = x0 + v * IC_B, n = g->out_w - x;
        if (n <= 0) break;
        IC_VD lo_div, hi_div;
        if (g->count_include_pad) {
          lo_div = hi_div = IC_VD_SET1(ic_avgpool_divisor(g, 0, 0));
        } else {
          /* rows * columns in double is the scalar kernel's integer product, exactly. */
          lo_div = IC_VD_MUL(rows, IC_VD_LOAD(columns + v * IC_B));
          hi_div = IC_VD_MUL(rows, IC_VD_LOAD(columns + v * IC_B + IC_B / 2));
        }
        const IC_V mean =
            IC_NARROW(IC_VD_DIV(sum[v][0], lo_div), IC_VD_DIV(sum[v][1], hi_div));
        if (ys.w != 1) {
          float lanes[IC_B];
          IC_VSTORE(lanes, mean);
          for (int64_t l = 0; l < n && l < IC_B; l++) out[(x + l) * ys.w] = lanes[l];
        } else if (n >= IC_B) {
          IC_VSTORE(out + x, mean);
        } else {
          IC_VSTOREN(out + x, mean, (int)n);
        }
      }
    }
  }
}

IC_INLINE void ic_avgpool_nchw(const ic_f32_avgpool2d_args_t* args, const int S) {
  const int64_t out_w = args->geometry->out_w;
  for (int64_t x0 = 0; x0 < out_w;) {
    if (out_w - x0 > IC_B) {
      ic_avgpool_nchw_group(args, x0, IC_POOL_AVG_GROUP, S);
      x0 += IC_POOL_AVG_GROUP * IC_B;
    } else {
      ic_avgpool_nchw_group(args, x0, 1, S);
      x0 += IC_B;
    }
  }
}

/* Channels [c, c + n) of one output pixel, n <= 2 * IC_B, into dst (channel stride dst_c). */
IC_INLINE void ic_avgpool_nhwc_pixel(const float* src, ic_view_strides_t xs, int64_t iy,
                                          int64_t kh_count, int64_t ix, int64_t kw_count,
                                          int64_t c, int64_t n, double divisor, float* dst,
                                          int64_t dst_c) {
  IC_VD sum[2][2] = {{IC_VD_ZERO(), IC_VD_ZERO()}, {IC_VD_ZERO(), IC_VD_ZERO()}};
  const float* first = src + iy * xs.h + ix * xs.w + c;
  const int vectors = n > IC_B ? 2 : 1;
  const int tail = (int)(n - (vectors - 1) * IC_B); /* lanes of the last vector */
  for (int64_t kh = 0; kh < kh_count; kh++) {
    const float* p = first + kh * xs.h;
    for (int64_t kw = 0; kw < kw_count; kw++, p += xs.w) {
      if (n == 2 * IC_B) {
        /* The common case: 4 independent chains, unmasked. */
        for (int v = 0; v < 2; v++) {
          const IC_V x = IC_VLOAD(p + v * IC_B);
          sum[v][0] = IC_VD_ADD(sum[v][0], IC_WIDEN_LO(x));
          sum[v][1] = IC_VD_ADD(sum[v][1], IC_WIDEN_HI(x));
        }
      } else {
        for (int v = 0; v < vectors; v++) {
          const IC_V x = IC_VLOADN(p + v * IC_B, v == vectors - 1 ? tail : IC_B);
          sum[v][0] = IC_VD_ADD(sum[v][0], IC_WIDEN_LO(x));
          sum[v][1] = IC_VD_ADD(sum[v][1], IC_WIDEN_HI(x));
        }
      }
    }
  }
  const IC_VD d = IC_VD_SET1(divisor);
  float lanes[2 * IC_B];
  for (int v = 0; v < vectors; v++) {
    const IC_V mean = IC_NARROW(IC_VD_DIV(sum[v][0], d), IC_VD_DIV(sum[v][1], d));
    const int count = v == vectors - 1 ? tail : IC_B;
    if (dst_c != 1) {
      IC_VSTORE(lanes + v * IC_B, mean);
    } else if (count == IC_B) {
      IC_VSTORE(dst + v * IC_B, mean);
    } else {
      IC_VSTOREN(dst + v * IC_B, mean, count);
    }
  }
  if (dst_c != 1) {
    for (int64_t i = 0; i < n; i++) dst[i * dst_c] = lanes[i];
  }
}

static void ic_avgpool_nhwc(const ic_f32_avgpool2d_args_t* args) {
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
      const double divisor = ic_avgpool_divisor(g, kh1 - kh0, kw1 - kw0);
      float* out = args->dst + (y - args->y0) * ys.h + x * ys.w;
      for (int64_t c = args->c0; c < args->c1; c += 2 * IC_B) {
        const int64_t n = args->c1 - c < 2 * IC_B ? args->c1 - c : 2 * IC_B;
        ic_avgpool_nhwc_pixel(args->src, xs, iy0 + kh0, kh1 - kh0, ix0 + kw0, kw1 - kw0, c, n,
                              divisor, out + c * ys.c, ys.c);
      }
    }
  }
}

void IC_AVGPOOL_FN(const ic_f32_avgpool2d_args_t* args) {
  const ic_pool2d_geometry_t* g = args->geometry;
  if (args->src_stride.w == 1 && g->stride_w <= 2 && g->kernel_w <= IC_POOL_MASKED_KW &&
      g->out_w >= 4) {
    if (g->stride_w == 1) {
      ic_avgpool_nchw(args, 1);
    } else {
      ic_avgpool_nchw(args, 2);
    }
  } else if (args->src_stride.c == 1) {
    ic_avgpool_nhwc(args);
  } else {
    ic_f32_avgpool2d_ukernel_direct__scalar(args);
  }
}
