/*
 * ic_f32_avgpool2d_ukernel_direct__scalar — average pooling with window = stride = pool and
 * no padding, in portable C: the mean of each pool x pool block, summed in double in row-major
 * order and rounded once.
 */
#include "ukernels.h"

void ic_f32_avgpool2d_ukernel_direct__scalar(const ic_f32_avgpool2d_args_t* args) {
  const int64_t s = args->pool;
  const double area = (double)(s * s);
  const ic_view_strides_t xs = args->src_stride;
  const ic_view_strides_t ys = args->dst_stride;

  for (int64_t c = 0; c < args->channels; c++) {
    for (int64_t y = args->y0; y < args->y1; y++) {
      for (int64_t x = 0; x < args->out_w; x++) {
        double sum = 0.0;
        for (int64_t i = 0; i < s; i++) {
          const int64_t x_row = c * xs.c + (y * s + i) * xs.h + x * s * xs.w;
          for (int64_t j = 0; j < s; j++) sum += (double)args->src[x_row + j * xs.w];
        }
        args->dst[c * ys.c + (y - args->y0) * ys.h + x * ys.w] = (float)(sum / area);
      }
    }
  }
}
