/*
 * ic_f32_pwconv2d_ukernel_8x48_6x64__avx512 — pointwise convolution as a GEMM over channels
 * with the packed weights, two register tiles of 24 zmm accumulators: 8 output channels x 48
 * pixels (NCHW source), 6 pixels x 64 output channels (NHWC source). The body is
 * f32-pwconv2d-impl.h.
 */
#define IC_EXPECT_ISA_AVX512
#include "isa-check.h"

#include <immintrin.h>

#include "simd-avx512.h"

#include "f32-conv/f32-conv2d-avx512.h"

#define IC_VACT(v, activation) ic_activate16(v, activation)
#define IC_M __mmask16
#define IC_MASK_RANGE(lo, hi) ic_mask16(lo, hi)
#define IC_MASK_ALL ((__mmask16)0xFFFF)
#define IC_MASK_BITS(m) ((int)(m))
#define IC_VMASKLOAD(p, m) _mm512_maskz_loadu_ps(m, p)
#define IC_VMASKSTORE(p, m, v) _mm512_mask_storeu_ps(p, m, v)
#define IC_P_MR 8
#define IC_PW_AHEAD 1
#define IC_C_NV 4
#define IC_PW_FN ic_f32_pwconv2d_ukernel_8x48_6x64__avx512
#include "f32-pwconv/f32-pwconv2d-impl.h"
