/*
 * ic_f32_nchwc_unpack_ukernel_8c__avx2 — nChw8c unpacking with AVX2: planar rows go through
 * 8 x 8 register transposes. The body is f32-nchwc-impl.h.
 */
#define IC_EXPECT_ISA_AVX2
#include "isa-check.h"

#include <immintrin.h>

#include "simd-avx2.h"

#include "f32-nchwc-transpose-avx2.h"
#include "ukernels.h"

#define IC_B 8
#define IC_VDIV(a, b) _mm256_div_ps(a, b)
#define IC_LOADN(p, n) _mm256_maskload_ps(p, ic_mask8(n))
#define IC_STOREN(p, v, n) _mm256_maskstore_ps(p, ic_mask8(n), v)
#define IC_TRANSPOSE(in, out) ic_transpose_8x8(in, out)
#define IC_UNPACK_FN ic_f32_nchwc_unpack_ukernel_8c__avx2
#include "f32-nchwc-unpack-impl.h"
