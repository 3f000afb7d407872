/*
 * ic_f32_avgpool2d_ukernel_direct__scalar — average pooling over any window, stride and
 * padding, in portable C: the in-range elements of each window are summed in double in
 * row-major order, divided by the window size (count_include_pad) or by their number, and
 * rounded once. For small-integer data the result is the correctly rounded mean.
 */
#include "ukernels.h"

void ic_f32_avgpool2d_ukernel_direct__scalar(const ic_f32_avgpool2d_args_t* args) {
  const ic_pool2d_geometry_t* g = args->geometry;
  const ic_view_strides_t xs = args->src_stride;
  const ic_view_strides_t ys = args->dst_stride;
  /* In double: with padding, a window may be larger than any input (its product can overflow). */
  const double window = (double)g->kernel_h * (double)g->kernel_w;

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
        double sum = 0.0;
        for (int64_t kh = kh0; kh < kh1; kh++) {
          const int64_t x_row = c * xs.c + (iy0 + kh) * xs.h;
          for (int64_t kw = kw0; kw < kw1; kw++) {
            sum += (double)args->src[x_row + (ix0 + kw) * xs.w];
          }
        }
        const double count = g->count_include_pad ? window : (double)((kh1 - kh0) * (kw1 - kw0));
        args->dst[y_row + x * ys.w] = (float)(sum / count);
      }
    }
  }
}
