/*
 * ic_f32_maxpool2d_ukernel_16p_64c__avx512 — max pooling with AVX-512: NCHW rows 16 outputs
 * per vector (4 vectors per pass on the row-major paths), NHWC pixels 64 channels (4 vectors)
 * at a time. The body is f32-maxpool2d-impl.h; results are bit-identical to the scalar
 * kernel's.
 */
#define IC_EXPECT_ISA_AVX512
#include "isa-check.h"

#include <immintrin.h>
#include <stdint.h>

#include "simd-avx512.h"
#include "ukernels.h"

/* Float vectors. */
#define IC_B 16
#define IC_VLOADN(p, n) _mm512_maskz_loadu_ps(ic_maxpool_mask16(n), p)
#define IC_VSTOREN(p, v, n) _mm512_mask_storeu_ps(p, ic_maxpool_mask16(n), v)

/* Lane masks and masked loads. */
#define IC_MASK __mmask16
#define IC_MASK_RANGE(first, last) \
  ((__mmask16)(ic_maxpool_mask16(last) & ~ic_maxpool_mask16(first)))
#define IC_VLOAD_MASK(p, mask, fill) _mm512_mask_loadu_ps(fill, mask, p)
#define IC_VLOADZ(p, mask) _mm512_maskz_loadu_ps(mask, p)

/* The folds. */
#define IC_VFOLD(best, v) ic_maxpool_fold16(best, v)
#define IC_VFOLD_MASK(best, v, mask, fill) ic_maxpool_fold16_mask(best, v, mask)
#define IC_VMAX(best, v) _mm512_max_ps(v, best)
#define IC_VMAX_MASK(best, v, mask, fill) _mm512_mask_max_ps(best, mask, v, best)

/* The scan for NaN and -0.0. */
#define IC_ANY_NAN(v) (_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) != 0)
#define IC_VI __m512i
#define IC_VIMIN_INIT() _mm512_set1_epi32(INT32_MAX)
#define IC_VIMIN(m, v) _mm512_min_epi32(m, _mm512_castps_si512(v))
#define IC_ANY_INT32_MIN(m) (_mm512_cmpeq_epi32_mask(m, _mm512_set1_epi32(INT32_MIN)) != 0)

/* Lane rearrangements. */
#define IC_EVEN(a, b) _mm512_permutex2var_ps(a, ic_maxpool_even16(), b)
#define IC_ODD(a, b) _mm512_permutex2var_ps(a, ic_maxpool_odd16(), b)
#define IC_SHIFT_T __m512i
#define IC_SHIFT_MAKE(m) \
  _mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), \
                   _mm512_set1_epi32(m))
#define IC_SHIFT(a, b, index) _mm512_permutex2var_ps(a, index, b)

/* The kernel. */
#define IC_MAXPOOL_FN ic_f32_maxpool2d_ukernel_16p_64c__avx512

static inline __mmask16 ic_maxpool_mask16(int n) { return (__mmask16)((1u << n) - 1u); }

/* vmaxps(v, best) is v > best ? v : best: ties keep best (the earlier value) and a NaN in best
 * stays, as in the scalar fold; only a NaN in v is lost, so it is put back with a mask. */
static inline __m512 ic_maxpool_fold16(__m512 best, __m512 v) {
  return _mm512_mask_mov_ps(_mm512_max_ps(v, best), _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), v);
}

/* permutex2var indices of the even lanes of a:b. */
static inline __m512i ic_maxpool_even16(void) {
  return _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
}

/* permutex2var indices of the odd lanes of a:b. */
static inline __m512i ic_maxpool_odd16(void) {
  return _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
}

/* The fold on the mask's lanes; the others keep best. */
static inline __m512 ic_maxpool_fold16_mask(__m512 best, __m512 v, __mmask16 mask) {
  return _mm512_mask_mov_ps(_mm512_mask_max_ps(best, mask, v, best),
                            _mm512_mask_cmp_ps_mask(mask, v, v, _CMP_UNORD_Q), v);
}

#include "f32-maxpool2d-impl.h"
