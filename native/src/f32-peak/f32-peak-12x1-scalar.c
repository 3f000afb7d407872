/*
 * ic_f32_peak_ukernel_12x1__scalar — the peak probe in portable C: 12 independent scalar
 * chains acc = acc * m + a (a multiply and an add each; the library builds with
 * -ffp-contract=off, and baseline x86-64 has no FMA). CMakeLists.txt compiles this file
 * without auto-vectorisation, so that it measures scalar arithmetic, as its name says.
 */
#include "ukernels.h"

void ic_f32_peak_ukernel_12x1__scalar(const ic_f32_peak_args_t* args) {
  const float m = args->multiplier, a = args->addend;
  float acc0 = 0.00f, acc1 = 0.01f, acc2 = 0.02f, acc3 = 0.03f, acc4 = 0.04f, acc5 = 0.05f;
  float acc6 = 0.06f, acc7 = 0.07f, acc8 = 0.08f, acc9 = 0.09f, acc10 = 0.10f, acc11 = 0.11f;
  for (int64_t i = 0; i < args->iterations; i++) {
    acc0 = acc0 * m + a;
    acc1 = acc1 * m + a;
    acc2 = acc2 * m + a;
    acc3 = acc3 * m + a;
    acc4 = acc4 * m + a;
    acc5 = acc5 * m + a;
    acc6 = acc6 * m + a;
    acc7 = acc7 * m + a;
    acc8 = acc8 * m + a;
    acc9 = acc9 * m + a;
    acc10 = acc10 * m + a;
    acc11 = acc11 * m + a;
  }
  args->result->sum = ((acc0 + acc1) + (acc2 + acc3)) + ((acc4 + acc5) + (acc6 + acc7)) +
                      ((acc8 + acc9) + (acc10 + acc11));
  args->result->flops = 2.0 * 12.0 * (double)args->iterations;
}
