/*
 * ic_f32_dwconv2d_ukernel_direct__scalar — depthwise convolution (groups == in_channels) with
 * a channel multiplier, in portable C: output channel o reads input channel o / multiplier.
 * Same summation order and epilogue as the direct conv kernel, with one input channel.
 */
#include "ukernels.h"

void ic_f32_dwconv2d_ukernel_direct__scalar(const ic_f32_dwconv2d_args_t* args) {
  const ic_conv2d_geometry_t* g = args->geometry;
  const int64_t multiplier = g->out_channels / g->in_channels;
  const int64_t taps = g->kernel_h * g->kernel_w;
  const ic_view_strides_t xs = args->src_stride;
  const ic_view_strides_t ys = args->dst_stride;

  for (int64_t o = args->c0; o < args->c1; o++) {
    const float* w_o = args->weights + o * taps;
    const int64_t x_c = (o / multiplier) * xs.c;
    const double bias = args->bias != NULL ? (double)args->bias[o] : 0.0;
    for (int64_t y = args->y0; y < args->y1; y++) {
      const int64_t iy0 = y * g->stride_h - g->pad_top;
      int64_t kh0, kh1;
      ic_tap_range(iy0, g->dilation_h, g->kernel_h, g->in_h, &kh0, &kh1);
      const int64_t y_row = o * ys.c + (y - args->y0) * ys.h;
      for (int64_t x = 0; x < g->out_w; x++) {
        const int64_t ix0 = x * g->stride_w - g->pad_left;
        int64_t kw0, kw1;
        ic_tap_range(ix0, g->dilation_w, g->kernel_w, g->in_w, &kw0, &kw1);
        double acc = 0.0;
        for (int64_t kh = kh0; kh < kh1; kh++) {
          const int64_t x_row = x_c + (iy0 + kh * g->dilation_h) * xs.h;
          for (int64_t kw = kw0; kw < kw1; kw++) {
            const float xv = args->src[x_row + (ix0 + kw * g->dilation_w) * xs.w];
            acc += (double)w_o[kh * g->kernel_w + kw] * (double)xv;
          }
        }
        const int64_t yi = y_row + x * ys.w;
        double v = acc + bias;
        if (args->residual != NULL) v += (double)args->residual[yi];
        args->dst[yi] = ic_activate((float)v, args->activation);
      }
    }
  }
}
