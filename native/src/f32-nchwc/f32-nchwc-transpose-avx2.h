/*
 * An 8 x 8 float transpose in ymm registers, shared by the AVX2 nChw8c pack and unpack
 * kernels: out[i][j] = in[j][i]. Also the lane masks of partial loads and stores.
 */
#ifndef IC_F32_NCHWC_TRANSPOSE_AVX2_H
#define IC_F32_NCHWC_TRANSPOSE_AVX2_H

#include <immintrin.h>
#include <stdint.h>

static inline __attribute__((always_inline)) void ic_transpose_8x8(const __m256 in[8],
                                                                   __m256 out[8]) {
  __m256 t[8], u[8];
#pragma GCC unroll 16
  for (int i = 0; i < 4; i++) {
    t[2 * i] = _mm256_unpacklo_ps(in[2 * i], in[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(in[2 * i], in[2 * i + 1]);
  }
#pragma GCC unroll 16
  for (int m = 0; m < 2; m++) {
    u[4 * m + 0] = _mm256_shuffle_ps(t[4 * m], t[4 * m + 2], 0x44);
    u[4 * m + 1] = _mm256_shuffle_ps(t[4 * m], t[4 * m + 2], 0xEE);
    u[4 * m + 2] = _mm256_shuffle_ps(t[4 * m + 1], t[4 * m + 3], 0x44);
    u[4 * m + 3] = _mm256_shuffle_ps(t[4 * m + 1], t[4 * m + 3], 0xEE);
  }
#pragma GCC unroll 16
  for (int k = 0; k < 4; k++) {
    out[k] = _mm256_permute2f128_ps(u[k], u[4 + k], 0x20);
    out[k + 4] = _mm256_permute2f128_ps(u[k], u[4 + k], 0x31);
  }
}

/* Lanes [0, count) set, for _mm256_maskload_ps / _mm256_maskstore_ps. */
static inline __m256i ic_mask8(int64_t count) {
  static const int32_t lanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256((const __m256i*)(lanes + 8 - (count >= 8 ? 8 : count)));
}

#endif /* IC_F32_NCHWC_TRANSPOSE_AVX2_H */
