/*
 * A 16 x 16 float transpose in zmm registers, shared by the AVX-512 nChw16c pack and unpack
 * kernels: out[i][j] = in[j][i]. 64 shuffles (unpack, in-lane shuffle, two 128-bit lane
 * shuffles).
 */
#ifndef IC_F32_NCHWC_TRANSPOSE_AVX512_H
#define IC_F32_NCHWC_TRANSPOSE_AVX512_H

#include <immintrin.h>
#include <stdint.h>

static inline __attribute__((always_inline)) void ic_transpose_16x16(const __m512 in[16],
                                                                     __m512 out[16]) {
  __m512 t[16], u[16];
#pragma GCC unroll 16
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps(in[2 * i], in[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(in[2 * i], in[2 * i + 1]);
  }
  /* u[4m + k] holds rows 4m..4m+3 of columns k, k + 4, k + 8, k + 12 (one per 128-bit lane). */
#pragma GCC unroll 16
  for (int m = 0; m < 4; m++) {
    u[4 * m + 0] = _mm512_shuffle_ps(t[4 * m], t[4 * m + 2], 0x44);
    u[4 * m + 1] = _mm512_shuffle_ps(t[4 * m], t[4 * m + 2], 0xEE);
    u[4 * m + 2] = _mm512_shuffle_ps(t[4 * m + 1], t[4 * m + 3], 0x44);
    u[4 * m + 3] = _mm512_shuffle_ps(t[4 * m + 1], t[4 * m + 3], 0xEE);
  }
#pragma GCC unroll 16
  for (int k = 0; k < 4; k++) {
    const __m512 v0 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0x88);
    const __m512 v1 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0xDD);
    const __m512 v2 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0x88);
    const __m512 v3 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0xDD);
    out[k] = _mm512_shuffle_f32x4(v0, v2, 0x88);
    out[k + 8] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
    out[k + 4] = _mm512_shuffle_f32x4(v1, v3, 0x88);
    out[k + 12] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
  }
}

static inline __mmask16 ic_mask16(int64_t count) {
  return count >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (unsigned)count) - 1u);
}

#endif /* IC_F32_NCHWC_TRANSPOSE_AVX512_H */
