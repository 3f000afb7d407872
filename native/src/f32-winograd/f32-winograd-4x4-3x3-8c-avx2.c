/*
 * ic_f32_winograd_ukernel_4x4_3x3_8c__avx2 — Winograd F(4x4, 3x3) on 8 channels per vector,
 * the GEMMs by the AVX2 pointwise kernel. The body is f32-winograd-impl.h.
 */
#define IC_EXPECT_ISA_AVX2
#include "isa-check.h"

#include <immintrin.h>

#include "simd-avx2.h"

#include "f32-conv/f32-conv2d-avx2.h"

#define IC_VACT(v, activation) ic_activate8(v, activation)
#define IC_M __m256i
#define IC_MASK_RANGE(lo, hi) ic_mask8(lo, hi)
#define IC_VMASKLOAD(p, m) _mm256_maskload_ps(p, m)
#define IC_VMASKSTORE(p, m, v) _mm256_maskstore_ps(p, m, v)
#define IC_WINO_GEMM ic_f32_pwconv2d_ukernel_4x24_6x16__avx2
#define IC_WINO_FN ic_f32_winograd_ukernel_4x4_3x3_8c__avx2
#include "f32-winograd/f32-winograd-impl.h"
