/*
 * ic_f32_peak_ukernel_12x8__avx2 — the peak probe on AVX2 + FMA: 12 independent chains of
 * 8-lane fused multiply-adds (vfmadd on ymm). Twelve chains cover FMA latency x throughput
 * (4 x 2 on current cores) with room to spare and still fit in the 16 ymm registers with the
 * two operands.
 */
#define IC_EXPECT_ISA_AVX2
#include "isa-check.h"

#include <immintrin.h>

#include "ukernels.h"

void ic_f32_peak_ukernel_12x8__avx2(const ic_f32_peak_args_t* args) {
  const __m256 m = _mm256_set1_ps(args->multiplier), a = _mm256_set1_ps(args->addend);
  __m256 acc0 = _mm256_set1_ps(0.00f), acc1 = _mm256_set1_ps(0.01f);
  __m256 acc2 = _mm256_set1_ps(0.02f), acc3 = _mm256_set1_ps(0.03f);
  __m256 acc4 = _mm256_set1_ps(0.04f), acc5 = _mm256_set1_ps(0.05f);
  __m256 acc6 = _mm256_set1_ps(0.06f), acc7 = _mm256_set1_ps(0.07f);
  __m256 acc8 = _mm256_set1_ps(0.08f), acc9 = _mm256_set1_ps(0.09f);
  __m256 acc10 = _mm256_set1_ps(0.10f), acc11 = _mm256_set1_ps(0.11f);
  for (int64_t i = 0; i < args->iterations; i++) {
    acc0 = _mm256_fmadd_ps(acc0, m, a);
    acc1 = _mm256_fmadd_ps(acc1, m, a);
    acc2 = _mm256_fmadd_ps(acc2, m, a);
    acc3 = _mm256_fmadd_ps(acc3, m, a);
    acc4 = _mm256_fmadd_ps(acc4, m, a);
    acc5 = _mm256_fmadd_ps(acc5, m, a);
    acc6 = _mm256_fmadd_ps(acc6, m, a);
    acc7 = _mm256_fmadd_ps(acc7, m, a);
    acc8 = _mm256_fmadd_ps(acc8, m, a);
    acc9 = _mm256_fmadd_ps(acc9, m, a);
    acc10 = _mm256_fmadd_ps(acc10, m, a);
    acc11 = _mm256_fmadd_ps(acc11, m, a);
  }
  const __m256 sum = _mm256_add_ps(
      _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)),
                    _mm256_add_ps(_mm256_add_ps(acc4, acc5), _mm256_add_ps(acc6, acc7))),
      _mm256_add_ps(_mm256_add_ps(acc8, acc9), _mm256_add_ps(acc10, acc11)));
  float lanes[8];
  _mm256_storeu_ps(lanes, sum);
  args->result->sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) +
                      ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
  args->result->flops = 2.0 * 12.0 * 8.0 * (double)args->iterations;
}
