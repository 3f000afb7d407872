/*
 * ic_f32_involgen_ukernel_4x24__avx2 — Involution2d's kernel-generation 1x1 convolutions on
 * planar tiles: 4 output channels x 24 pixels (3 ymm) in 12 accumulators, masked tails. The
 * body is f32-involgen-impl.h.
 */
#define IC_EXPECT_ISA_AVX2
#include "isa-check.h"

#include <immintrin.h>

#include "simd-avx2.h"

#include "ukernels.h"

static inline __m256i ic_gen_mask8(int64_t count) {
  static const int32_t lanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256((const __m256i*)(lanes + 8 - (count >= 8 ? 8 : count)));
}

#define IC_VW 8
#define IC_MR 4
#define IC_NV 3
#define IC_MASK __m256i
#define IC_MASKN(n) ic_gen_mask8(n)
#define IC_VLOADM(p, m) _mm256_maskload_ps(p, m)
#define IC_VSTOREM(p, m, v) _mm256_maskstore_ps(p, m, v)
#define IC_VMAX(a, b) _mm256_max_ps(a, b)
#define IC_VMIN(a, b) _mm256_min_ps(a, b)
#define IC_GEN_ROWS_MORE(NV)
#define IC_GEN_VECTORS_MORE
#define IC_GEN_FN ic_f32_involgen_ukernel_4x24__avx2
#include "f32-involgen-impl.h"
