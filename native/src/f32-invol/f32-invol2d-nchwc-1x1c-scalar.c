/*
 * ic_f32_invol2d_nchwc_ukernel_1x1c__scalar — involution aggregation on channel-blocked rows
 * in portable C, for any block: the reference of the SIMD kernels of this family in the
 * kernel tests. Each output sums its taps in double in (kh, kw) order and rounds once.
 */
#include "ukernels.h"

void ic_f32_invol2d_nchwc_ukernel_1x1c__scalar(const ic_f32_invol2d_nchwc_args_t* args) {
  const int64_t block = args->block, k = args->kernel_size;
  const int64_t rows = args->kh1 - args->kh0;
  for (int64_t p = 0; p < args->pixels; p++) {
    for (int64_t c = 0; c < block; c++) {
      double acc = 0.0;
      for (int64_t r = 0; r < rows; r++) {
        const float* in = args->src + r * args->dilation * args->src_stride_h;
        for (int64_t kw = 0; kw < k; kw++) {
          const float kv = args->kernels[(r * k + kw) * args->kernels_stride_t +
                                         p * args->kernels_stride_p];
          const float xv = in[(p * args->stride + kw * args->dilation) * args->src_stride_w + c];
          acc += (double)kv * (double)xv;
        }
      }
      float value = (float)acc;
      if (args->scale != NULL) {
        value = (float)((double)args->scale[c] * (double)value + (double)args->shift[c]);
      }
      args->dst[p * args->dst_stride_p + c] = ic_activate(value, args->activation);
    }
  }
}
