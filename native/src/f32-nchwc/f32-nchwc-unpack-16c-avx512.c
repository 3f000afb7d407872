/*
 * ic_f32_nchwc_unpack_ukernel_16c__avx512 — nChw16c unpacking with AVX-512: planar rows go
 * through 16 x 16 register transposes. The body is f32-nchwc-impl.h.
 */
#define IC_EXPECT_ISA_AVX512
#include "isa-check.h"

#include <immintrin.h>

#include "simd-avx512.h"

#include "f32-nchwc-transpose-avx512.h"
#include "ukernels.h"

#define IC_B 16
#define IC_VDIV(a, b) _mm512_div_ps(a, b)
#define IC_LOADN(p, n) _mm512_maskz_loadu_ps(ic_mask16(n), p)
#define IC_STOREN(p, v, n) _mm512_mask_storeu_ps(p, ic_mask16(n), v)
#define IC_TRANSPOSE(in, out) ic_transpose_16x16(in, out)
#define IC_UNPACK_FN ic_f32_nchwc_unpack_ukernel_16c__avx512
#include "f32-nchwc-unpack-impl.h"
