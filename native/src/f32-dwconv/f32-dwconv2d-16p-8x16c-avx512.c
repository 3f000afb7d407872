/*
 * ic_f32_dwconv2d_ukernel_16p_8x16c__avx512 — depthwise convolution (any multiplier, kernel,
 * stride, dilation, padding) on the caller's image, no packing of activations:
 *
 *   pixel-contiguous images (NCHW):   one output channel at a time, vectors of 16 output
 *                                     pixels along a row. 3x3 stride 1: input rows copied once
 *                                     into an aligned, zero-padded ring and the taps cut out
 *                                     with valignd (misaligned loads cost about twice aligned
 *                                     ones); other 3x3: blocks of 4 rows x 2 vectors with masks
 *                                     computed once per call; stride 2 de-interleaves two
 *                                     loads, larger strides gather; any kernel otherwise.
 *                                     3x3 planes of up to 256 pixels (stride 1 or 2): 16
 *                                     channels at a time transposed into a channel-contiguous
 *                                     tile, computed as below, and transposed back.
 *   channel-contiguous images (NHWC): vectors of 16 channels, 8 output pixels at a time (the
 *                                     3x3 weights in registers), with the packed weights
 *                                     (ic_f32_dwconv2d_pack_weights); the taps that fall into
 *                                     the padding are skipped.
 *
 * Each output sums its taps in (kernel row, kernel column) order from the bias with one fused
 * multiply-add per tap, then adds the residual and applies the activation. Depthwise layers
 * are memory-bound: the point is to read src and write dst once, at full vector width.
 */
#define IC_EXPECT_ISA_AVX512
#include "isa-check.h"

#include <immintrin.h>
#include <string.h>

#include "simd-avx512.h"
#include "internal.h"
#include "ukernels.h"
#include "f32-conv/f32-conv2d-avx512.h"


/* ---- pixel-contiguous ---- */

/* 16 input pixels starting at column col (stride 1) / col, col + s, ... (stride s), lanes
 * outside [0, in_w) or past `n` outputs read as 0. */
IC_INLINE __m512 ic_load_cols(const float* row, int64_t col, int64_t stride, int64_t in_w,
                              int64_t n, bool inside) {
  /* A span wholly outside the row (padding can be huge): no pointer is formed from col. */
  if (!inside && stride <= 2 && (col >= in_w || -col >= stride * 16)) return _mm512_setzero_ps();
  if (stride == 1) {
    if (inside) return _mm512_loadu_ps(row + col);
    return _mm512_maskz_loadu_ps(ic_mask16(ic_max_i64(-col, 0), ic_min_i64(in_w - col, n)),
                                 row + col);
  }
  if (stride == 2) {
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    __m512 lo, hi;
    if (inside) {
      lo = _mm512_loadu_ps(row + col);
      hi = _mm512_loadu_ps(row + col + 16);
    } else {
      /* span positions s in [first, last) are inside the row; outputs past n are not needed */
      const int64_t first = ic_max_i64(-col, 0), last = ic_min_i64(in_w - col, 2 * n - 1);
      lo = _mm512_maskz_loadu_ps(ic_mask16(first, last), row + col);
      hi = _mm512_maskz_loadu_ps(ic_mask16(first - 16, last - 16), row + col + 16);
    }
    return _mm512_permutex2var_ps(lo, even, hi);
  }
  /* lanes j with 0 <= col + j * stride < in_w and j < n (output pixels, so the products fit);
   * indices relative to the first valid column keep the base pointer inside the row */
  __mmask16 valid = 0;
  int32_t index[16] = {0};
  int64_t first = -1;
  for (int64_t j = 0; j < n && j < 16; j++) {
    const int64_t c = col + j * stride;
    if (c >= 0 && c < in_w) {
      if (first < 0) first = c;
      valid |= (__mmask16)(1u << j);
      index[j] = (int32_t)(c - first);
    }
  }
  if (valid == 0) return _mm512_setzero_ps();
  return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), valid, _mm512_loadu_si512(index),
                                  row + first, 4);
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
  const int64_t span = sw == 2 ? 32 : 16; /* columns one load covers (strides 1 and 2) */
  for (int64_t x0 = 0; x0 < g->out_w; x0 += 16) {
    const int64_t n = ic_min_i64(16, g->out_w - x0);
    const int64_t col0 = x0 * sw - g->pad_left;
    const bool inside = sw <= 2 && n == 16 && col0 >= 0 && col0 <= g->in_w - span - reach;
    __m512 acc = _mm512_set1_ps(bias);
    if (inside) {
      for (int64_t kh = kh0; kh < kh1; kh++) {
        const float* row = plane + (iy0 + kh * g->dilation_h) * a->src_stride.h + col0;
        const float* wk = w + kh * kw_count;
        for (int64_t kw = 0; kw < kw_count; kw++) {
          acc = _mm512_fmadd_ps(ic_load_cols(row + kw * dw, 0, sw, g->in_w, 16, true),
                                _mm512_set1_ps(wk[kw]), acc);
        }
      }
    } else {
      for (int64_t kh = kh0; kh < kh1; kh++) {
        const float* row = plane + (iy0 + kh * g->dilation_h) * a->src_stride.h;
        const float* wk = w + kh * kw_count;
        for (int64_t kw = 0; kw < kw_count; kw++) {
          acc = _mm512_fmadd_ps(ic_load_cols(row, col0 + kw * dw, sw, g->in_w, n, false),
                                _mm512_set1_ps(wk[kw]), acc);
        }
      }
    }
    const __mmask16 m = ic_mask16(0, n);
    if (res != NULL) acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, res + x0));
    _mm512_mask_storeu_ps(dst + x0, m, ic_activate16(acc, a->activation));
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
  __mmask16 lo[IC_MAX_VECTORS][3], hi[IC_MAX_VECTORS][3]; /* hi: stride 2's second load */
  __mmask16 out[IC_MAX_VECTORS];
  /* Stride 2, dilation 1: the 33 columns [col, col + 33) of a vector's three taps, as two
   * vectors and one extra element. */
  __mmask16 span_lo[IC_MAX_VECTORS], span_hi[IC_MAX_VECTORS], span_extra[IC_MAX_VECTORS];
} ic_dw3x3_t;

static void ic_dw3x3_masks(const ic_conv2d_geometry_t* g, ic_dw3x3_t* m) {
  m->vectors = ic_divide_round_up(g->out_w, 16);
  const int64_t sw = g->stride_w;
  for (int64_t v = 0; v < m->vectors; v++) {
    const int64_t n = ic_min_i64(16, g->out_w - v * 16);
    m->out[v] = ic_mask16(0, n);
    for (int64_t kw = 0; kw < 3; kw++) {
      const int64_t col = v * 16 * sw - g->pad_left + kw * g->dilation_w;
      /* span positions s = sw * j (j < n) of [col, col + 16 * sw) inside [0, in_w) */
      const int64_t first = ic_max_i64(-col, 0), last = ic_min_i64(g->in_w - col, sw * (n - 1) + 1);
      m->lo[v][kw] = ic_mask16(first, last);
      m->hi[v][kw] = ic_mask16(first - 16, last - 16);
    }
    const int64_t col = v * 16 * sw - g->pad_left;
    const int64_t first = ic_max_i64(-col, 0), last = ic_min_i64(g->in_w - col, 2 * n + 1);
    m->span_lo[v] = ic_mask16(first, last);
    m->span_hi[v] = ic_mask16(first - 16, last - 16);
    m->span_extra[v] = ic_mask16(first - 32, last - 32) & 1;
  }
}

IC_INLINE __m512 ic_dw3x3_load(const float* p, const ic_dw3x3_t* m, int64_t v, int64_t kw,
                               const int64_t S) {
  if (S == 1) return _mm512_maskz_loadu_ps(m->lo[v][kw], p);
  const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512 lo = _mm512_maskz_loadu_ps(m->lo[v][kw], p);
  const __m512 hi = _mm512_maskz_loadu_ps(m->hi[v][kw], p + 16);
  return _mm512_permutex2var_ps(lo, even, hi);
}

/* How a block of 3x3 outputs loads its inputs, a constant of each function that runs blocks.
 * (The stride-2 rows once chose between spans and taps at run time: that one function took
 * clang's register allocator 134 of the file's 263 s under UBSan.) */
typedef enum ic_dw3x3_loads {
  IC_DW3X3_SHARED, /* stride 1, dilation 1 vertically: each input row once for every output row */
  IC_DW3X3_SPAN,   /* stride 2, dilation 1 along the row: one 33-column span per kernel row */
  IC_DW3X3_TAPS,   /* otherwise: each tap's vector by itself */
} ic_dw3x3_loads_t;

/* Output rows y .. y + rows - 1 (rows <= IC_ROWS) of one channel, vectors [v, v + nv). */
IC_INLINE void ic_dw3x3_block(const ic_f32_dwconv2d_args_t* a, const float* plane,
                              const __m512 wv[9], __m512 bias, const ic_dw3x3_t* m, int64_t y,
                              int64_t v, float* dst, const float* res, const int rows,
                              const int nv, const int64_t S, const ic_dw3x3_loads_t loads) {
  const ic_conv2d_geometry_t* g = a->geometry;
  const int64_t xh = a->src_stride.h, dw = g->dilation_w;
  __m512 acc[IC_ROWS][2];
  IC_UNROLL for (int i = 0; i < rows; i++) acc[i][0] = acc[i][1] = bias;
  if (loads == IC_DW3X3_SHARED) {
    /* Input row r feeds output row i with kernel row r - i: ascending kernel rows per output. */
    const float* row0 = plane + (y * S - g->pad_top) * xh;
    IC_UNROLL for (int r = 0; r < rows + 2; r++) {
      IC_UNROLL for (int kw = 0; kw < 3; kw++) {
        IC_UNROLL for (int j = 0; j < nv; j++) {
          const int64_t col = (v + j) * 16 * S - g->pad_left + kw * dw;
          const __m512 x = ic_dw3x3_load(row0 + r * xh + col, m, v + j, kw, S);
          IC_UNROLL for (int i = 0; i < rows; i++) {
            const int kh = r - i;
            if (kh >= 0 && kh < 3) acc[i][j] = _mm512_fmadd_ps(x, wv[kh * 3 + kw], acc[i][j]);
          }
        }
      }
    }
  } else if (loads == IC_DW3X3_SPAN) {
    /* One 33-column span per kernel row: taps 0 and 1 are its even and odd columns, tap 2 the
     * even ones shifted by a lane with the extra column appended. */
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    IC_UNROLL for (int i = 0; i < rows; i++) {
      const float* row0 = plane + ((y + i) * g->stride_h - g->pad_top) * xh;
      IC_UNROLL for (int kh = 0; kh < 3; kh++) {
        const float* row = row0 + kh * g->dilation_h * xh;
        IC_UNROLL for (int j = 0; j < nv; j++) {
          const float* p = row + (v + j) * 32 - g->pad_left;
          const __m512 lo = _mm512_maskz_loadu_ps(m->span_lo[v + j], p);
          const __m512 hi = _mm512_maskz_loadu_ps(m->span_hi[v + j], p + 16);
          const __m512 extra = _mm512_maskz_loadu_ps(m->span_extra[v + j], p + 32);
          const __m512 x0 = _mm512_permutex2var_ps(lo, even, hi);
          const __m512 x1 = _mm512_permutex2var_ps(lo, odd, hi);
          const __m512 x2 = _mm512_castsi512_ps(
              _mm512_alignr_epi32(_mm512_castps_si512(extra), _mm512_castps_si512(x0), 1));
          acc[i][j] = _mm512_fmadd_ps(x0, wv[kh * 3 + 0], acc[i][j]);
          acc[i][j] = _mm512_fmadd_ps(x1, wv[kh * 3 + 1], acc[i][j]);
          acc[i][j] = _mm512_fmadd_ps(x2, wv[kh * 3 + 2], acc[i][j]);
        }
      }
    }
  } else {
    IC_UNROLL for (int i = 0; i < rows; i++) {
      const float* row0 = plane + ((y + i) * g->stride_h - g->pad_top) * xh;
      IC_UNROLL for (int kh = 0; kh < 3; kh++) {
        const float* row = row0 + kh * g->dilation_h * xh;
        IC_UNROLL for (int kw = 0; kw < 3; kw++) {
          IC_UNROLL for (int j = 0; j < nv; j++) {
            const int64_t col = (v + j) * 16 * S - g->pad_left + kw * dw;
            const __m512 x = ic_dw3x3_load(row + col, m, v + j, kw, S);
            acc[i][j] = _mm512_fmadd_ps(x, wv[kh * 3 + kw], acc[i][j]);
          }
        }
      }
    }
  }
  IC_UNROLL for (int i = 0; i < rows; i++) {
    IC_UNROLL for (int j = 0; j < nv; j++) {
      const int64_t offset = i * a->dst_stride.h + (v + j) * 16;
      __m512 out = acc[i][j];
      if (res != NULL) out = _mm512_add_ps(out, _mm512_maskz_loadu_ps(m->out[v + j], res + offset));
      _mm512_mask_storeu_ps(dst + offset, m->out[v + j], ic_activate16(out, a->activation));
    }
  }
}

/*
 * 3x3, stride 1, dilation 1 (the common case): a misaligned 64-byte load costs about twice an
 * aligned one, so the input rows are first copied, once each, into a small ring of aligned,
 * zero-padded row buffers laid out so that output vector v's taps start at block v + 1:
 * column c sits at index IC_RING_LEFT + pad_left + c. Tap kw of vector v is then block v + 1
 * shifted by kw (valignd with a constant), and the zero margins are the padding. Blocks of
 * IC_RING_BLOCK output rows share their input rows: a block of 6 rows reads 8 input rows (one
 * of 4 read 6) into 12 accumulators. Blocks of 4 rows took 6-10 % longer on the Intel Xeon of
 * docs/BENCHMARKS.md (2 threads: 112x112x32 0.0587 against 0.0555 ms, 56x56x144 0.083 against
 * 0.075), blocks of 8 rows (a ring of 16 slots) 6 % longer. The ring's slots are a power of
 * two: the slot of a row is a mask, not a division.
 */
enum { IC_RING_LEFT = 16, IC_RING_BLOCK = 6, IC_RING_ROWS = 8, IC_RING_FLOATS = 640 };

typedef struct ic_ring {
  float rows[IC_RING_ROWS][IC_RING_FLOATS] __attribute__((aligned(64)));
  int64_t loaded_lo, loaded_hi; /* image rows [lo, hi) are in the ring, at slot row % 8 */
} ic_ring_t;

/* Whether the padded row fits the ring: blocks up to v + 2 of the last vector. */
static bool ic_ring_fits(const ic_conv2d_geometry_t* g) {
  const int64_t vectors = ic_divide_round_up(g->out_w, 16);
  return g->pad_left <= 64 && g->in_w <= 512 &&
         IC_RING_LEFT + g->pad_left + g->in_w <= IC_RING_FLOATS &&
         16 * (vectors + 2) <= IC_RING_FLOATS;
}

static void ic_ring_load(ic_ring_t* ring, const float* plane, int64_t row_stride,
                         const ic_conv2d_geometry_t* g, int64_t lo, int64_t hi) {
  if (lo < ring->loaded_lo || lo > ring->loaded_hi) ring->loaded_lo = ring->loaded_hi = lo;
  for (int64_t iy = ring->loaded_hi; iy < hi; iy++) {
    const float* src = plane + iy * row_stride;
    float* dst = ring->rows[iy & (IC_RING_ROWS - 1)] + IC_RING_LEFT + g->pad_left;
    int64_t c = 0;
    for (; c + 16 <= g->in_w; c += 16) _mm512_storeu_ps(dst + c, _mm512_loadu_ps(src + c));
    if (c < g->in_w) {
      const __mmask16 m = ic_mask16(0, g->in_w - c);
      _mm512_mask_storeu_ps(dst + c, m, _mm512_maskz_loadu_ps(m, src + c));
    }
  }
  ring->loaded_hi = ic_max_i64(ring->loaded_hi, hi);
  if (ring->loaded_hi - ring->loaded_lo > IC_RING_ROWS) ring->loaded_lo = ring->loaded_hi - IC_RING_ROWS;
}

#define IC_SHIFT(hi, lo, n) \
  _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(hi), _mm512_castps_si512(lo), n))

/* Output rows y .. y + rows - 1 of one channel, vectors [v, v + nv); kernel rows [kh0, kh1)
 * of each are in the ring (for a block: all three). Weights of the 3x3 in wv. */
IC_INLINE void ic_ring_block(const ic_f32_dwconv2d_args_t* a, const ic_ring_t* ring,
                             const __m512 wv[9], __m512 bias, const ic_dw3x3_t* m, int64_t y,
                             int64_t v, float* dst, const float* res, const int nv,
                             const int rows, int64_t kh0, int64_t kh1) {
  const ic_conv2d_geometry_t* g = a->geometry;
  __m512 acc[IC_RING_BLOCK][2];
  IC_UNROLL for (int i = 0; i < rows; i++) acc[i][0] = acc[i][1] = bias;
  const int64_t iy0 = y - g->pad_top;
  /* Input row r feeds output row i with kernel row r - i: ascending kernel rows per output. */
  IC_UNROLL for (int r = 0; r < rows + 2; r++) {
    if (rows == 1 && (r < kh0 || r >= kh1)) continue;
    const float* row = ring->rows[(iy0 + r) & (IC_RING_ROWS - 1)] + 16 * (v + 1);
    __m512 b[3];
    IC_UNROLL for (int k = 0; k <= nv; k++) b[k] = _mm512_load_ps(row + 16 * k);
    IC_UNROLL for (int j = 0; j < nv; j++) {
      const __m512 x0 = b[j], x1 = IC_SHIFT(b[j + 1], b[j], 1), x2 = IC_SHIFT(b[j + 1], b[j], 2);
      IC_UNROLL for (int i = 0; i < rows; i++) {
        const int kh = r - i;
        if (kh >= 0 && kh < 3) {
          acc[i][j] = _mm512_fmadd_ps(x0, wv[kh * 3 + 0], acc[i][j]);
          acc[i][j] = _mm512_fmadd_ps(x1, wv[kh * 3 + 1], acc[i][j]);
          acc[i][j] = _mm512_fmadd_ps(x2, wv[kh * 3 + 2], acc[i][j]);
        }
      }
    }
  }
  IC_UNROLL for (int i = 0; i < rows; i++) {
    IC_UNROLL for (int j = 0; j < nv; j++) {
      const int64_t offset = i * a->dst_stride.h + (v + j) * 16;
      __m512 out = acc[i][j];
      if (res != NULL) out = _mm512_add_ps(out, _mm512_maskz_loadu_ps(m->out[v + j], res + offset));
      _mm512_mask_storeu_ps(dst + offset, m->out[v + j], ic_activate16(out, a->activation));
    }
  }
}

static void ic_ring_rows(const ic_f32_dwconv2d_args_t* a, const ic_ring_t* ring,
                         const __m512 wv[9], __m512 bias, const ic_dw3x3_t* m, int64_t y,
                         float* dst, const float* res) {
  int64_t v = 0;
  for (; v + 2 <= m->vectors; v += 2) {
    ic_ring_block(a, ring, wv, bias, m, y, v, dst, res, 2, IC_RING_BLOCK, 0, 3);
  }
  if (v < m->vectors) ic_ring_block(a, ring, wv, bias, m, y, v, dst, res, 1, IC_RING_BLOCK, 0, 3);
}

/* One output row whose kernel rows [kh0, kh1) are inside the image (the top and bottom rows). */
static void ic_ring_row1(const ic_f32_dwconv2d_args_t* a, const ic_ring_t* ring,
                         const __m512 wv[9], __m512 bias, const ic_dw3x3_t* m, int64_t y,
                         float* dst, const float* res, int64_t kh0, int64_t kh1) {
  int64_t v = 0;
  for (; v + 2 <= m->vectors; v += 2) ic_ring_block(a, ring, wv, bias, m, y, v, dst, res, 2, 1, kh0, kh1);
  if (v < m->vectors) ic_ring_block(a, ring, wv, bias, m, y, v, dst, res, 1, 1, kh0, kh1);
}

/* All rows [y0, y1) of channels [c0, c1) of a 3x3 stride-1 undilated conv through the ring. */
static void ic_planar_ring(const ic_f32_dwconv2d_args_t* a, const ic_dw3x3_t* m) {
  const ic_conv2d_geometry_t* g = a->geometry;
  const int64_t multiplier = g->out_channels / g->in_channels;
  ic_ring_t ring;
  /* Zero margins (the padding); the columns of the image are overwritten row by row. */
  const int64_t left = IC_RING_LEFT + g->pad_left, right = left + g->in_w;
  for (int r = 0; r < IC_RING_ROWS; r++) {
    memset(ring.rows[r], 0, (size_t)left * sizeof(float));
    memset(ring.rows[r] + right, 0, (size_t)(IC_RING_FLOATS - right) * sizeof(float));
  }
  const int64_t y_in0 = g->pad_top, y_in1 = ic_max_i64(g->in_h - 2 + g->pad_top, 0);
  for (int64_t o = a->c0; o < a->c1; o++) {
    const float* plane = a->src + (o / multiplier) * a->src_stride.c;
    const float* w = a->weights + o * 9;
    __m512 wv[9];
    for (int t = 0; t < 9; t++) wv[t] = _mm512_set1_ps(w[t]);
    const __m512 bias = _mm512_set1_ps(a->bias != NULL ? a->bias[o] : 0.0f);
    ring.loaded_lo = ring.loaded_hi = INT64_MIN / 2; /* a new plane: nothing loaded */
    for (int64_t y = a->y0; y < a->y1;) {
      const int64_t offset = o * a->dst_stride.c + (y - a->y0) * a->dst_stride.h;
      float* dst = a->dst + offset;
      const float* res = a->residual != NULL ? a->residual + offset : NULL;
      const int64_t iy0 = y - g->pad_top;
      if (y >= y_in0 && y + IC_RING_BLOCK <= ic_min_i64(y_in1, a->y1)) {
        ic_ring_load(&ring, plane, a->src_stride.h, g, iy0, iy0 + IC_RING_BLOCK + 2);
        ic_ring_rows(a, &ring, wv, bias, m, y, dst, res);
        y += IC_RING_BLOCK;
      } else {
        int64_t kh0, kh1;
        ic_tap_range(iy0, 1, 3, g->in_h, &kh0, &kh1);
        if (kh0 < kh1) ic_ring_load(&ring, plane, a->src_stride.h, g, iy0 + kh0, iy0 + kh1);
        ic_ring_row1(a, &ring, wv, bias, m, y, dst, res, kh0, kh1);
        y++;
      }
    }
  }
}

IC_INLINE void ic_dw3x3_rows(const ic_f32_dwconv2d_args_t* a, const float* plane,
                             const __m512 wv[9], __m512 bias, const ic_dw3x3_t* m, int64_t y,
                             float* dst, const float* res, const int rows, const int64_t S,
                             const ic_dw3x3_loads_t loads) {
  int64_t v = 0;
  for (; v + 2 <= m->vectors; v += 2) {
    ic_dw3x3_block(a, plane, wv, bias, m, y, v, dst, res, rows, 2, S, loads);
  }
  if (v < m->vectors) ic_dw3x3_block(a, plane, wv, bias, m, y, v, dst, res, rows, 1, S, loads);
}

static void ic_dw3x3_rows_s1_shared(const ic_f32_dwconv2d_args_t* a, const float* plane,
                                    const __m512 wv[9], __m512 bias, const ic_dw3x3_t* m,
                                    int64_t y, float* dst, const float* res) {
  ic_dw3x3_rows(a, plane, wv, bias, m, y, dst, res, IC_ROWS, 1, IC_DW3X3_SHARED);
}
static void ic_dw3x3_rows_s1(const ic_f32_dwconv2d_args_t* a, const float* plane,
                             const __m512 wv[9], __m512 bias, const ic_dw3x3_t* m, int64_t y,
                             float* dst, const float* res) {
  ic_dw3x3_rows(a, plane, wv, bias, m, y, dst, res, IC_ROWS, 1, IC_DW3X3_TAPS);
}
static void ic_dw3x3_rows_s2(const ic_f32_dwconv2d_args_t* a, const float* plane,
                             const __m512 wv[9], __m512 bias, const ic_dw3x3_t* m, int64_t y,
                             float* dst, const float* res) {
  ic_dw3x3_rows(a, plane, wv, bias, m, y, dst, res, IC_ROWS, 2, IC_DW3X3_SPAN);
}
static void ic_dw3x3_rows_s2_taps(const ic_f32_dwconv2d_args_t* a, const float* plane,
                                  const __m512 wv[9], __m512 bias, const ic_dw3x3_t* m,
                                  int64_t y, float* dst, const float* res) {
  ic_dw3x3_rows(a, plane, wv, bias, m, y, dst, res, IC_ROWS, 2, IC_DW3X3_TAPS);
}
/* One row: the interior rows a task's row range leaves after its blocks of IC_ROWS. They went
 * through the generic row (taps looped, a weight broadcast per tap): 28x28 stride 2 with
 * padding before, in tasks of 12 rows, had 6 of its 14 rows there (0.030-0.043 -> 0.027 ms
 * for 192 channels on 2 threads with these). */
static void ic_dw3x3_row1_s1(const ic_f32_dwconv2d_args_t* a, const float* plane,
                             const __m512 wv[9], __m512 bias, const ic_dw3x3_t* m, int64_t y,
                             float* dst, const float* res) {
  ic_dw3x3_rows(a, plane, wv, bias, m, y, dst, res, 1, 1, IC_DW3X3_TAPS);
}
static void ic_dw3x3_row1_s2(const ic_f32_dwconv2d_args_t* a, const float* plane,
                             const __m512 wv[9], __m512 bias, const ic_dw3x3_t* m, int64_t y,
                             float* dst, const float* res) {
  if (a->geometry->dilation_w == 1) {
    ic_dw3x3_rows(a, plane, wv, bias, m, y, dst, res, 1, 2, IC_DW3X3_SPAN);
  } else {
    ic_dw3x3_rows(a, plane, wv, bias, m, y, dst, res, 1, 2, IC_DW3X3_TAPS);
  }
}

static void ic_planar(const ic_f32_dwconv2d_args_t* a) {
  const ic_conv2d_geometry_t* g = a->geometry;
  const int64_t multiplier = g->out_channels / g->in_channels;
  const int64_t taps = g->kernel_h * g->kernel_w;
  const bool k3 = g->kernel_h == 3 && g->kernel_w == 3 && (g->stride_w == 1 || g->stride_w == 2) &&
                  ic_divide_round_up(g->out_w, 16) <= IC_MAX_VECTORS;
  ic_dw3x3_t masks;
  masks.vectors = 0;
  if (k3) ic_dw3x3_masks(g, &masks);
  if (k3 && g->stride_w == 1 && g->stride_h == 1 && g->dilation_w == 1 && g->dilation_h == 1 &&
      ic_ring_fits(g)) {
    ic_planar_ring(a, &masks);
    return;
  }
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
    __m512 wv[9];
    for (int t = 0; t < 9; t++) wv[t] = _mm512_set1_ps(k3 ? w[t] : 0.0f);
    for (int64_t y = a->y0; y < a->y1;) {
      const int64_t offset = o * a->dst_stride.c + (y - a->y0) * a->dst_stride.h;
      float* dst = a->dst + offset;
      const float* res = a->residual != NULL ? a->residual + offset : NULL;
      if (k3 && y >= y_in0 && y + IC_ROWS <= ic_min_i64(y_in1, a->y1)) {
        if (shared) {
          ic_dw3x3_rows_s1_shared(a, plane, wv, _mm512_set1_ps(bias), &masks, y, dst, res);
        } else if (g->stride_w == 1) {
          ic_dw3x3_rows_s1(a, plane, wv, _mm512_set1_ps(bias), &masks, y, dst, res);
        } else if (g->dilation_w == 1) {
          ic_dw3x3_rows_s2(a, plane, wv, _mm512_set1_ps(bias), &masks, y, dst, res);
        } else {
          ic_dw3x3_rows_s2_taps(a, plane, wv, _mm512_set1_ps(bias), &masks, y, dst, res);
        }
        y += IC_ROWS;
        continue;
      }
      if (k3 && y >= y_in0 && y < ic_min_i64(y_in1, a->y1)) {
        if (g->stride_w == 1) {
          ic_dw3x3_row1_s1(a, plane, wv, _mm512_set1_ps(bias), &masks, y, dst, res);
        } else {
          ic_dw3x3_row1_s2(a, plane, wv, _mm512_set1_ps(bias), &masks, y, dst, res);
        }
        y++;
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

#define IC_M __mmask16
#define IC_MASK_RANGE(lo, hi) ic_mask16(lo, hi)
#define IC_MASK_IS_ALL(m) ((m) == 0xFFFF)
#define IC_VMASKLOAD(p, m) _mm512_maskz_loadu_ps(m, p)
#define IC_VMASKSTORE(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define IC_VI __m512i
#define IC_VI_ZERO() _mm512_setzero_si512()
#define IC_VI_LOAD(p) _mm512_loadu_si512(p)
#define IC_VPERMUTE(v, idx) _mm512_permutexvar_ps(idx, v)
#define IC_VACT(v, activation) ic_activate16(v, activation)
#define IC_TRANSPOSE(r) ic_transpose16x16(r)
#include "f32-dwconv/f32-dwconv2d-nhwc-impl.h"

void ic_f32_dwconv2d_ukernel_16p_8x16c__avx512(const ic_f32_dwconv2d_args_t* args) {
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
