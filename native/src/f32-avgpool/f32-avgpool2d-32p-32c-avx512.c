/*
 * ic_f32_avgpool2d_ukernel_32p_32c__avx512 — average pooling with AVX-512: NCHW rows 32
 * outputs (2 vectors) at a time, NHWC pixels 32 channels at a time, summed in double like the
 * scalar kernel. The body is f32-avgpool2d-impl.h; results are the scalar kernel's bits.
 */
#define IC_EXPECT_ISA_AVX512
#include "isa-check.h"

#include <immintrin.h>

#include "simd-avx512.h"

#include "ukernels.h"

#define IC_B 16
#define IC_MASK __mmask16
#define IC_MASK_RANGE(first, last) \
  ((__mmask16)(ic_avgpool_mask16(last) & ~ic_avgpool_mask16(first)))
#define IC_VLOAD_MASK(p, mask, fill) _mm512_mask_loadu_ps(fill, mask, p)
#define IC_VLOADZ(p, mask) _mm512_maskz_loadu_ps(mask, p)
#define IC_VLOADN(p, n) _mm512_maskz_loadu_ps(ic_avgpool_mask16(n), p)
#define IC_VSTOREN(p, v, n) _mm512_mask_storeu_ps(p, ic_avgpool_mask16(n), v)
#define IC_EVEN(a, b) _mm512_permutex2var_ps(a, ic_avgpool_even16(), b)
#define IC_VD __m512d
#define IC_VD_ZERO() _mm512_setzero_pd()
#define IC_VD_SET1(x) _mm512_set1_pd(x)
#define IC_VD_LOAD(p) _mm512_loadu_pd(p)
#define IC_VD_ADD(a, b) _mm512_add_pd(a, b)
#define IC_VD_MUL(a, b) _mm512_mul_pd(a, b)
#define IC_VD_DIV(a, b) _mm512_div_pd(a, b)
#define IC_WIDEN_LO(v) _mm512_cvtps_pd(_mm512_castps512_ps256(v))
#define IC_WIDEN_HI(v) _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1))
#define IC_NARROW(lo, hi) \
  _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo)), _mm512_cvtpd_ps(hi), 1)
#define IC_AVGPOOL_FN ic_f32_avgpool2d_ukernel_32p_32c__avx512

static inline __mmask16 ic_avgpool_mask16(int n) { return (__mmask16)((1u << n) - 1u); }

/* permutex2var indices of the even lanes of a:b. */
static inline __m512i ic_avgpool_even16(void) {
  return _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
}

#include "f32-avgpool2d-impl.h"
