/*
 * ic_f32_pwconv2d_ukernel_4x24_6x16__avx2 — pointwise convolution as a GEMM over channels
 * with the packed weights, two register tiles of 12 ymm accumulators: 4 output channels x 24
 * pixels (NCHW source), 6 pixels x 16 output channels, one packed weight block as two ymm
 * (NHWC source). The body is f32-pwconv2d-impl.h.
 */
#define IC_EXPECT_ISA_AVX2
#include "isa-check.h"

#include <immintrin.h>

#include "simd-avx2.h"

#include "f32-conv/f32-conv2d-avx2.h"

#define IC_VACT(v, activation) ic_activate8(v, activation)
#define IC_M __m256i
#define IC_MASK_RANGE(lo, hi) ic_mask8(lo, hi)
#define IC_MASK_ALL _mm256_set1_epi32(-1)
#define IC_MASK_BITS(m) ic_mask8_bits(m)
#define IC_VMASKLOAD(p, m) _mm256_maskload_ps(p, m)
#define IC_VMASKSTORE(p, m, v) _mm256_maskstore_ps(p, m, v)
#define IC_P_MR 4
#define IC_PW_AHEAD 0
#define IC_C_NV 2
#define IC_PW_FN ic_f32_pwconv2d_ukernel_4x24_6x16__avx2
#include "f32-pwconv/f32-pwconv2d-impl.h"
