/*
 * ic_f32_transpose_ukernel_16x16__avx512 — 16 x 16 blocks in zmm registers. The body is
 * f32-transpose-impl.h.
 */
#define IC_EXPECT_ISA_AVX512
#include "isa-check.h"

#include <immintrin.h>

#include "simd-avx512.h"

#include "f32-conv/f32-conv2d-avx512.h"

#define IC_M __mmask16
#define IC_MASK_RANGE(lo, hi) ic_mask16(lo, hi)
#define IC_VMASKLOAD(p, m) _mm512_maskz_loadu_ps(m, p)
#define IC_VMASKSTORE(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define IC_TRANSPOSE(r) ic_transpose16x16(r)
#define IC_VACT(v, activation) ic_activate16(v, activation)
#define IC_TRANSPOSE_FN ic_f32_transpose_ukernel_16x16__avx512
#include "f32-transpose/f32-transpose-impl.h"
