/*
 * ic_f32_pwconv2d_ukernel_gemm__scalar — pointwise (1x1) convolution as a GEMM over channels,
 * in portable C.
 *
 * Pixels are taken IC_PWCONV_TILE at a time so that, for each output channel, the loop over
 * input channels streams along a row of src (contiguous in NCHW) instead of hopping a whole
 * plane per product. Each output element still sums its products in input-channel order, so
 * the result does not depend on the tiling — and equals the direct kernel's bit for bit.
 */
#include "ukernels.h"

enum { IC_PWCONV_TILE = 32 };

void ic_f32_pwconv2d_ukernel_gemm__scalar(const ic_f32_pwconv2d_args_t* args) {
  double acc[IC_PWCONV_TILE];
  for (int64_t p0 = 0; p0 < args->pixels; p0 += IC_PWCONV_TILE) {
    const int64_t count = args->pixels - p0 < IC_PWCONV_TILE ? args->pixels - p0 : IC_PWCONV_TILE;
    for (int64_t o = args->c0; o < args->c1; o++) {
      for (int64_t p = 0; p < count; p++) acc[p] = 0.0;
      const float* w_o = args->weights + o * args->in_channels;
      for (int64_t c = 0; c < args->in_channels; c++) {
        const double w = (double)w_o[c];
        const float* x = args->src + c * args->src_stride_c + p0 * args->src_stride_p;
        for (int64_t p = 0; p < count; p++) acc[p] += w * (double)x[p * args->src_stride_p];
      }
      const double bias = args->bias != NULL ? (double)args->bias[o] : 0.0;
      for (int64_t p = 0; p < count; p++) {
        const int64_t yi = o * args->dst_stride_c + (p0 + p) * args->dst_stride_p;
        double v = acc[p] + bias;
        if (args->residual != NULL) v += (double)args->residual[yi];
        args->dst[yi] = ic_activate((float)v, args->activation);
      }
    }
  }
}
