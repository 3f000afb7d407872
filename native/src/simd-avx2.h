/*
 * simd-avx2.h — the vector vocabulary the kernel bodies (the *-impl.h headers) are written in,
 * for AVX2 + FMA: one vector of IC_VL floats and the unmasked operations every family uses.
 * Masks, reductions and epilogues differ by family and stay with each kernel file. Included by
 * AVX2 kernel files only, before the body; its twin is simd-avx512.h.
 */
#ifndef IC_SIMD_AVX2_H
#define IC_SIMD_AVX2_H

#if !defined(__AVX2__) || !defined(__FMA__)
#error "simd-avx2.h is for AVX2 + FMA kernel files"
#endif

#include <immintrin.h>

#define IC_V __m256
#define IC_VL 8
#define IC_VZERO() _mm256_setzero_ps()
#define IC_VSET1(x) _mm256_set1_ps(x)
#define IC_VBCAST(p) _mm256_broadcast_ss(p)
#define IC_VLOAD(p) _mm256_loadu_ps(p)
#define IC_VSTORE(p, v) _mm256_storeu_ps(p, v)
#define IC_VADD(a, b) _mm256_add_ps(a, b)
#define IC_VSUB(a, b) _mm256_sub_ps(a, b)
#define IC_VFMA(a, b, c) _mm256_fmadd_ps(a, b, c) /* a * b + c */

#endif /* IC_SIMD_AVX2_H */
