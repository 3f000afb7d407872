/*
 * f32-conv2d-avx2.h — AVX2 helpers shared by the conv kernels of this ISA: lane masks, the
 * activation, the 8x8 transpose and the epilogue that writes a finished row of partial sums
 * (pixel-major, in the kernel's scratch) to dst with bias, residual and activation. Included by
 * AVX2 files only.
 */
#ifndef IC_F32_CONV2D_AVX2_H
#define IC_F32_CONV2D_AVX2_H

#if !defined(__AVX2__) || !defined(__FMA__)
#error "f32-conv2d-avx2.h is for AVX2 kernel files"
#endif

#include <immintrin.h>

#include "internal.h"
#include "ukernels.h"

/* Lanes [lo, hi) of 8 as a maskload/maskstore mask (empty when hi <= lo). */
static inline __m256i ic_mask8(int64_t lo, int64_t hi) {
  if (lo < 0) lo = 0;
  if (hi > 8) hi = 8;
  if (hi < lo) hi = lo;
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i ge_lo = _mm256_cmpgt_epi32(lane, _mm256_set1_epi32((int)lo - 1));
  const __m256i lt_hi = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), lane);
  return _mm256_and_si256(ge_lo, lt_hi);
}

static inline int ic_mask8_bits(__m256i mask) {
  return _mm256_movemask_ps(_mm256_castsi256_ps(mask));
}

/* max(0, v) keeps NaN (the second operand wins on NaN), as ic_activate does. */
static inline __m256 ic_activate8(__m256 v, int32_t activation) {
  if (activation == IC_ACTIVATION_NONE) return v;
  v = _mm256_max_ps(_mm256_setzero_ps(), v);
  if (activation == IC_ACTIVATION_RELU6) v = _mm256_min_ps(_mm256_set1_ps(6.0f), v);
  return v;
}

/* r[i] holds row i; afterwards r[j] holds column j. */
static inline void ic_transpose8x8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/*
 * Writes output row y (args->y0 <= y < args->y1) of channels [oc, oc + 8 * vectors) from a
 * pixel-major row of sums: pixel x, channel oc + k is row[x * row_stride + k]. Only channels
 * inside [args->c0, args->c1) and [valid_lo, valid_hi) are written.
 */
static inline void ic_f32_conv2d_store_row_avx2(const ic_f32_conv2d_args_t* args,
                                                const float* row, int64_t row_stride,
                                                int64_t y, int64_t oc, int64_t vectors,
                                                int64_t valid_lo, int64_t valid_hi) {
  const int64_t out_w = args->geometry->out_w;
  const ic_view_strides_t ds = args->dst_stride;
  const int64_t y_offset = (y - args->y0) * ds.h;
  const int64_t lo = ic_max_i64(args->c0, valid_lo), hi = ic_min_i64(args->c1, valid_hi);
  for (int64_t b = 0; b < vectors; b++) {
    const int64_t base = oc + b * 8;
    const __m256i lanes = ic_mask8(lo - base, hi - base);
    const int bits = ic_mask8_bits(lanes);
    if (bits == 0) continue;
    const __m256 bias = args->bias != NULL ? _mm256_maskload_ps(args->bias + base, lanes)
                                           : _mm256_setzero_ps();
    const float* sums = row + b * 8;
    if (ds.c == 1) {
      float* dst = args->dst + y_offset + base;
      const float* res = args->residual != NULL ? args->residual + y_offset + base : NULL;
      for (int64_t x = 0; x < out_w; x++) {
        __m256 v = _mm256_add_ps(_mm256_loadu_ps(sums + x * row_stride), bias);
        if (res != NULL) v = _mm256_add_ps(v, _mm256_maskload_ps(res + x * ds.w, lanes));
        _mm256_maskstore_ps(dst + x * ds.w, lanes, ic_activate8(v, args->activation));
      }
    } else if (ds.w == 1) {
      float bias_lanes[8];
      _mm256_storeu_ps(bias_lanes, bias);
      for (int64_t x0 = 0; x0 < out_w; x0 += 8) {
        const int64_t n = ic_min_i64(8, out_w - x0);
        const __m256i pixels = ic_mask8(0, n);
        __m256 r[8];
        for (int64_t i = 0; i < 8; i++) {
          r[i] = i < n ? _mm256_loadu_ps(sums + (x0 + i) * row_stride) : _mm256_setzero_ps();
        }
        ic_transpose8x8(r);
        for (int64_t k = 0; k < 8; k++) {
          if (!((bits >> k) & 1)) continue;
          const int64_t offset = (base + k) * ds.c + y_offset + x0;
          __m256 v = _mm256_add_ps(r[k], _mm256_set1_ps(bias_lanes[k]));
          if (args->residual != NULL) {
            v = _mm256_add_ps(v, _mm256_maskload_ps(args->residual + offset, pixels));
          }
          _mm256_maskstore_ps(args->dst + offset, pixels, ic_activate8(v, args->activation));
        }
      }
    } else {
      for (int64_t x = 0; x < out_w; x++) {
        for (int64_t k = 0; k < 8; k++) {
          if (!((bits >> k) & 1)) continue;
          const int64_t offset = (base + k) * ds.c + y_offset + x * ds.w;
          float v = sums[x * row_stride + k] + (args->bias != NULL ? args->bias[base + k] : 0.0f);
          if (args->residual != NULL) v += args->residual[offset];
          args->dst[offset] = ic_activate(v, args->activation);
        }
      }
    }
  }
}

#endif /* IC_F32_CONV2D_AVX2_H */
