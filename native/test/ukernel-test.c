/*
 * Every microkernel of every family, straight from the kernel lists (the same .inc files the
 * dispatch tables are built from), on every ISA this CPU runs and the limit allows. Each
 * kernel computes slices (channel and row sub-ranges) in both layouts' strides and must
 * write exactly its slice, matching the float64 reference; cases cover channels below, at
 * and above the tiles, single pixels, odd strides and border taps.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"
#include "ukernels.h"

#define IC_UKERNEL(isa, family, tile, isa_suffix) \
  {isa, #family "_" #tile "__" #isa_suffix, ic_##family##_ukernel_##tile##__##isa_suffix},

static const struct {
  ic_isa_t isa;
  const char* name;
  ic_f32_conv2d_ukernel_fn fn;
} conv_kernels[] = {
#include "f32-conv/f32-conv2d.inc"
};
static const struct {
  ic_isa_t isa;
  const char* name;
  ic_f32_dwconv2d_ukernel_fn fn;
} dwconv_kernels[] = {
#include "f32-dwconv/f32-dwconv2d.inc"
};
static const struct {
  ic_isa_t isa;
  const char* name;
  ic_f32_pwconv2d_ukernel_fn fn;
} pwconv_kernels[] = {
#include "f32-pwconv/f32-pwconv2d.inc"
};
static const struct {
  ic_isa_t isa;
  const char* name;
  ic_f32_invol2d_ukernel_fn fn;
} invol_kernels[] = {
#include "f32-invol/f32-invol2d.inc"
};
static const struct {
  ic_isa_t isa;
  const char* name;
  ic_f32_avgpool2d_ukernel_fn fn;
} avgpool_kernels[] = {
#include "f32-avgpool/f32-avgpool2d.inc"
};
#undef IC_UKERNEL

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

static int kernels_tested;

static bool runnable(ic_isa_t isa) { return isa <= ic_active_isa(); }

static ic_view_strides_t view(int32_t layout, int64_t c, int64_t h, int64_t w) {
  if (layout == IC_LAYOUT_NHWC) return (ic_view_strides_t){1, w * c, c};
  return (ic_view_strides_t){h * w, w, 1};
}

/* Index of element (c, y, x) in a dense image of the given layout. */
static int64_t at(ic_view_strides_t s, int64_t c, int64_t y, int64_t x) {
  return c * s.c + y * s.h + x * s.w;
}

/* conv2d-like kernels (direct and depthwise): one image, a random slice. */
static void test_conv_like(const char* name, ic_f32_conv2d_ukernel_fn fn, bool depthwise) {
  for (int iteration = 0; iteration < 150; iteration++) {
    ic_conv2d_params_t p = {0};
    p.groups = depthwise ? rng_int(1, 5) : rng_int(1, 3);
    p.in_channels = depthwise ? p.groups : p.groups * rng_int(1, 4);
    p.out_channels = p.groups * rng_int(1, depthwise ? 3 : 4);
    p.kernel_h = rng_int(1, 5), p.kernel_w = rng_int(1, 5);
    p.stride_h = rng_int(1, 3), p.stride_w = rng_int(1, 3);
    p.dilation_h = rng_int(1, 2), p.dilation_w = rng_int(1, 2);
    p.padding = IC_PADDING_EXPLICIT;
    p.pad_top = rng_int(0, 3), p.pad_left = rng_int(0, 3);
    p.pad_bottom = rng_int(0, 3), p.pad_right = rng_int(0, 3);
    p.activation = (int32_t)rng_int(0, 2);
    const int64_t in_h = rng_int(1, 9), in_w = rng_int(1, 9);
    ref_window_t win;
    if (!ref_conv2d_window(&p, in_h, in_w, &win)) continue;
    const int32_t layout = (int32_t)rng_int(0, 1);
    const bool with_bias = rng_bool(0.5), with_residual = rng_bool(0.5);
    char text[256];
    conv2d_problem(text, sizeof text, &p, 1, in_h, in_w, layout);
    test_set_problem("%s: %s", name, text);

    const int64_t gin = p.in_channels / p.groups;
    const size_t x_count = (size_t)(p.in_channels * in_h * in_w);
    const size_t w_count = (size_t)(p.out_channels * gin * p.kernel_h * p.kernel_w);
    const size_t y_count = (size_t)(p.out_channels * win.out_h * win.out_w);
    float* x = xfloats(x_count);
    float* w = xfloats(w_count);
    float* bias = xfloats((size_t)p.out_channels);
    float* residual = xfloats(y_count);
    fill_uniform(x, x_count, -1, 1);
    fill_uniform(w, w_count, -1, 1);
    fill_uniform(bias, (size_t)p.out_channels, -1, 1);
    fill_uniform(residual, y_count, -1, 1);

    double* xd = to_doubles(x, x_count);
    double* wd = to_doubles(w, w_count);
    double* bd = with_bias ? to_doubles(bias, (size_t)p.out_channels) : NULL;
    double* rd = with_residual ? to_doubles(residual, y_count) : NULL;
    double* ref = xdoubles(y_count);
    double* mag = xdoubles(y_count);
    ref_conv2d(&p, 1, in_h, in_w, xd, wd, bd, rd, ref, mag);

    /* Kernel-side tensors in the layout; dst starts at row y0. */
    const ic_view_strides_t xs = view(layout, p.in_channels, in_h, in_w);
    const ic_view_strides_t ys = view(layout, p.out_channels, win.out_h, win.out_w);
    float* src = xfloats(x_count);
    float* res = xfloats(y_count);
    float* dst = xfloats(y_count);
    for (int64_t c = 0; c < p.in_channels; c++)
      for (int64_t y = 0; y < in_h; y++)
        for (int64_t q = 0; q < in_w; q++) src[at(xs, c, y, q)] = x[(c * in_h + y) * in_w + q];
    for (int64_t c = 0; c < p.out_channels; c++)
      for (int64_t y = 0; y < win.out_h; y++)
        for (int64_t q = 0; q < win.out_w; q++) {
          res[at(ys, c, y, q)] = residual[(c * win.out_h + y) * win.out_w + q];
          dst[at(ys, c, y, q)] = NAN;
        }
    const int64_t y0 = rng_int(0, win.out_h - 1), y1 = rng_int(y0 + 1, win.out_h);
    const int64_t c0 = rng_int(0, p.out_channels - 1), c1 = rng_int(c0 + 1, p.out_channels);
    const ic_conv2d_geometry_t g = {p.in_channels, p.out_channels, p.groups, in_h, in_w,
                                    win.out_h, win.out_w, p.kernel_h, p.kernel_w, p.stride_h,
                                    p.stride_w, p.dilation_h, p.dilation_w, win.pad_top,
                                    win.pad_left};
    const ic_f32_conv2d_args_t args = {&g,  w,       with_bias ? bias : NULL, p.activation, src,
                                       xs,  dst + y0 * ys.h,
                                       with_residual ? res + y0 * ys.h : NULL, ys, y0, y1, c0,
                                       c1};
    fn(&args);
    for (int64_t c = 0; c < p.out_channels; c++)
      for (int64_t y = 0; y < win.out_h; y++)
        for (int64_t q = 0; q < win.out_w; q++) {
          const float got = dst[at(ys, c, y, q)];
          const size_t r = (size_t)((c * win.out_h + y) * win.out_w + q);
          if (c >= c0 && c < c1 && y >= y0 && y < y1) {
            check_close("dst", &got, &ref[r], &mag[r], 1, p.activation);
          } else {
            CHECK_MSG(isnan(got), "(%lld,%lld,%lld) outside the slice was written",
                      (long long)c, (long long)y, (long long)q);
          }
        }
    free(x), free(w), free(bias), free(residual), free(xd), free(wd), free(bd), free(rd);
    free(ref), free(mag), free(src), free(res), free(dst);
  }
}

static void test_pwconv(const char* name, ic_f32_pwconv2d_ukernel_fn fn) {
  /* Pixel counts around the scalar kernel's tile of 32 and typical SIMD tiles. */
  static const int64_t pixel_counts[] = {1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100};
  for (size_t i = 0; i < COUNT(pixel_counts); i++) {
    for (int repeat = 0; repeat < 4; repeat++) {
      const int64_t pixels = pixel_counts[i];
      const int64_t cin = rng_int(1, 40), cout = rng_int(1, 20);
      const int32_t layout = (int32_t)(repeat % 2);
      const int32_t activation = (int32_t)rng_int(0, 2);
      const bool with_bias = rng_bool(0.5), with_residual = rng_bool(0.5);
      test_set_problem("%s: pixels %lld, ic %lld, oc %lld, %s", name, (long long)pixels,
                       (long long)cin, (long long)cout, layout ? "nhwc" : "nchw");
      float* x = xfloats((size_t)(cin * pixels));
      float* w = xfloats((size_t)(cout * cin));
      float* bias = xfloats((size_t)cout);
      float* res = xfloats((size_t)(cout * pixels));
      float* dst = xfloats((size_t)(cout * pixels));
      fill_uniform(x, (size_t)(cin * pixels), -1, 1);
      fill_uniform(w, (size_t)(cout * cin), -1, 1);
      fill_uniform(bias, (size_t)cout, -1, 1);
      fill_uniform(res, (size_t)(cout * pixels), -1, 1);
      for (int64_t k = 0; k < cout * pixels; k++) dst[k] = NAN;
      /* NCHW: channel stride = pixels, pixel stride 1; NHWC: 1 and channels. */
      const int64_t xcs = layout ? 1 : pixels, xps = layout ? cin : 1;
      const int64_t ycs = layout ? 1 : pixels, yps = layout ? cout : 1;
      const int64_t c0 = rng_int(0, cout - 1), c1 = rng_int(c0 + 1, cout);
      const ic_f32_pwconv2d_args_t args = {cin, w, with_bias ? bias : NULL, activation, pixels, x,
                                           xcs, xps, dst, with_residual ? res : NULL, ycs, yps,
                                           c0, c1};
      fn(&args);
      for (int64_t o = 0; o < cout; o++)
        for (int64_t q = 0; q < pixels; q++) {
          const float got = dst[o * ycs + q * yps];
          if (o < c0 || o >= c1) {
            CHECK(isnan(got));
            continue;
          }
          double sum = with_bias ? bias[o] : 0, mag = with_bias ? fabs(bias[o]) : 0;
          if (with_residual) sum += res[o * ycs + q * yps], mag += fabs(res[o * ycs + q * yps]);
          for (int64_t c = 0; c < cin; c++) {
            const double prod = (double)w[o * cin + c] * x[c * xcs + q * xps];
            sum += prod, mag += fabs(prod);
          }
          check_close("dst", &got, &sum, &mag, 1, activation);
        }
      free(x), free(w), free(bias), free(res), free(dst);
    }
  }
}

static void test_invol(const char* name, ic_f32_invol2d_ukernel_fn fn) {
  for (int iteration = 0; iteration < 120; iteration++) {
    ic_involution_params_t p = {IC_DATATYPE_F32, 0, 0, 2 * rng_int(0, 3) + 1, rng_int(1, 3),
                                rng_int(1, 2), rng_int(1, 17)};
    p.channels = p.group_channels * rng_int(1, 3);
    const int64_t in_h = rng_int(1, 10), in_w = rng_int(1, 10);
    const int32_t layout = (int32_t)rng_int(0, 1);
    int64_t oh, ow;
    ref_involution_output(&p, in_h, in_w, &oh, &ow);
    const int64_t kc = p.channels / p.group_channels * p.kernel_size * p.kernel_size;
    test_set_problem("%s: c%lld k%lld s%lld d%lld gc%lld ih%lld iw%lld %s", name,
                     (long long)p.channels, (long long)p.kernel_size, (long long)p.stride,
                     (long long)p.dilation, (long long)p.group_channels, (long long)in_h,
                     (long long)in_w, layout ? "nhwc" : "nchw");
    const size_t xn = (size_t)(p.channels * in_h * in_w), kn = (size_t)(kc * oh * ow);
    const size_t yn = (size_t)(p.channels * oh * ow);
    float* x = xfloats(xn);
    float* k = xfloats(kn);
    fill_uniform(x, xn, -1, 1);
    fill_uniform(k, kn, -1, 1);
    double* xd = to_doubles(x, xn);
    double* kd = to_doubles(k, kn);
    double* ref = xdoubles(yn);
    double* mag = xdoubles(yn);
    ref_involution_aggregate(&p, 1, in_h, in_w, xd, kd, ref, mag);
    const ic_view_strides_t xs = view(layout, p.channels, in_h, in_w);
    const ic_view_strides_t ks = view(layout, kc, oh, ow);
    const ic_view_strides_t ys = view(layout, p.channels, oh, ow);
    float* src = xfloats(xn);
    float* kernels = xfloats(kn);
    float* dst = xfloats(yn);
    for (int64_t c = 0; c < p.channels; c++)
      for (int64_t y = 0; y < in_h; y++)
        for (int64_t q = 0; q < in_w; q++) src[at(xs, c, y, q)] = x[(c * in_h + y) * in_w + q];
    for (int64_t c = 0; c < kc; c++)
      for (int64_t y = 0; y < oh; y++)
        for (int64_t q = 0; q < ow; q++) kernels[at(ks, c, y, q)] = k[(c * oh + y) * ow + q];
    for (size_t i = 0; i < yn; i++) dst[i] = NAN;
    const int64_t y0 = rng_int(0, oh - 1), y1 = rng_int(y0 + 1, oh);
    const int64_t c0 = rng_int(0, p.channels - 1), c1 = rng_int(c0 + 1, p.channels);
    const ic_invol2d_geometry_t g = {p.channels, p.group_channels, p.kernel_size, p.stride,
                                     p.dilation, (p.kernel_size - 1) / 2 * p.dilation,
                                     in_h, in_w, oh, ow};
    const ic_f32_invol2d_args_t args = {&g, src, xs, kernels + y0 * ks.h, ks, dst + y0 * ys.h,
                                        ys, y0, y1, c0, c1};
    fn(&args);
    for (int64_t c = 0; c < p.channels; c++)
      for (int64_t y = 0; y < oh; y++)
        for (int64_t q = 0; q < ow; q++) {
          const float got = dst[at(ys, c, y, q)];
          const size_t r = (size_t)((c * oh + y) * ow + q);
          if (c >= c0 && c < c1 && y >= y0 && y < y1) {
            check_close("dst", &got, &ref[r], &mag[r], 1, IC_ACTIVATION_NONE);
          } else {
            CHECK(isnan(got));
          }
        }
    free(x), free(k), free(xd), free(kd), free(ref), free(mag), free(src), free(kernels);
    free(dst);
  }
}

static void test_avgpool(const char* name, ic_f32_avgpool2d_ukernel_fn fn) {
  for (int iteration = 0; iteration < 60; iteration++) {
    const int64_t s = rng_int(1, 4), channels = rng_int(1, 9);
    const int64_t oh = rng_int(1, 5), ow = rng_int(1, 5), in_h = oh * s, in_w = ow * s;
    const int32_t layout = (int32_t)rng_int(0, 1);
    test_set_problem("%s: s%lld c%lld oh%lld ow%lld %s", name, (long long)s, (long long)channels,
                     (long long)oh, (long long)ow, layout ? "nhwc" : "nchw");
    const ic_view_strides_t xs = view(layout, channels, in_h, in_w);
    const size_t xn = (size_t)(channels * in_h * in_w), yn = (size_t)(channels * oh * ow);
    float* src = xfloats(xn);
    fill_uniform(src, xn, -1, 1);
    float* dst = xfloats(yn);
    for (size_t i = 0; i < yn; i++) dst[i] = NAN;
    const int64_t y0 = rng_int(0, oh - 1), y1 = rng_int(y0 + 1, oh);
    /* Tile layout as Involution2d uses it: [channels][rows][ow]. */
    const int64_t rows = y1 - y0;
    const ic_f32_avgpool2d_args_t args = {channels, s, ow, src, xs, dst,
                                          (ic_view_strides_t){rows * ow, ow, 1}, y0, y1};
    fn(&args);
    for (int64_t c = 0; c < channels; c++)
      for (int64_t y = y0; y < y1; y++)
        for (int64_t q = 0; q < ow; q++) {
          double sum = 0, mag = 0;
          for (int64_t a = 0; a < s; a++)
            for (int64_t b = 0; b < s; b++) {
              const double v = src[at(xs, c, y * s + a, q * s + b)];
              sum += v / (double)(s * s), mag += fabs(v);
            }
          check_close("dst", &dst[(c * rows + (y - y0)) * ow + q], &sum, &mag, 1,
                      IC_ACTIVATION_NONE);
        }
    for (size_t i = (size_t)(channels * rows * ow); i < yn; i++) CHECK(isnan(dst[i]));
    free(src), free(dst);
  }
}

/* The scalar pointwise and direct kernels sum in the same order: a 1x1 conv must agree to the
 * bit, which makes the pointwise path a drop-in for the direct one. */
static void test_scalar_pointwise_equals_direct(void) {
  const int64_t cin = 37, cout = 5, h = 3, w = 11;
  float* x = xfloats((size_t)(cin * h * w));
  float* wt = xfloats((size_t)(cout * cin));
  float* a = xfloats((size_t)(cout * h * w));
  float* b = xfloats((size_t)(cout * h * w));
  fill_uniform(x, (size_t)(cin * h * w), -1, 1);
  fill_uniform(wt, (size_t)(cout * cin), -1, 1);
  const ic_conv2d_geometry_t g = {cin, cout, 1, h, w, h, w, 1, 1, 1, 1, 1, 1, 0, 0};
  const ic_f32_conv2d_args_t direct = {&g, wt, NULL, 0, x, {h * w, w, 1}, a, NULL,
                                       {h * w, w, 1}, 0, h, 0, cout};
  ic_f32_conv2d_ukernel_direct__scalar(&direct);
  const ic_f32_pwconv2d_args_t pointwise = {cin, wt, NULL, 0, h * w, x, h * w, 1, b, NULL,
                                            h * w, 1, 0, cout};
  ic_f32_pwconv2d_ukernel_gemm__scalar(&pointwise);
  check_identical("pointwise vs direct", a, b, (size_t)(cout * h * w));
  free(x), free(wt), free(a), free(b);
}

static void test_all_listed_kernels(void) {
  for (size_t i = 0; i < COUNT(conv_kernels); i++) {
    if (!runnable(conv_kernels[i].isa)) continue;
    test_conv_like(conv_kernels[i].name, conv_kernels[i].fn, false);
    kernels_tested++;
  }
  for (size_t i = 0; i < COUNT(dwconv_kernels); i++) {
    if (!runnable(dwconv_kernels[i].isa)) continue;
    test_conv_like(dwconv_kernels[i].name, dwconv_kernels[i].fn, true);
    kernels_tested++;
  }
  for (size_t i = 0; i < COUNT(pwconv_kernels); i++) {
    if (!runnable(pwconv_kernels[i].isa)) continue;
    test_pwconv(pwconv_kernels[i].name, pwconv_kernels[i].fn);
    kernels_tested++;
  }
  for (size_t i = 0; i < COUNT(invol_kernels); i++) {
    if (!runnable(invol_kernels[i].isa)) continue;
    test_invol(invol_kernels[i].name, invol_kernels[i].fn);
    kernels_tested++;
  }
  for (size_t i = 0; i < COUNT(avgpool_kernels); i++) {
    if (!runnable(avgpool_kernels[i].isa)) continue;
    test_avgpool(avgpool_kernels[i].name, avgpool_kernels[i].fn);
    kernels_tested++;
  }
  printf("tested %d kernels at ISA limit %s\n", kernels_tested, ic_isa_name(ic_active_isa()));
  CHECK(kernels_tested >= 5); /* at least every family's scalar kernel */
}

/* Selection picks the best listed kernel at or below the limit. */
static void test_selection(void) {
  ic_ukernel_info_t info;
  CHECK(ic_select_f32_conv2d_ukernel(IC_ISA_SCALAR, &info) != NULL);
  CHECK(info.isa == IC_ISA_SCALAR && strcmp(info.name, "f32_conv2d_direct__scalar") == 0);
  CHECK(ic_select_f32_dwconv2d_ukernel(IC_ISA_AVX512, &info) != NULL);
  CHECK(info.isa <= IC_ISA_AVX512);
  CHECK(ic_select_f32_pwconv2d_ukernel(IC_ISA_SCALAR, &info) == ic_f32_pwconv2d_ukernel_gemm__scalar);
  CHECK(strcmp(info.name, "f32_pwconv2d_gemm__scalar") == 0);
  CHECK(ic_select_f32_invol2d_ukernel(IC_ISA_SCALAR, &info) == ic_f32_invol2d_ukernel_direct__scalar);
  CHECK(ic_select_f32_avgpool2d_ukernel(IC_ISA_SCALAR, &info) ==
        ic_f32_avgpool2d_ukernel_direct__scalar);
}

int main(int argc, char** argv) {
  test_init(argc, argv, 31337);
  RUN_TEST(test_all_listed_kernels);
  RUN_TEST(test_scalar_pointwise_equals_direct);
  RUN_TEST(test_selection);
  return test_finish();
}
