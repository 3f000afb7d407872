/*
 * ic_f32_involgen_ukernel_1x1__scalar — the kernel-generation 1x1 convolution on planar tiles
 * in portable C: each output sums its products in double in channel order, adds the bias and
 * rounds once, then the activation.
 */
#include "ukernels.h"

void ic_f32_involgen_ukernel_1x1__scalar(const ic_f32_involgen_args_t* args) {
  for (int64_t o = 0; o < args->out_channels; o++) {
    const float* w = args->weights + o * args->in_channels;
    for (int64_t q = 0; q < args->pixels; q++) {
      double acc = 0.0;
      for (int64_t c = 0; c < args->in_channels; c++) {
        acc += (double)w[c] * (double)args->src[c * args->src_stride_c + q];
      }
      if (args->bias != NULL) acc += (double)args->bias[o];
      args->dst[o * args->dst_stride_c + q] = ic_activate((float)acc, args->activation);
    }
  }
}
