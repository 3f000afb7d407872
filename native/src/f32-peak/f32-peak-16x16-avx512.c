/*
 * ic_f32_peak_ukernel_16x16__avx512 — the peak probe on AVX-512: 16 independent chains of
 * 16-lane fused multiply-adds (vfmadd on zmm), enough to keep two 512-bit FMA pipes of
 * latency 4 busy, in half of the 32 zmm registers.
 */
#define IC_EXPECT_ISA_AVX512
#include "isa-check.h"

#include <immintrin.h>

#include "ukernels.h"

void ic_f32_peak_ukernel_16x16__avx512(const ic_f32_peak_args_t* args) {
  const __m512 m = _mm512_set1_ps(args->multiplier), a = _mm512_set1_ps(args->addend);
  __m512 acc0 = _mm512_set1_ps(0.00f), acc1 = _mm512_set1_ps(0.01f);
  __m512 acc2 = _mm512_set1_ps(0.02f), acc3 = _mm512_set1_ps(0.03f);
  __m512 acc4 = _mm512_set1_ps(0.04f), acc5 = _mm512_set1_ps(0.05f);
  __m512 acc6 = _mm512_set1_ps(0.06f), acc7 = _mm512_set1_ps(0.07f);
  __m512 acc8 = _mm512_set1_ps(0.08f), acc9 = _mm512_set1_ps(0.09f);
  __m512 acc10 = _mm512_set1_ps(0.10f), acc11 = _mm512_set1_ps(0.11f);
  __m512 acc12 = _mm512_set1_ps(0.12f), acc13 = _mm512_set1_ps(0.13f);
  __m512 acc14 = _mm512_set1_ps(0.14f), acc15 = _mm512_set1_ps(0.15f);
  for (int64_t i = 0; i < args->iterations; i++) {
    acc0 = _mm512_fmadd_ps(acc0, m, a);
    acc1 = _mm512_fmadd_ps(acc1, m, a);
    acc2 = _mm512_fmadd_ps(acc2, m, a);
    acc3 = _mm512_fmadd_ps(acc3, m, a);
    acc4 = _mm512_fmadd_ps(acc4, m, a);
    acc5 = _mm512_fmadd_ps(acc5, m, a);
    acc6 = _mm512_fmadd_ps(acc6, m, a);
    acc7 = _mm512_fmadd_ps(acc7, m, a);
    acc8 = _mm512_fmadd_ps(acc8, m, a);
    acc9 = _mm512_fmadd_ps(acc9, m, a);
    acc10 = _mm512_fmadd_ps(acc10, m, a);
    acc11 = _mm512_fmadd_ps(acc11, m, a);
    acc12 = _mm512_fmadd_ps(acc12, m, a);
    acc13 = _mm512_fmadd_ps(acc13, m, a);
    acc14 = _mm512_fmadd_ps(acc14, m, a);
    acc15 = _mm512_fmadd_ps(acc15, m, a);
  }
  const __m512 low = _mm512_add_ps(
      _mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)),
      _mm512_add_ps(_mm512_add_ps(acc4, acc5), _mm512_add_ps(acc6, acc7)));
  const __m512 high = _mm512_add_ps(
      _mm512_add_ps(_mm512_add_ps(acc8, acc9), _mm512_add_ps(acc10, acc11)),
      _mm512_add_ps(_mm512_add_ps(acc12, acc13), _mm512_add_ps(acc14, acc15)));
  args->result->sum = _mm512_reduce_add_ps(_mm512_add_ps(low, high));
  args->result->flops = 2.0 * 16.0 * 16.0 * (double)args->iterations;
}
