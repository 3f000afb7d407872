/*
 * ic_f32_maxpool2d_ukernel_direct__scalar — max pooling over any window, stride and padding,
 * in portable C: the largest in-range element of each window (padding never wins). A NaN in
 * the window gives NaN, as in PyTorch.
 */
#include <math.h>

#include "ukernels.h"

void ic_f32_maxpool2d_ukernel_direct__scalar(const ic_f32_maxpool2d_args_t* args) {
  const ic_pool2d_geometry_t* g = args->geometry;
  const ic_view_strides_t xs = args->src_stride;
  const ic_view_strides_t ys = args->dst_stride;

  for (int64_t c = args->c0; c < args->c1; c++) {
    for (int64_t y = args->y0; y < args->y1; y++) {
      const int64_t iy0 = y * g->stride_h - g->pad_top;
      int64_t kh0, kh1;
      ic_tap_range(iy0, 1, g->kernel_h, g->in_h, &kh0, &kh1);
      const int64_t y_row = c * ys.c + (y - args->y0) * ys.h;
      for (int64_t x = 0; x < g->out_w; x++) {
        const int64_t ix0 = x * g->stride_w - g->pad_left;
        int64_t kw0, kw1;
        ic_tap_range(ix0, 1, g->kernel_w, g->in_w, &kw0, &kw1);
        float best = -INFINITY;
        for (int64_t kh = kh0; kh < kh1; kh++) {
          const int64_t x_row = c * xs.c + (iy0 + kh) * xs.h;
          for (int64_t kw = kw0; kw < kw1; kw++) {
            const float v = args->src[x_row + (ix0 + kw) * xs.w];
            if (v > best || isnan(v)) best = v;
          }
        }
        args->dst[y_row + x * ys.w] = best;
      }
    }
  }
}
