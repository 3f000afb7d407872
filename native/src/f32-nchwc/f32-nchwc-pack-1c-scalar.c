/*
 * ic_f32_nchwc_pack_ukernel_1c__scalar — one row into nChw<block>c pixel vectors, in portable
 * C, for any block.
 */
#include "ukernels.h"

void ic_f32_nchwc_pack_ukernel_1c__scalar(const ic_f32_nchwc_pack_args_t* args) {
  const int64_t block = args->block;
  float* dst = args->dst;
  for (int64_t i = 0; i < args->pad_left * block; i++) *dst++ = 0.0f;
  for (int64_t x = 0; x < args->width; x++) {
    for (int64_t c = 0; c < block; c++) {
      *dst++ = args->src[c * args->src_stride_c + x * args->src_stride_w];
    }
  }
  for (int64_t i = 0; i < args->pad_right * block; i++) *dst++ = 0.0f;
}
