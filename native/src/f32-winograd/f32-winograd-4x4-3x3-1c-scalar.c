/*
 * ic_f32_winograd_ukernel_4x4_3x3_1c__scalar — Winograd F(4x4, 3x3) in portable C, one
 * channel at a time: the SIMD kernels' body (f32-winograd-impl.h) over plain floats, with a
 * GEMM that reads the same packed weights. Not faster than the direct scalar kernel; it makes
 * the algorithm (and its rounding) available and testable on every ISA.
 */
#include "ukernels.h"

#define IC_V float
#define IC_VL 1
#define IC_VZERO() 0.0f
#define IC_VSET1(x) (x)
#define IC_VLOAD(p) (*(p))
#define IC_VSTORE(p, v) (*(p) = (v))
#define IC_VADD(a, b) ((a) + (b))
#define IC_VSUB(a, b) ((a) - (b))
/* Rounded twice, as written (not contracted to an fma by the compiler: -ffp-contract=off). */
#define IC_VFMA(a, b, c) ((a) * (b) + (c))
#define IC_VACT(v, activation) ic_activate(v, activation)
#define IC_M int
#define IC_MASK_RANGE(lo, hi) ((lo) < (hi))
#define IC_VMASKLOAD(p, m) ((m) ? *(p) : 0.0f)
#define IC_VMASKSTORE(p, m, v) ((m) ? (void)(*(p) = (v)) : (void)0)

/* dst[p][o] = sum_c src[p][c] * weights[o][c], from the pointwise kernels' packed layout
 * [ceil(out / 16)][in][16], summed in float in channel order. */
static void ic_wino_gemm_scalar(const ic_f32_pwconv2d_args_t* a) {
  for (int64_t p = 0; p < a->pixels; p++) {
    for (int64_t o = a->c0; o < a->c1; o++) {
      const float* w = a->packed_weights + (o / 16) * a->in_channels * 16 + o % 16;
      float sum = 0.0f;
      for (int64_t c = 0; c < a->in_channels; c++) {
        sum += a->src[p * a->src_stride_p + c * a->src_stride_c] * w[c * 16];
      }
      a->dst[p * a->dst_stride_p + o * a->dst_stride_c] = sum;
    }
  }
}

#define IC_WINO_GEMM ic_wino_gemm_scalar
#define IC_WINO_FN ic_f32_winograd_ukernel_4x4_3x3_1c__scalar
#include "f32-winograd/f32-winograd-impl.h"
