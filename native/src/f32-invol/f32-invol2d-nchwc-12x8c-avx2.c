/*
 * ic_f32_invol2d_nchwc_ukernel_12x8c__avx2 — involution aggregation on nChw8c rows: 8
 * channels of a group per ymm, up to 12 output pixels in registers, each tap one FMA with the
 * pixel's weight broadcast from memory. The body is f32-invol2d-nchwc-impl.h.
 */
#define IC_EXPECT_ISA_AVX2
#include "isa-check.h"

#include <immintrin.h>

#include "simd-avx2.h"

#include "ukernels.h"

#define IC_BLOCK 8
#define IC_PMAX 12
#define IC_VMAX(a, b) _mm256_max_ps(a, b)
#define IC_VMIN(a, b) _mm256_min_ps(a, b)
#define IC_AGG_FN ic_f32_invol2d_nchwc_ukernel_12x8c__avx2
#include "f32-invol2d-nchwc-impl.h"
