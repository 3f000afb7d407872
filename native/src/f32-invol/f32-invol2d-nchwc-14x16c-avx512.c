/*
 * ic_f32_invol2d_nchwc_ukernel_14x16c__avx512 — involution aggregation on nChw16c rows: one
 * group of 16 channels per zmm, up to 14 output pixels in registers, each tap one FMA with an
 * embedded {1to16} broadcast of the pixel's weight. The body is f32-invol2d-nchwc-impl.h.
 */
#define IC_EXPECT_ISA_AVX512
#include "isa-check.h"

#include <immintrin.h>

#include "simd-avx512.h"

#include "ukernels.h"

#define IC_BLOCK 16
#define IC_PMAX 14
#define IC_VMAX(a, b) _mm512_max_ps(a, b)
#define IC_VMIN(a, b) _mm512_min_ps(a, b)
#define IC_AGG_FN ic_f32_invol2d_nchwc_ukernel_14x16c__avx512
#include "f32-invol2d-nchwc-impl.h"
