/*
 * f32-conv2d-avx512.h — AVX-512 helpers shared by the conv kernels of this ISA: the 16x16
 * transpose and the epilogue that writes a finished row of partial sums (pixel-major, in the
 * kernel's scratch) to dst with bias, residual and activation. Included by AVX-512 files only.
 */
#ifndef IC_F32_CONV2D_AVX512_H
#define IC_F32_CONV2D_AVX512_H

#if !defined(__AVX512F__)
#error "f32-conv2d-avx512.h is for AVX-512 kernel files"
#endif

#include <immintrin.h>

#include "internal.h"
#include "ukernels.h"

/* Lanes [lo, hi) of 16, as a mask (lo < hi <= 16 not required: empty when hi <= lo). */
static inline __mmask16 ic_mask16(int64_t lo, int64_t hi) {
  if (lo < 0) lo = 0;
  if (hi > 16) hi = 16;
  if (hi <= lo) return 0;
  return (__mmask16)((((uint32_t)1 << hi) - 1) & ~(((uint32_t)1 << lo) - 1));
}

/* max(0, v) keeps NaN (the second operand wins on NaN), as ic_activate does. */
static inline __m512 ic_activate16(__m512 v, int32_t activation) {
  if (activation == IC_ACTIVATION_NONE) return v;
  v = _mm512_max_ps(_mm512_setzero_ps(), v);
  if (activation == IC_ACTIVATION_RELU6) v = _mm512_min_ps(_mm512_set1_ps(6.0f), v);
  return v;
}

/* r[i] holds row i; afterwards r[j] holds column j. */
static inline void ic_transpose16x16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; i++) {
    r[4 * i + 0] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  for (int i = 0; i < 4; i++) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0x88);
    t[4 + i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0xDD);
    t[8 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0x88);
    t[12 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0xDD);
  }
  for (int i = 0; i < 8; i++) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
    r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xDD);
  }
}

/*
 * Writes output row y (args->y0 <= y < args->y1) of channels [oc, oc + 16 * blocks) from a
 * pixel-major row of sums: pixel x, channel oc + k is row[x * row_stride + k]. Only channels
 * inside [args->c0, args->c1) and [valid_lo, valid_hi) are written.
 */
static inline void ic_f32_conv2d_store_row_avx512(const ic_f32_conv2d_args_t* args,
                                                  const float* row, int64_t row_stride,
                                                  int64_t y, int64_t oc, int64_t blocks,
                                                  int64_t valid_lo, int64_t valid_hi) {
  const int64_t out_w = args->geometry->out_w;
  const ic_view_strides_t ds = args->dst_stride;
  const int64_t y_offset = (y - args->y0) * ds.h;
  const int64_t lo = ic_max_i64(args->c0, valid_lo), hi = ic_min_i64(args->c1, valid_hi);
  for (int64_t b = 0; b < blocks; b++) {
    const int64_t base = oc + b * 16;
    const __mmask16 lanes = ic_mask16(lo - base, hi - base);
    if (lanes == 0) continue;
    const __m512 bias = args->bias != NULL ? _mm512_maskz_loadu_ps(lanes, args->bias + base)
                                           : _mm512_setzero_ps();
    const float* sums = row + b * 16;
    if (ds.c == 1) {
      float* dst = args->dst + y_offset + base;
      const float* res = args->residual != NULL ? args->residual + y_offset + base : NULL;
      for (int64_t x = 0; x < out_w; x++) {
        __m512 v = _mm512_add_ps(_mm512_loadu_ps(sums + x * row_stride), bias);
        if (res != NULL) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(lanes, res + x * ds.w));
        _mm512_mask_storeu_ps(dst + x * ds.w, lanes, ic_activate16(v, args->activation));
      }
    } else if (ds.w == 1) {
      float bias_lanes[16];
      _mm512_storeu_ps(bias_lanes, bias);
      for (int64_t x0 = 0; x0 < out_w; x0 += 16) {
        const int64_t n = ic_min_i64(16, out_w - x0);
        const __mmask16 pixels = ic_mask16(0, n);
        __m512 r[16];
        for (int64_t i = 0; i < 16; i++) {
          r[i] = i < n ? _mm512_loadu_ps(sums + (x0 + i) * row_stride) : _mm512_setzero_ps();
        }
        ic_transpose16x16(r);
        for (int64_t k = 0; k < 16; k++) {
          if (!((lanes >> k) & 1)) continue;
          const int64_t offset = (base + k) * ds.c + y_offset + x0;
          __m512 v = _mm512_add_ps(r[k], _mm512_set1_ps(bias_lanes[k]));
          if (args->residual != NULL) {
            v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(pixels, args->residual + offset));
          }
          _mm512_mask_storeu_ps(args->dst + offset, pixels, ic_activate16(v, args->activation));
        }
      }
    } else {
      for (int64_t x = 0; x < out_w; x++) {
        for (int64_t k = 0; k < 16; k++) {
          if (!((lanes >> k) & 1)) continue;
          const int64_t offset = (base + k) * ds.c + y_offset + x * ds.w;
          float v = sums[x * row_stride + k] + (args->bias != NULL ? args->bias[base + k] : 0.0f);
          if (args->residual != NULL) v += args->residual[offset];
          args->dst[offset] = ic_activate(v, args->activation);
        }
      }
    }
  }
}

#endif /* IC_F32_CONV2D_AVX512_H */
