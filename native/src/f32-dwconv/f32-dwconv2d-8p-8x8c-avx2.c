/*
 * ic_f32_dwconv2d_ukernel_8p_8x8c__avx2 — depthwise convolution (any multiplier, kernel,
 * stride, dilation, padding) on the caller's image, no packing of activations; the AVX2 twin of
 * f32-dwconv2d-16p-8x16c-avx512.c (without its aligned row ring: AVX2 cannot shift a vector
 * across its 128-bit halves by a constant, so the 3x3 path loads shifted vectors directly):
 *
 *   pixel-contiguous images (NCHW):   one output channel at a time, vectors of 8 output
 *                                     pixels along a row; 3x3 kernels in blocks of 4 rows x 2
 *                                     vectors sharing input rows, masks computed once per
 *                                     call; stride 2 de-interleaves two loads, larger strides
 *                                     gather. Vectors that reach into the padding load masked.
 *   channel-contiguous images (NHWC): vectors of 8 channels, 8 output pixels at a time, with
 *                                     the packed weights (ic_f32_dwconv2d_pack_weights); the
 *                                     taps that fall into the padding are skipped.
 *
 * Each output sums its taps in (kernel row, kernel column) order from the bias with one fused
 * multiply-add per tap, then adds the residual and applies the activation.
 */
#define IC_EXPECT_ISA_AVX2
#include "isa-check.h"

#include <immintrin.h>

#include "simd-avx2.h"

#include "internal.h"
#include "ukernels.h"
#include "f32-conv/f32-conv2d-avx2.h"


/* ---- pixel-contiguous ---- */

/* 8 input pixels starting at column col (stride 1) / col, col + s, ... (stride s), lanes
 * outside [0, in_w) or past `n` outputs read as 0. */
IC_INLINE __m256 ic_load_cols(const float* row, int64_t col, int64_t stride, int64_t in_w,
                              int64_t n, bool inside) {
  /* A span wholly outside the row (padding can be huge): no pointer is formed from col. */
  if (!inside && stride <= 2 && (col >= in_w || -col >= stride * 8)) return _mm256_setzero_ps();
  if (stride == 1) {
    if (inside) return _mm256_loadu_ps(row + col);
    return _mm256_maskload_ps(row + col, ic_mask8(ic_max_i64(-col, 0), ic_min_i64(in_w - col, n)));
  }
  if (stride == 2) {
    __m256 lo, hi;
    if (inside) {
      lo = _mm256_loadu_ps(row + col);
      hi = _mm256_loadu_ps(row + col + 8);
    } else {
      /* span positions s in [first, last) are inside the row; outputs past n are not needed */
      const int64_t first = ic_max_i64(-col, 0), last = ic_min_i64(in_w - col, 2 * n - 1);
      lo = _mm256_maskload_ps(row + col, ic_mask8(first, last));
      hi = _mm256_maskload_ps(row + col + 8, ic_mask8(first - 8, last - 8));
    }
    /* [lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6] -> [lo0 lo2 lo4 lo6 hi0 hi2 hi4 hi6] */
    const __m256 even = _mm256_shuffle_ps(lo, hi, 0x88);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), 0xD8));
  }
  /* lanes j with 0 <= col + j * stride < in_w and j < n (output pixels, so the products fit);
   * indices relative to the first valid column keep the base pointer inside the row */
  int32_t index[8] = {0};
  int32_t bits[8] = {0};
  int64_t first = -1;
  for (int64_t j = 0; j < n && j < 8; j++) {
    const int64_t c = col + j * stride;
    if (c >= 0 && c < in_w) {
      if (first < 0) first = c;
      bits[j] = -1;
      index[j] = (int32_t)(c - first);
    }
  }
  if (first < 0) return _mm256_setzero_ps();
  return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), row + first,
                                  _mm256_loadu_si256((const __m256i*)index),
                                  _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i*)bits)), 4);
}

/* One output row of one channel, taps in [kh0, kh1) x [0, kernel_w), weights broadcast from
 * memory: any kernel and stride. Vectors whose taps all lie inside the row load without masks
 * (decided once per vector, not per load). */
IC_INLINE void ic_planar_row_s(const ic_f32_dwconv2d_args_t* a, const float* plane,
                               const float* w, float bias, int64_t iy0, int64_t kh0, int64_t kh1,
                               float* dst, const float* res, const int64_t S) {
  const ic_conv2d_geometry_t* g = a->geometry;
  const int64_t sw = S > 0 ? S : g->stride_w, dw = g->dilation_w, kw_count = g->kernel_w;
  const int64_t reach = (kw_count - 1) * dw;
  const int64_t span = sw == 2 ? 16 : 8; /* columns one load covers (strides 1 and 2) */
  for (int64_t x0 = 0; x0 < g->out_w; x0 += 8) {
    const int64_t n = ic_min_i64(8, g->out_w - x0);
    const int64_t col0 = x0 * sw - g->pad_left;
    const bool inside = sw <= 2 && n == 8 && col0 >= 0 && col0 <= g->in_w - span - reach;
    __m256 acc = _mm256_set1_ps(bias);
    if (inside) {
      for (int64_t kh = kh0; kh < kh1; kh++) {
        const float* row = plane + (iy0 + kh * g->dilation_h) * a->src_stride.h + col0;
        const float* wk = w + kh * kw_count;
        for (int64_t kw = 0; kw < kw_count; kw++) {
          acc = _mm256_fmadd_ps(ic_load_cols(row + kw * dw, 0, sw, g->in_w, 8, true),
                                _mm256_broadcast_ss(wk + kw), acc);
        }
      }
    } else {
      for (int64_t kh = kh0; kh < kh1; kh++) {
        const float* row = plane + (iy0 + kh * g->dilation_h) * a->src_stride.h;
        const float* wk = w + kh * kw_count;
        for (int64_t kw = 0; kw < kw_count; kw++) {
          acc = _mm256_fmadd_ps(ic_load_cols(row, col0 + kw * dw, sw, g->in_w, n, false),
                                _mm256_broadcast_ss(wk + kw), acc);
        }
      }
    }
    const __m256i m = ic_mask8(0, n);
    if (res != NULL) acc = _mm256_add_ps(acc, _mm256_maskload_ps(res + x0, m));
    _mm256_maskstore_ps(dst + x0, m, ic_activate8(acc, a->activation));
  }
}

static void ic_planar_row(const ic_f32_dwconv2d_args_t* a, const float* plane, const float* w,
                          float bias, int64_t iy0, int64_t kh0, int64_t kh1, float* dst,
                          const float* res) {
  if (a->geometry->stride_w == 1) {
    ic_planar_row_s(a, plane, w, bias, iy0, kh0, kh1, dst, res, 1);
  } else if (a->geometry->stride_w == 2) {
    ic_planar_row_s(a, plane, w, bias, iy0, kh0, kh1, dst, res, 2);
  } else {
    ic_planar_row_s(a, plane, w, bias, iy0, kh0, kh1, dst, res, 0);
  }
}

/*
 * 3x3, stride 1 or 2: blocks of IC_ROWS output rows whose three kernel rows are all inside the
 * image, two vectors at a time (8 independent accumulation chains), the nine weights in
 * registers and every load masked by a mask computed once per call (lanes outside the image
 * or past the row read 0). With stride 1 and no vertical dilation the block's rows share
 * their input rows: 6 rows x 3 loads feed 4 x 9 multiply-adds per vector.
 */
enum { IC_ROWS = 4, IC_MAX_VECTORS = 64 };

typedef struct ic_dw3x3 {
  int64_t vectors;
  __m256i lo[IC_MAX_VECTORS][3], hi[IC_MAX_VECTORS][3]; /* hi: stride 2's second load */
  __m256i out[IC_MAX_VECTORS];
  /* Stride 2, dilation 1: the 17 columns [col, col + 17) of a vector's three taps, as two
   * vectors and one extra element. */
  __m256i span_lo[IC_MAX_VECTORS], span_hi[IC_MAX_VECTORS], span_extra[IC_MAX_VECTORS];
} ic_dw3x3_t;

static void ic_dw3x3_masks(const ic_conv2d_geometry_t* g, ic_dw3x3_t* m) {
  m->vectors = ic_divide_round_up(g->out_w, 8);
  const int64_t sw = g->stride_w;
  for (int64_t v = 0; v < m->vectors; v++) {
    const int64_t n = ic_min_i64(8, g->out_w - v * 8);
    m->out[v] = ic_mask8(0, n);
    for (int64_t kw = 0; kw < 3; kw++) {
      const int64_t col = v * 8 * sw - g->pad_left + kw * g->dilation_w;
      /* span positions s = sw * j (j < n) of [col, col + 8 * sw) inside [0, in_w) */
      const int64_t first = ic_max_i64(-col, 0), last = ic_min_i64(g->in_w - col, sw * (n - 1) + 1);
      m->lo[v][kw] = ic_mask8(first, last);
      m->hi[v][kw] = ic_mask8(first - 8, last - 8);
    }
    const int64_t col = v * 8 * sw - g->pad_left;
    const int64_t first = ic_max_i64(-col, 0), last = ic_min_i64(g->in_w - col, 2 * n + 1);
    m->span_lo[v] = ic_mask8(first, last);
    m->span_hi[v] = ic_mask8(first - 8, last - 8);
    m->span_extra[v] = ic_mask8(ic_max_i64(first - 16, 0), ic_min_i64(last - 16, 1));
  }
}

IC_INLINE __m256 ic_dw3x3_load(const float* p, const ic_dw3x3_t* m, int64_t v, int64_t kw,
                               const int64_t S) {
  if (S == 1) return _mm256_maskload_ps(p, m->lo[v][kw]);
  const __m256 lo = _mm256_maskload_ps(p, m->lo[v][kw]);
  const __m256 hi = _mm256_maskload_ps(p + 8, m->hi[v][kw]);
  const __m256 even = _mm256_shuffle_ps(lo, hi, 0x88);
  return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(even), 0xD8));
}

/* Output rows y .. y + IC_ROWS - 1 of one channel, vectors [v, v + nv). */
IC_INLINE void ic_dw3x3_block(const ic_f32_dwconv2d_args_t* a, const float* plane,
                              const __m256 wv[9], __m256 bias, const ic_dw3x3_t* m, int64_t y,
                              int64_t v, float* dst, const float* res, const int nv,
                              const int64_t S, const bool shared) {
  const ic_conv2d_geometry_t* g = a->geometry;
  const int64_t xh = a->src_stride.h, dw = g->dilation_w;
  __m256 acc[IC_ROWS][2];
  IC_UNROLL for (int i = 0; i < IC_ROWS; i++) acc[i][0] = acc[i][1] = bias;
  if (shared) {
    /* Input row r feeds output row i with kernel row r - i: ascending kernel rows per output. */
    const float* row0 = plane + (y * S - g->pad_top) * xh;
    IC_UNROLL for (int r = 0; r < IC_ROWS + 2; r++) {
      IC_UNROLL for (int kw = 0; kw < 3; kw++) {
        IC_UNROLL for (int j = 0; j < nv; j++) {
          const int64_t col = (v + j) * 8 * S - g->pad_left + kw * dw;
          const __m256 x = ic_dw3x3_load(row0 + r * xh + col, m, v + j, kw, S);
          IC_UNROLL for (int i = 0; i < IC_ROWS; i++) {
            const int kh = r - i;
            if (kh >= 0 && kh < 3) acc[i][j] = _mm256_fmadd_ps(x, wv[kh * 3 + kw], acc[i][j]);
          }
        }
      }
    }
  } else if (S == 2 && dw == 1) {
    /* One 17-column span per kernel row: taps 0 and 1 are its even and odd columns, tap 2 the
     * even ones moved down a lane with the extra column appended. */
    const __m256i rotate = _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 0);
    IC_UNROLL for (int i = 0; i < IC_ROWS; i++) {
      const float* row0 = plane + ((y + i) * g->stride_h - g->pad_top) * xh;
      IC_UNROLL for (int kh = 0; kh < 3; kh++) {
        const float* row = row0 + kh * g->dilation_h * xh;
        IC_UNROLL for (int j = 0; j < nv; j++) {
          const float* p = row + (v + j) * 16 - g->pad_left;
          const __m256 lo = _mm256_maskload_ps(p, m->span_lo[v + j]);
          const __m256 hi = _mm256_maskload_ps(p + 8, m->span_hi[v + j]);
          const __m256 extra = _mm256_maskload_ps(p + 16, m->span_extra[v + j]);
          const __m256 x0 = _mm256_castpd_ps(
              _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, 0x88)), 0xD8));
          const __m256 x1 = _mm256_castpd_ps(
              _mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, 0xDD)), 0xD8));
          const __m256 x2 = _mm256_blend_ps(_mm256_permutevar8x32_ps(x0, rotate),
                                            _mm256_permutevar8x32_ps(extra, rotate), 0x80);
          acc[i][j] = _mm256_fmadd_ps(x0, wv[kh * 3 + 0], acc[i][j]);
          acc[i][j] = _mm256_fmadd_ps(x1, wv[kh * 3 + 1], acc[i][j]);
          acc[i][j] = _mm256_fmadd_ps(x2, wv[kh * 3 + 2], acc[i][j]);
        }
      }
    }
  } else {
    IC_UNROLL for (int i = 0; i < IC_ROWS; i++) {
      const float* row0 = plane + ((y + i) * g->stride_h - g->pad_top) * xh;
      IC_UNROLL for (int kh = 0; kh < 3; kh++) {
        const float* row = row0 + kh * g->dilation_h * xh;
        IC_UNROLL for (int kw = 0; kw < 3; kw++) {
          IC_UNROLL for (int j = 0; j < nv; j++) {
            const int64_t col = (v + j) * 8 * S - g->pad_left + kw * dw;
            const __m256 x = ic_dw3x3_load(row + col, m, v + j, kw, S);
            acc[i][j] = _mm256_fmadd_ps(x, wv[kh * 3 + kw], acc[i][j]);
          }
        }
      }
    }
  }
  IC_UNROLL for (int i = 0; i < IC_ROWS; i++) {
    IC_UNROLL for (int j = 0; j < nv; j++) {
      const int64_t offset = i * a->dst_stride.h + (v + j) * 8;
      __m256 out = acc[i][j];
      if (res != NULL) out = _mm256_add_ps(out, _mm256_maskload_ps(res + offset, m->out[v + j]));
      _mm256_maskstore_ps(dst + offset, m->out[v + j], ic_activate8(out, a->activation));
    }
  }
}

IC_INLINE void ic_dw3x3_rows(const ic_f32_dwconv2d_args_t* a, const float* plane,
                             const __m256 wv[9], __m256 bias, const ic_dw3x3_t* m, int64_t y,
                             float* dst, const float* res, const int64_t S, const bool shared) {
  int64_t v = 0;
  for (; v + 2 <= m->vectors; v += 2) ic_dw3x3_block(a, plane, wv, bias, m, y, v, dst, res, 2, S, shared);
  if (v < m->vectors) ic_dw3x3_block(a, plane, wv, bias, m, y, v, dst, res, 1, S, shared);
}

static void ic_dw3x3_rows_s1_shared(const ic_f32_dwconv2d_args_t* a, const float* plane,
                                    const __m256 wv[9], __m256 bias, const ic_dw3x3_t* m,
                                    int64_t y, float* dst, const float* res) {
  ic_dw3x3_rows(a, plane, wv, bias, m, y, dst, res, 1, true);
}
static void ic_dw3x3_rows_s1(const ic_f32_dwconv2d_args_t* a, const float* plane,
                             const __m256 wv[9], __m256 bias, const ic_dw3x3_t* m, int64_t y,
                             float* dst, const float* res) {
  ic_dw3x3_rows(a, plane, wv, bias, m, y, dst, res, 1, false);
}
static void ic_dw3x3_rows_s2(const ic_f32_dwconv2d_args_t* a, const float* plane,
                             const __m256 wv[9], __m256 bias, const ic_dw3x3_t* m, int64_t y,
                             float* dst, const float* res) {
  ic_dw3x3_rows(a, plane, wv, bias, m, y, dst, res, 2, false);
}

static void ic_planar(const ic_f32_dwconv2d_args_t* a) {
  const ic_conv2d_geometry_t* g = a->geometry;
  const int64_t multiplier = g->out_channels / g->in_channels;
  const int64_t taps = g->kernel_h * g->kernel_w;
  const bool k3 = g->kernel_h == 3 && g->kernel_w == 3 && (g->stride_w == 1 || g->stride_w == 2) &&
                  ic_divide_round_up(g->out_w, 8) <= IC_MAX_VECTORS;
  ic_dw3x3_t masks;
  masks.vectors = 0;
  if (k3) ic_dw3x3_masks(g, &masks);
  /* Output rows whose three kernel rows are all inside the image: [y_in0, y_in1) (3x3). */
  int64_t y_in0 = 0, y_in1 = 0;
  if (k3) {
    y_in0 = ic_divide_round_up(g->pad_top, g->stride_h);
    const int64_t bottom = g->in_h - 1 - 2 * g->dilation_h + g->pad_top;
    y_in1 = bottom < 0 ? 0 : bottom / g->stride_h + 1;
  }
  const bool shared = g->stride_w == 1 && g->stride_h == 1 && g->dilation_h == 1;
  for (int64_t o = a->c0; o < a->c1; o++) {
    const float* plane = a->src + (o / multiplier) * a->src_stride.c;
    const float* w = a->weights + o * taps;
    const float bias = a->bias != NULL ? a->bias[o] : 0.0f;
    __m256 wv[9];
    for (int t = 0; t < 9; t++) wv[t] = _mm256_set1_ps(k3 ? w[t] : 0.0f);
    for (int64_t y = a->y0; y < a->y1;) {
      const int64_t offset = o * a->dst_stride.c + (y - a->y0) * a->dst_stride.h;
      float* dst = a->dst + offset;
      const float* res = a->residual != NULL ? a->residual + offset : NULL;
      if (k3 && y >= y_in0 && y + IC_ROWS <= ic_min_i64(y_in1, a->y1)) {
        if (shared) {
          ic_dw3x3_rows_s1_shared(a, plane, wv, _mm256_set1_ps(bias), &masks, y, dst, res);
        } else if (g->stride_w == 1) {
          ic_dw3x3_rows_s1(a, plane, wv, _mm256_set1_ps(bias), &masks, y, dst, res);
        } else {
          ic_dw3x3_rows_s2(a, plane, wv, _mm256_set1_ps(bias), &masks, y, dst, res);
        }
        y += IC_ROWS;
        continue;
      }
      const int64_t iy0 = y * g->stride_h - g->pad_top;
      int64_t kh0, kh1;
      ic_tap_range(iy0, g->dilation_h, g->kernel_h, g->in_h, &kh0, &kh1);
      ic_planar_row(a, plane, w, bias, iy0, kh0, kh1, dst, res);
      y++;
    }
  }
}

/* ---- channel-contiguous: f32-dwconv2d-nhwc-impl.h ---- */

#define IC_M __m256i
#define IC_MASK_RANGE(lo, hi) ic_mask8(lo, hi)
#define IC_MASK_IS_ALL(m) (ic_mask8_bits(m) == 0xFF)
#define IC_VMASKLOAD(p, m) _mm256_maskload_ps(p, m)
#define IC_VMASKSTORE(p, m, v) _mm256_maskstore_ps(p, m, v)
#define IC_VI __m256i
#define IC_VI_ZERO() _mm256_setzero_si256()
#define IC_VI_LOAD(p) _mm256_loadu_si256((const __m256i*)(p))
#define IC_VPERMUTE(v, idx) _mm256_permutevar8x32_ps(v, idx)
#define IC_VACT(v, activation) ic_activate8(v, activation)
#define IC_TRANSPOSE(r) ic_transpose8x8(r)
#include "f32-dwconv/f32-dwconv2d-nhwc-impl.h"

void ic_f32_dwconv2d_ukernel_8p_8x8c__avx2(const ic_f32_dwconv2d_args_t* args) {
  if (ic_transposed_fits(args)) {
    ic_planar_transposed(args);
  } else if (args->src_stride.w == 1 && args->dst_stride.w == 1) {
    ic_planar(args);
  } else if (args->packed_weights != NULL && args->src_stride.c == 1 && args->dst_stride.c == 1) {
    ic_interleaved(args);
  } else {
    ic_f32_dwconv2d_ukernel_direct__scalar(args);
  }
}
