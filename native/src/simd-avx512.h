/*
 * simd-avx512.h — the vector vocabulary the kernel bodies (the *-impl.h headers) are written
 * in, for AVX-512: one vector of IC_VL floats and the unmasked operations every family uses.
 * Masks, reductions and epilogues differ by family and stay with each kernel file. Included by
 * AVX-512 kernel files only, before the body; its twin is simd-avx2.h.
 */
#ifndef IC_SIMD_AVX512_H
#define IC_SIMD_AVX512_H

#if !defined(__AVX512F__)
#error "simd-avx512.h is for AVX-512 kernel files"
#endif

#include <immintrin.h>

#define IC_V __m512
#define IC_VL 16
#define IC_VZERO() _mm512_setzero_ps()
#define IC_VSET1(x) _mm512_set1_ps(x)
#define IC_VBCAST(p) _mm512_set1_ps(*(p))
#define IC_VLOAD(p) _mm512_loadu_ps(p)
#define IC_VSTORE(p, v) _mm512_storeu_ps(p, v)
#define IC_VADD(a, b) _mm512_add_ps(a, b)
#define IC_VSUB(a, b) _mm512_sub_ps(a, b)
#define IC_VFMA(a, b, c) _mm512_fmadd_ps(a, b, c) /* a * b + c */

#endif /* IC_SIMD_AVX512_H */
