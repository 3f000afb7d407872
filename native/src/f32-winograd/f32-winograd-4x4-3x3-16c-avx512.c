/*
 * ic_f32_winograd_ukernel_4x4_3x3_16c__avx512 — Winograd F(4x4, 3x3) on 16 channels per
 * vector, the GEMMs by the AVX-512 pointwise kernel. The body is f32-winograd-impl.h.
 */
#define IC_EXPECT_ISA_AVX512
#include "isa-check.h"

#include <immintrin.h>

#include "simd-avx512.h"

#include "f32-conv/f32-conv2d-avx512.h"

#define IC_VACT(v, activation) ic_activate16(v, activation)
#define IC_M __mmask16
#define IC_MASK_RANGE(lo, hi) ic_mask16(lo, hi)
#define IC_VMASKLOAD(p, m) _mm512_maskz_loadu_ps(m, p)
#define IC_VMASKSTORE(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define IC_WINO_GEMM ic_f32_pwconv2d_ukernel_8x48_6x64__avx512
#define IC_WINO_FN ic_f32_winograd_ukernel_4x4_3x3_16c__avx512
#include "f32-winograd/f32-winograd-impl.h"
