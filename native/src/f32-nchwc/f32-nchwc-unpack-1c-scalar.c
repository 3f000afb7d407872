/*
 * ic_f32_nchwc_unpack_ukernel_1c__scalar — pixel vectors to planes with optional average
 * pooling, in portable C, for any block: rows then columns summed in float, divided once.
 */
#include "ukernels.h"

void ic_f32_nchwc_unpack_ukernel_1c__scalar(const ic_f32_nchwc_unpack_args_t* args) {
  const int64_t s = args->pool;
  const float area = (float)(s * s);
  for (int64_t q = 0; q < args->pixels; q++) {
    for (int64_t c = 0; c < args->block; c++) {
      const float* pixel = args->src + q * s * args->src_stride_w + c;
      float sum = 0.0f;
      for (int64_t j = 0; j < s; j++) {
        float column = pixel[j * args->src_stride_w];
        for (int64_t i = 1; i < s; i++) column += pixel[j * args->src_stride_w + i * args->src_stride_h];
        sum = j == 0 ? column : sum + column;
      }
      args->dst[c * args->dst_stride_c + q] = s == 1 ? sum : sum / area;
    }
  }
}
