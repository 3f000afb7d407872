/*
 * ic_f32_invol2d_nchwc_ukernel_12x8c__avx2 — involution aggregation on nChw8c rows: 8
 * channels of a group per ymm, up to 12 output pixels in registers, each tap one FMA with the
 * pixel's weight broadcast from memory. The body is f32-invol2d-nchwc-impl.h.
 */
#define IC_EXPECT_ISA_AVX2
#include "isa-check.h"

#include <immintrin.h>

#include "ukernels.h"

#define IC_BLOCK 8
#define IC_PMAX 12
#define IC_V __m256
#define IC_VZERO() _mm256_setzero_ps()
#define IC_VLOAD(p) _mm256_loadu_ps(p)
#define IC_VSTORE(p, v) _mm256_storeu_ps(p, v)
#define IC_VSET1(x) _mm256_set1_ps(x)
#define IC_VBCAST(p) _mm256_broadcast_ss(p)
#define IC_VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define IC_VMAX(a, b) _mm256_max_ps(a, b)
#define IC_VMIN(a, b) _mm256_min_ps(a, b)
#define IC_AGG_FN ic_f32_invol2d_nchwc_ukernel_12x8c__avx2
#include "f32-invol2d-nchwc-impl.h"
