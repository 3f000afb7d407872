/*
 * ic_f32_nchwc_unpack_ukernel_8c__avx2 — nChw8c unpacking with AVX2: planar rows go through
 * 8 x 8 register transposes. The body is f32-nchwc-impl.h.
 */
#define IC_EXPECT_ISA_AVX2
#include "isa-check.h"

#include <immintrin.h>

#include "f32-nchwc-transpose-avx2.h"
#include "ukernels.h"

#define IC_B 8
#define IC_V __m256
#define IC_VZERO() _mm256_setzero_ps()
#define IC_VLOAD(p) _mm256_loadu_ps(p)
#define IC_VSTORE(p, v) _mm256_storeu_ps(p, v)
#define IC_VADD(a, b) _mm256_add_ps(a, b)
#define IC_VDIV(a, b) _mm256_div_ps(a, b)
#define IC_VSET1(x) _mm256_set1_ps(x)
#define IC_LOADN(p, n) _mm256_maskload_ps(p, ic_mask8(n))
#define IC_STOREN(p, v, n) _mm256_maskstore_ps(p, ic_mask8(n), v)
#define IC_TRANSPOSE(in, out) ic_transpose_8x8(in, out)
#define IC_UNPACK_FN ic_f32_nchwc_unpack_ukernel_8c__avx2
#include "f32-nchwc-unpack-impl.h"
