/*
 * ic_f32_avgpool2d_ukernel_16p_16c__avx2 — average pooling with AVX2: NCHW rows 16 outputs
 * (2 vectors) at a time, NHWC pixels 16 channels at a time, summed in double like the scalar
 * kernel. The body is f32-avgpool2d-impl.h; results are the scalar kernel's bits.
 */
#define IC_EXPECT_ISA_AVX2
#include "isa-check.h"

#include <immintrin.h>
#include <stdint.h>

#include "simd-avx2.h"
#include "ukernels.h"

#define IC_B 8
#define IC_MASK __m256i
#define IC_MASK_RANGE(first, last) ic_avgpool_range8(first, last)
#define IC_VLOAD_MASK(p, mask, fill) \
  _mm256_blendv_ps(fill, _mm256_maskload_ps(p, mask), _mm256_castsi256_ps(mask))
#define IC_VLOADZ(p, mask) _mm256_maskload_ps(p, mask)
#define IC_VLOADN(p, n) _mm256_maskload_ps(p, ic_avgpool_range8(0, n))
#define IC_VSTOREN(p, v, n) _mm256_maskstore_ps(p, ic_avgpool_range8(0, n), v)
#define IC_EVEN(a, b) ic_avgpool_even8(a, b)
#define IC_VD __m256d
#define IC_VD_ZERO() _mm256_setzero_pd()
#define IC_VD_SET1(x) _mm256_set1_pd(x)
#define IC_VD_LOAD(p) _mm256_loadu_pd(p)
#define IC_VD_ADD(a, b) _mm256_add_pd(a, b)
#define IC_VD_MUL(a, b) _mm256_mul_pd(a, b)
#define IC_VD_DIV(a, b) _mm256_div_pd(a, b)
#define IC_WIDEN_LO(v) _mm256_cvtps_pd(_mm256_castps256_ps128(v))
#define IC_WIDEN_HI(v) _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1))
#define IC_NARROW(lo, hi) \
  _mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(lo)), _mm256_cvtpd_ps(hi), 1)
#define IC_AVGPOOL_FN ic_f32_avgpool2d_ukernel_16p_16c__avx2

/* Lanes [first, last) set (none if first >= last). vmaskmovps never touches masked-off lanes
 * and reads them as +0.0, which is what a tap outside the input adds. */
static inline __m256i ic_avgpool_range8(int first, int last) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(first), lane),
                             _mm256_cmpgt_epi32(_mm256_set1_epi32(last), lane));
}

/* shufps picks the even elements within each 128-bit half (a0 a2 b0 b2 | a4 a6 b4 b6), a
 * 64-bit permute puts the pairs in order: a0 a2 a4 a6 b0 b2 b4 b6. */
static inline __m256 ic_avgpool_even8(__m256 a, __m256 b) {
  const __m256 e = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
  return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0)));
}

#include "f32-avgpool2d-impl.h"
