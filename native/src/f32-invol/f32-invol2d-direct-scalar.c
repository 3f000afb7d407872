/*
 * ic_f32_invol2d_ukernel_direct__scalar — involution aggregation in portable C: each output
 * element is the K x K window of its own channel weighted by its pixel's kernel, which is
 * shared by the group_channels consecutive channels of a group. Products are summed in double
 * in (kernel row, kernel column) order; taps outside the input are zeros and are skipped.
 */
#include "ukernels.h"

void ic_f32_invol2d_ukernel_direct__scalar(const ic_f32_invol2d_args_t* args) {
  const ic_invol2d_geometry_t* g = args->geometry;
  const int64_t k = g->kernel_size;
  const ic_view_strides_t xs = args->src_stride;
  const ic_view_strides_t ks = args->kernels_stride;
  const ic_view_strides_t ys = args->dst_stride;

  for (int64_t c = args->c0; c < args->c1; c++) {
    const int64_t k_group = (c / g->group_channels) * k * k * ks.c;
    const int64_t x_c = c * xs.c;
    for (int64_t y = args->y0; y < args->y1; y++) {
      const int64_t iy0 = y * g->stride - g->padding;
      int64_t kh0, kh1;
      ic_tap_range(iy0, g->dilation, k, g->in_h, &kh0, &kh1);
      const int64_t k_row = k_group + (y - args->y0) * ks.h;
      const int64_t y_row = c * ys.c + (y - args->y0) * ys.h;
      for (int64_t x = 0; x < g->out_w; x++) {
        const int64_t ix0 = x * g->stride - g->padding;
        int64_t kw0, kw1;
        ic_tap_range(ix0, g->dilation, k, g->in_w, &kw0, &kw1);
        const int64_t k_pixel = k_row + x * ks.w;
        double acc = 0.0;
        for (int64_t kh = kh0; kh < kh1; kh++) {
          const int64_t x_row = x_c + (iy0 + kh * g->dilation) * xs.h;
          for (int64_t kw = kw0; kw < kw1; kw++) {
            const float kv = args->kernels[k_pixel + (kh * k + kw) * ks.c];
            const float xv = args->src[x_row + (ix0 + kw * g->dilation) * xs.w];
            acc += (double)kv * (double)xv;
          }
        }
        args->dst[y_row + x * ys.w] = (float)acc;
      }
    }
  }
}
