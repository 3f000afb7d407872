/*
 * ic_f32_pwconv2d_ukernel_4x24_6x16__avx2 — pointwise convolution as a GEMM over channels
 * with the packed weights (ukernels.h), two register tiles of 12 ymm accumulators:
 *
 *   pixel-contiguous source (NCHW):   4 output channels x 24 pixels; each step loads three
 *                                     pixel vectors and broadcasts 4 weights
 *   channel-contiguous source (NHWC): 6 pixels x 16 output channels; each step loads one
 *                                     packed weight block (two ymm) and broadcasts 6 inputs
 *
 * The AVX2 twin of f32-pwconv2d-8x48-6x64-avx512.c: the same chunked reduction (at most
 * IC_CHUNK channels per chain, chunks added in order) and fused epilogue. A dst of the other
 * layout is written element by element; other source strides, or no packed weights, take the
 * scalar kernel.
 */
#define IC_EXPECT_ISA_AVX2
#include "isa-check.h"

#include <immintrin.h>

#include "internal.h"
#include "ukernels.h"
#include "f32-conv/f32-conv2d-avx2.h"

enum { IC_CHUNK = 256 };


/* ---- pixel-contiguous: 4 channels x nv vectors of 8 pixels ---- */

enum { IC_P_MR = 4, IC_P_NV = 3 };

/* Channels [o0, o0 + 4) with o0 a multiple of 4 (inside one weight block); only those in
 * [c0, c1) are stored. The last vector holds `tail` pixels (masked). */
IC_INLINE void ic_planar_tile(const ic_f32_pwconv2d_args_t* a, int64_t o0, int64_t p0,
                              const int nv, __m256i last) {
  const int64_t k_total = a->in_channels;
  const float* w = a->packed_weights + (o0 / 16) * k_total * 16 + o0 % 16;
  const float* x = a->src + p0;
  __m256 acc[IC_P_MR][IC_P_NV];
  IC_UNROLL for (int i = 0; i < IC_P_MR; i++) {
    IC_UNROLL for (int v = 0; v < IC_P_NV; v++) acc[i][v] = _mm256_setzero_ps(); /* (for the compiler) */
  }
  for (int64_t k0 = 0;; k0 += IC_CHUNK) {
    const int64_t k1 = ic_min_i64(k0 + IC_CHUNK, k_total);
    __m256 sum[IC_P_MR][IC_P_NV];
    IC_UNROLL for (int i = 0; i < IC_P_MR; i++) {
      IC_UNROLL for (int v = 0; v < nv; v++) sum[i][v] = _mm256_setzero_ps();
    }
    for (int64_t c = k0; c < k1; c++) {
      const float* xc = x + c * a->src_stride_c;
      __m256 xv[IC_P_NV];
      IC_UNROLL for (int v = 0; v < nv; v++) {
        xv[v] = v + 1 < nv ? _mm256_loadu_ps(xc + v * 8) : _mm256_maskload_ps(xc + v * 8, last);
      }
      const float* wc = w + c * 16;
      IC_UNROLL for (int i = 0; i < IC_P_MR; i++) {
        const __m256 wv = _mm256_broadcast_ss(wc + i);
        IC_UNROLL for (int v = 0; v < nv; v++) sum[i][v] = _mm256_fmadd_ps(wv, xv[v], sum[i][v]);
      }
    }
    IC_UNROLL for (int i = 0; i < IC_P_MR; i++) {
      IC_UNROLL for (int v = 0; v < nv; v++) {
        acc[i][v] = k0 == 0 ? sum[i][v] : _mm256_add_ps(acc[i][v], sum[i][v]);
      }
    }
    if (k1 >= k_total) break;
  }
  const int64_t first = ic_max_i64(a->c0 - o0, 0), last_row = ic_min_i64(IC_P_MR, a->c1 - o0);
  const __m256i all = _mm256_set1_epi32(-1);
  IC_UNROLL for (int i = 0; i < IC_P_MR; i++) {
    if (i < first || i >= last_row) continue;
    const int64_t o = o0 + i;
    const __m256 bias = _mm256_set1_ps(a->bias != NULL ? a->bias[o] : 0.0f);
    IC_UNROLL for (int v = 0; v < nv; v++) {
      const __m256i m = v + 1 < nv ? all : last;
      __m256 y = _mm256_add_ps(acc[i][v], bias);
      if (a->dst_stride_p == 1) {
        float* dst = a->dst + o * a->dst_stride_c + p0 + v * 8;
        if (a->residual != NULL) {
          y = _mm256_add_ps(y, _mm256_maskload_ps(a->residual + (dst - a->dst), m));
        }
        _mm256_maskstore_ps(dst, m, ic_activate8(y, a->activation));
      } else {
        float lanes[8];
        _mm256_storeu_ps(lanes, y);
        const int bits = ic_mask8_bits(m);
        for (int64_t k = 0; k < 8 && (bits >> k) & 1; k++) {
          const int64_t offset = o * a->dst_stride_c + (p0 + v * 8 + k) * a->dst_stride_p;
          float value = lanes[k];
          if (a->residual != NULL) value += a->residual[offset];
          a->dst[offset] = ic_activate(value, a->activation);
        }
      }
    }
  }
}

static void ic_planar_tile_3(const ic_f32_pwconv2d_args_t* a, int64_t o0, int64_t p0, __m256i last) {
  ic_planar_tile(a, o0, p0, 3, last);
}
static void ic_planar_tile_2(const ic_f32_pwconv2d_args_t* a, int64_t o0, int64_t p0, __m256i last) {
  ic_planar_tile(a, o0, p0, 2, last);
}
static void ic_planar_tile_1(const ic_f32_pwconv2d_args_t* a, int64_t o0, int64_t p0, __m256i last) {
  ic_planar_tile(a, o0, p0, 1, last);
}

static void ic_columns(const ic_f32_pwconv2d_args_t* a, int64_t p0, int64_t p1);

static void ic_planar(const ic_f32_pwconv2d_args_t* a) {
  /* A short tail of pixels would fill a vector with a few lanes: it goes through the
   * channel-vector tiles instead. */
  const int64_t tail = a->pixels % 8 <= 4 && a->pixels > 8 ? a->pixels % 8 : 0;
  const int64_t pixels = a->pixels - tail;
  if (tail > 0) ic_columns(a, pixels, a->pixels);
  for (int64_t p0 = 0; p0 < pixels; p0 += IC_P_NV * 8) {
    const int64_t n = ic_min_i64(IC_P_NV * 8, pixels - p0);
    const int nv = (int)ic_divide_round_up(n, 8);
    const __m256i last = ic_mask8(0, n - (nv - 1) * 8);
    for (int64_t o0 = a->c0 - a->c0 % IC_P_MR; o0 < a->c1; o0 += IC_P_MR) {
      if (nv == 3) {
        ic_planar_tile_3(a, o0, p0, last);
      } else if (nv == 2) {
        ic_planar_tile_2(a, o0, p0, last);
      } else {
        ic_planar_tile_1(a, o0, p0, last);
      }
    }
  }
}

/* ---- channel-contiguous: mr pixels x one block of 16 channels (two ymm) ---- */

enum { IC_C_MR = 6 };

IC_INLINE void ic_packed_tile(const ic_f32_pwconv2d_args_t* a, int64_t ob, int64_t p0,
                              const int mr) {
  const int64_t k_total = a->in_channels;
  const float* w = a->packed_weights + ob * k_total * 16;
  const float* x = a->src + p0 * a->src_stride_p;
  const int64_t xps = a->src_stride_p, xcs = a->src_stride_c;
  __m256 acc[IC_C_MR][2];
  IC_UNROLL for (int i = 0; i < IC_C_MR; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps(); /* (for the compiler) */
  for (int64_t k0 = 0;; k0 += IC_CHUNK) {
    const int64_t k1 = ic_min_i64(k0 + IC_CHUNK, k_total);
    __m256 sum[IC_C_MR][2];
    IC_UNROLL for (int i = 0; i < mr; i++) sum[i][0] = sum[i][1] = _mm256_setzero_ps();
    for (int64_t c = k0; c < k1; c++) {
      const __m256 w0 = _mm256_loadu_ps(w + c * 16), w1 = _mm256_loadu_ps(w + c * 16 + 8);
      const float* xc = x + c * xcs;
      IC_UNROLL for (int i = 0; i < mr; i++) {
        const __m256 xv = _mm256_broadcast_ss(xc + i * xps);
        sum[i][0] = _mm256_fmadd_ps(xv, w0, sum[i][0]);
        sum[i][1] = _mm256_fmadd_ps(xv, w1, sum[i][1]);
      }
    }
    IC_UNROLL for (int i = 0; i < mr; i++) {
      IC_UNROLL for (int j = 0; j < 2; j++) {
        acc[i][j] = k0 == 0 ? sum[i][j] : _mm256_add_ps(acc[i][j], sum[i][j]);
      }
    }
    if (k1 >= k_total) break;
  }
  IC_UNROLL for (int j = 0; j < 2; j++) {
    const int64_t base = ob * 16 + j * 8;
    const __m256i lanes = ic_mask8(a->c0 - base, a->c1 - base);
    const int bits = ic_mask8_bits(lanes);
    if (bits == 0) continue;
    const __m256 bias = a->bias != NULL ? _mm256_maskload_ps(a->bias + base, lanes)
                                        : _mm256_setzero_ps();
    IC_UNROLL for (int i = 0; i < mr; i++) {
      __m256 y = _mm256_add_ps(acc[i][j], bias);
      if (a->dst_stride_c == 1) {
        const int64_t offset = (p0 + i) * a->dst_stride_p + base;
        if (a->residual != NULL) {
          y = _mm256_add_ps(y, _mm256_maskload_ps(a->residual + offset, lanes));
        }
        _mm256_maskstore_ps(a->dst + offset, lanes, ic_activate8(y, a->activation));
      } else {
        float values[8];
        _mm256_storeu_ps(values, y);
        for (int64_t k = 0; k < 8; k++) {
          if (!((bits >> k) & 1)) continue;
          const int64_t offset = (base + k) * a->dst_stride_c + (p0 + i) * a->dst_stride_p;
          float value = values[k];
          if (a->residual != NULL) value += a->residual[offset];
          a->dst[offset] = ic_activate(value, a->activation);
        }
      }
    }
  }
}

#define IC_PACKED_TILE(mr)                                                                 \
  static void ic_packed_tile_##mr(const ic_f32_pwconv2d_args_t* a, int64_t ob, int64_t p0) { \
    ic_packed_tile(a, ob, p0, mr);                                                         \
  }
IC_PACKED_TILE(1)
IC_PACKED_TILE(2)
IC_PACKED_TILE(3)
IC_PACKED_TILE(4)
IC_PACKED_TILE(5)
IC_PACKED_TILE(6)
#undef IC_PACKED_TILE

typedef void (*ic_packed_tile_fn)(const ic_f32_pwconv2d_args_t* a, int64_t ob, int64_t p0);
static const ic_packed_tile_fn ic_packed_tiles[IC_C_MR + 1] = {
    NULL, ic_packed_tile_1, ic_packed_tile_2, ic_packed_tile_3,
    ic_packed_tile_4, ic_packed_tile_5, ic_packed_tile_6};

/* Pixels [p0, p1) as tiles of up to IC_C_MR pixels x 16 channels (vectors along channels). */
static void ic_columns(const ic_f32_pwconv2d_args_t* a, int64_t p0, int64_t p1) {
  for (int64_t ob = a->c0 / 16; ob * 16 < a->c1; ob++) {
    for (int64_t p = p0; p < p1; p += IC_C_MR) ic_packed_tiles[ic_min_i64(IC_C_MR, p1 - p)](a, ob, p);
  }
}

static void ic_interleaved(const ic_f32_pwconv2d_args_t* a) { ic_columns(a, 0, a->pixels); }

void ic_f32_pwconv2d_ukernel_4x24_6x16__avx2(const ic_f32_pwconv2d_args_t* args) {
  if (args->packed_weights != NULL && args->src_stride_p == 1) {
    ic_planar(args);
  } else if (args->packed_weights != NULL && args->src_stride_c == 1) {
    ic_interleaved(args);
  } else {
    ic_f32_pwconv2d_ukernel_gemm__scalar(args);
  }
}
