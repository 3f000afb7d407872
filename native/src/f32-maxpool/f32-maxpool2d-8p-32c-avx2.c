/*
 * ic_f32_maxpool2d_ukernel_8p_32c__avx2 — max pooling with AVX2: NCHW rows 8 outputs per
 * vector (4 vectors per pass on the row-major paths), NHWC pixels 32 channels (4 vectors) at a
 * time. The body is f32-maxpool2d-impl.h; results are bit-identical to the scalar kernel's.
 */
#define IC_EXPECT_ISA_AVX2
#include "isa-check.h"

#include <immintrin.h>
#include <stdint.h>

#include "simd-avx2.h"
#include "ukernels.h"

/* Float vectors. */
#define IC_B 8
#define IC_VLOADN(p, n) _mm256_maskload_ps(p, ic_maxpool_mask8(n))
#define IC_VSTOREN(p, v, n) _mm256_maskstore_ps(p, ic_maxpool_mask8(n), v)

/* Lane masks and masked loads. */
#define IC_MASK __m256i
#define IC_MASK_RANGE(first, last) ic_maxpool_range8(first, last)
#define IC_VLOAD_MASK(p, mask, fill) \
  _mm256_blendv_ps(fill, _mm256_maskload_ps(p, mask), _mm256_castsi256_ps(mask))
#define IC_VLOADZ(p, mask) _mm256_maskload_ps(p, mask)

/* The folds. */
#define IC_VFOLD(best, v) ic_maxpool_fold8(best, v)
#define IC_VFOLD_MASK(best, v, mask, fill) \
  ic_maxpool_fold8(best, _mm256_blendv_ps(fill, v, _mm256_castsi256_ps(mask)))
#define IC_VMAX(best, v) _mm256_max_ps(v, best)
#define IC_VMAX_MASK(best, v, mask, fill) \
  _mm256_max_ps(_mm256_blendv_ps(fill, v, _mm256_castsi256_ps(mask)), best)

/* The scan for NaN and -0.0. */
#define IC_ANY_NAN(v) (_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)) != 0)
#define IC_VI __m256i
#define IC_VIMIN_INIT() _mm256_set1_epi32(INT32_MAX)
#define IC_VIMIN(m, v) _mm256_min_epi32(m, _mm256_castps_si256(v))
#define IC_ANY_INT32_MIN(m) \
  (_mm256_movemask_epi8(_mm256_cmpeq_epi32(m, _mm256_set1_epi32(INT32_MIN))) != 0)

/* Lane rearrangements. */
#define IC_EVEN(a, b) ic_maxpool_even8(a, b)
#define IC_ODD(a, b) ic_maxpool_odd8(a, b)
#define IC_SHIFT_T ic_maxpool_shift8_t
#define IC_SHIFT_MAKE(m) ic_maxpool_shift8_make(m)
#define IC_SHIFT(a, b, shift) ic_maxpool_shift8(a, b, shift)

/* The kernel. */
#define IC_MAXPOOL_FN ic_f32_maxpool2d_ukernel_8p_32c__avx2

/* Lanes [0, n) set: a window of 8 into 8 ones followed by 8 zeros. */
static inline __m256i ic_maxpool_mask8(int n) {
  static const int32_t ones_then_zeros[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                              0,  0,  0,  0,  0,  0,  0,  0};
  return _mm256_loadu_si256((const __m256i*)(ones_then_zeros + 8 - n));
}

/* Lanes [first, last) set (none if first >= last). vmaskmovps never touches masked-off
 * lanes; it zeroes them, so IC_VLOAD_MASK blends the fill back. */
static inline __m256i ic_maxpool_range8(int first, int last) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(first), lane),
                             _mm256_cmpgt_epi32(_mm256_set1_epi32(last), lane));
}

/* vmaxps(v, best) is v > best ? v : best: ties keep best (the earlier value) and a NaN in best
 * stays, as in the scalar fold; only a NaN in v is lost, so it is blended back. */
static inline __m256 ic_maxpool_fold8(__m256 best, __m256 v) {
  return _mm256_blendv_ps(_mm256_max_ps(v, best), v, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}

/* shufps picks the even elements within each 128-bit half (a0 a2 b0 b2 | a4 a6 b4 b6), a
 * 64-bit permute puts the pairs in order: a0 a2 a4 a6 b0 b2 b4 b6. */
static inline __m256 ic_maxpool_even8(__m256 a, __m256 b) {
  const __m256 e = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0));
  return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0)));
}

/* The same with the odd elements: a1 a3 a5 a7 b1 b3 b5 b7. */
static inline __m256 ic_maxpool_odd8(__m256 a, __m256 b) {
  const __m256 o = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
  return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), _MM_SHUFFLE(3, 1, 2, 0)));
}

/* Lanes m .. m + 7 of a:b (m < 8): AVX2 has no two-source lane permute, so both are rotated
 * by m and the top m lanes taken from b. */
typedef struct ic_maxpool_shift8 {
  __m256i rotate, from_b;
} ic_maxpool_shift8_t;

static inline ic_maxpool_shift8_t ic_maxpool_shift8_make(int m) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i index = _mm256_add_epi32(lane, _mm256_set1_epi32(m));
  ic_maxpool_shift8_t shift;
  shift.rotate = _mm256_and_si256(index, _mm256_set1_epi32(7));
  shift.from_b = _mm256_cmpgt_epi32(index, _mm256_set1_epi32(7));
  return shift;
}

static inline __m256 ic_maxpool_shift8(__m256 a, __m256 b, ic_maxpool_shift8_t shift) {
  return _mm256_blendv_ps(_mm256_permutevar8x32_ps(a, shift.rotate),
                          _mm256_permutevar8x32_ps(b, shift.rotate),
                          _mm256_castsi256_ps(shift.from_b));
}

#include "f32-maxpool2d-impl.h"
