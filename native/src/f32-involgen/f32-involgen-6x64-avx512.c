/*
 * ic_f32_involgen_ukernel_6x64__avx512 — Involution2d's kernel-generation 1x1 convolutions on
 * planar tiles: 6 output channels x 64 pixels (4 zmm) in 24 accumulators, the weights as
 * embedded broadcasts, masked tails. The body is f32-involgen-impl.h.
 */
#define IC_EXPECT_ISA_AVX512
#include "isa-check.h"

#include <immintrin.h>

#include "simd-avx512.h"

#include "ukernels.h"

#define IC_VW 16
#define IC_MR 6
#define IC_NV 4
#define IC_MASK __mmask16
#define IC_MASKN(n) ((__mmask16)((n) >= 16 ? 0xFFFFu : (1u << (n)) - 1u))
#define IC_VLOADM(p, m) _mm512_maskz_loadu_ps(m, p)
#define IC_VSTOREM(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define IC_VMAX(a, b) _mm512_max_ps(a, b)
#define IC_VMIN(a, b) _mm512_min_ps(a, b)
#define IC_GEN_ROWS_MORE(NV)         \
  case 5: IC_GEN_BLOCK(5, NV); break; \
  case 6: IC_GEN_BLOCK(6, NV); break;
#define IC_GEN_VECTORS_MORE \
  case 4: IC_GEN_ROWS(4) break;
#define IC_GEN_FN ic_f32_involgen_ukernel_6x64__avx512
#include "f32-involgen-impl.h"
