/*
 * ic_f32_transpose_ukernel_8x8__avx2 — 8 x 8 blocks in ymm registers. The body is
 * f32-transpose-impl.h.
 */
#define IC_EXPECT_ISA_AVX2
#include "isa-check.h"

#include <immintrin.h>

#include "simd-avx2.h"

#include "f32-conv/f32-conv2d-avx2.h"

#define IC_M __m256i
#define IC_MASK_RANGE(lo, hi) ic_mask8(lo, hi)
#define IC_VMASKLOAD(p, m) _mm256_maskload_ps(p, m)
#define IC_VMASKSTORE(p, m, v) _mm256_maskstore_ps(p, m, v)
#define IC_TRANSPOSE(r) ic_transpose8x8(r)
#define IC_VACT(v, activation) ic_activate8(v, activation)
#define IC_TRANSPOSE_FN ic_f32_transpose_ukernel_8x8__avx2
#include "f32-transpose/f32-transpose-impl.h"
