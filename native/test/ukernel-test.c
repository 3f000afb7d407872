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
static const struct {
  ic_isa_t isa;
  const char* name;
  ic_f32_maxpool2d_ukernel_fn fn;
} maxpool_kernels[] = {
#include "f32-maxpool/f32-maxpool2d.inc"
};
static const struct {
  ic_isa_t isa;
  const char* name;
  ic_f32_transpose_ukernel_fn fn;
} transpose_kernels[] = {
#include "f32-transpose/f32-transpose.inc"
};
static const struct {
  ic_isa_t isa;
  const char* name;
  ic_f32_peak_ukernel_fn fn;
} peak_kernels[] = {
#include "f32-peak/f32-peak.inc"
};
#undef IC_UKERNEL

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

static int kernels_tested;

/* The channel-blocked involution families (ukernel-invol.c). */
int test_invol_nchwc_kernels(void);
/* The conv, depthwise and pointwise families (ukernel-conv.c). */
int test_conv_family_kernels(void);

static bool runnable(ic_isa_t isa) { return isa <= ic_active_isa(); }

static ic_view_strides_t view(int32_t layout, int64_t c, int64_t h, int64_t w) {
  if (layout == IC_LAYOUT_NHWC) return (ic_view_strides_t){1, w * c, c};
  return (ic_view_strides_t){h * w, w, 1};
}

/* Index of element (c, y, x) in a dense image of the given layout. */
static int64_t at(ic_view_strides_t s, int64_t c, int64_t y, int64_t x) {
  return c * s.c + y * s.h + x * s.w;
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

/* Pooling kernels (max or average): random windows, strides and padding, a random slice of
 * channels and rows, written either into a tensor of the layout or into a [c][rows][w] tile
 * (as Involution2d uses the average kernel). */
static void test_pool(const char* name, ic_f32_pool2d_ukernel_fn fn, bool max) {
  for (int iteration = 0; iteration < 200; iteration++) {
    ic_pool2d_params_t p = {0};
    p.pool = max ? IC_POOL_MAX : IC_POOL_AVERAGE;
    p.count_include_pad = max ? 0 : (int32_t)rng_int(0, 1);
    p.channels = rng_int(1, 9);
    p.kernel_h = rng_int(1, 5), p.kernel_w = rng_int(1, 5);
    p.stride_h = rng_int(1, 3), p.stride_w = rng_int(1, 3);
    p.padding = IC_PADDING_EXPLICIT;
    p.pad_top = rng_int(0, p.kernel_h - 1), p.pad_left = rng_int(0, p.kernel_w - 1);
    p.pad_bottom = rng_int(0, p.kernel_h - 1), p.pad_right = rng_int(0, p.kernel_w - 1);
    const int64_t in_h = rng_int(1, 10), in_w = rng_int(1, 10);
    ref_window_t win;
    if (!ref_pool2d_window(&p, in_h, in_w, &win)) continue;
    const int32_t layout = (int32_t)rng_int(0, 1);
    const bool tile = rng_bool(0.3);
    char text[256];
    pool2d_problem(text, sizeof text, &p, 1, in_h, in_w, layout);
    test_set_problem("%s: %s%s", name, text, tile ? " (tile)" : "");

    const size_t xn = (size_t)(p.channels * in_h * in_w);
    const size_t yn = (size_t)(p.channels * win.out_h * win.out_w);
    float* x = xfloats(xn);
    fill_uniform(x, xn, -1, 1);
    double* xd = to_doubles(x, xn);
    double* ref = xdoubles(yn);
    double* mag = xdoubles(yn);
    ref_pool2d(&p, 1, in_h, in_w, xd, ref, mag);

    const ic_view_strides_t xs = view(layout, p.channels, in_h, in_w);
    float* src = xfloats(xn);
    for (int64_t c = 0; c < p.channels; c++)
      for (int64_t y = 0; y < in_h; y++)
        for (int64_t q = 0; q < in_w; q++) src[at(xs, c, y, q)] = x[(c * in_h + y) * in_w + q];
    float* dst = xfloats(yn);
    for (size_t i = 0; i < yn; i++) dst[i] = NAN;
    const int64_t y0 = rng_int(0, win.out_h - 1), y1 = rng_int(y0 + 1, win.out_h);
    const int64_t c0 = rng_int(0, p.channels - 1), c1 = rng_int(c0 + 1, p.channels);
    /* The tile holds exactly the slice's rows of every channel. */
    const ic_view_strides_t ys = tile ? (ic_view_strides_t){(y1 - y0) * win.out_w, win.out_w, 1}
                                      : view(layout, p.channels, win.out_h, win.out_w);
    const ic_pool2d_geometry_t g = {p.channels, in_h, in_w, win.out_h, win.out_w, p.kernel_h,
                                    p.kernel_w, p.stride_h, p.stride_w, win.pad_top,
                                    win.pad_left, p.count_include_pad};
    const ic_f32_pool2d_args_t args = {&g, src, xs, tile ? dst : dst + y0 * ys.h, ys, y0, y1,
                                       c0, c1};
    fn(&args);
    for (int64_t c = 0; c < p.channels; c++)
      for (int64_t y = 0; y < win.out_h; y++)
        for (int64_t q = 0; q < win.out_w; q++) {
          const bool inside = c >= c0 && c < c1 && y >= y0 && y < y1;
          if (tile && !inside) continue;
          const float got = tile ? dst[at(ys, c, y - y0, q)] : dst[at(ys, c, y, q)];
          const size_t r = (size_t)((c * win.out_h + y) * win.out_w + q);
          if (inside) {
            check_close("dst", &got, &ref[r], &mag[r], 1, IC_ACTIVATION_NONE);
          } else {
            CHECK_MSG(isnan(got), "(%lld,%lld,%lld) outside the slice was written",
                      (long long)c, (long long)y, (long long)q);
          }
        }
    if (tile) {
      for (size_t i = (size_t)(p.channels * (y1 - y0) * win.out_w); i < yn; i++) {
        CHECK(isnan(dst[i]));
      }
    }
    free(x), free(xd), free(ref), free(mag), free(src), free(dst);
  }
}

/* The peak probes: the advertised FLOPs, and chains that end where the arithmetic says. */
static void test_peak(const char* name, ic_f32_peak_ukernel_fn fn) {
  test_set_problem("%s", name);
  ic_f32_peak_result_t result = {0.0f, 0.0};
  /* acc = acc * 0.5 + 1 reaches its fixed point 2 exactly, from any start in [0, 1]. */
  const ic_f32_peak_args_t args = {1000, 0.5f, 1.0f, &result};
  fn(&args);
  const double lanes = result.flops / (2.0 * 1000.0);
  CHECK_MSG(lanes >= 1 && lanes <= 4096 && lanes == floor(lanes),
            "%g FLOPs for 1000 iterations is not 2 per lane", result.flops);
  CHECK_MSG((double)result.sum == 2.0 * lanes, "sum %g, expected %g", (double)result.sum,
            2.0 * lanes);
}

/* Transposes: random matrices around the 8/16/32 blocks, rows of src and dst a few floats
 * apart beyond the matrix, a random rectangle, with and without a residual (separate or dst
 * itself) and an activation; exact (one float add at most), and nothing outside the rectangle
 * written. */
static void test_transpose(const char* name, ic_f32_transpose_ukernel_fn fn) {
  static const int64_t sizes[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40, 49, 64, 70};
  for (int iteration = 0; iteration < 200; iteration++) {
    const int64_t rows = sizes[rng_int(0, 14)], cols = sizes[rng_int(0, 14)];
    const int64_t xs = cols + rng_int(0, 3), ds = rows + rng_int(0, 3); /* row strides */
    const int64_t r0 = rng_int(0, rows - 1), r1 = rng_int(r0 + 1, rows);
    const int64_t c0 = rng_int(0, cols - 1), c1 = rng_int(c0 + 1, cols);
    const int residual = (int)rng_int(0, 2); /* none, separate, dst itself */
    const int32_t activation = (int32_t)rng_int(0, 2);
    test_set_problem("%s: %lldx%lld (strides %lld, %lld), rows [%lld, %lld), cols [%lld, %lld), "
                     "residual %d, act %d", name, (long long)rows, (long long)cols, (long long)xs,
                     (long long)ds, (long long)r0, (long long)r1, (long long)c0, (long long)c1,
                     residual, (int)activation);
    const size_t src_count = (size_t)(rows * xs), dst_count = (size_t)(cols * ds);
    float* src = xfloats(src_count);
    float* res = xfloats(dst_count);
    float* dst = xfloats(dst_count);
    fill_uniform(src, src_count, -1, 1);
    fill_uniform(res, dst_count, -1, 1);
    for (size_t i = 0; i < dst_count; i++) dst[i] = residual == 2 ? res[i] : NAN;
    const ic_f32_transpose_args_t args = {src, dst,
                                          residual == 1 ? res : residual == 2 ? dst : NULL,
                                          activation, xs, ds, r0, r1, c0, c1};
    fn(&args);
    for (int64_t c = 0; c < cols; c++) {
      for (int64_t r = 0; r < ds; r++) {
        const float got = dst[c * ds + r];
        if (r >= r0 && r < r1 && c >= c0 && c < c1) {
          const float expected = ic_activate(
              src[r * xs + c] + (residual != 0 ? res[c * ds + r] : 0.0f), activation);
          CHECK_MSG(got == expected, "dst[%lld][%lld] = %.9g, expected %.9g", (long long)c,
                    (long long)r, (double)got, (double)expected);
        } else if (residual == 2) {
          CHECK_MSG(got == res[c * ds + r], "dst[%lld][%lld] outside was written",
                    (long long)c, (long long)r);
        } else {
          CHECK_MSG(isnan(got), "dst[%lld][%lld] outside was written", (long long)c, (long long)r);
        }
      }
    }
    free(src), free(res), free(dst);
  }
}

static void test_all_listed_kernels(void) {
  kernels_tested += test_conv_family_kernels();
  for (size_t i = 0; i < COUNT(invol_kernels); i++) {
    if (!runnable(invol_kernels[i].isa)) continue;
    test_invol(invol_kernels[i].name, invol_kernels[i].fn);
    kernels_tested++;
  }
  for (size_t i = 0; i < COUNT(avgpool_kernels); i++) {
    if (!runnable(avgpool_kernels[i].isa)) continue;
    test_pool(avgpool_kernels[i].name, avgpool_kernels[i].fn, false);
    kernels_tested++;
  }
  for (size_t i = 0; i < COUNT(maxpool_kernels); i++) {
    if (!runnable(maxpool_kernels[i].isa)) continue;
    test_pool(maxpool_kernels[i].name, maxpool_kernels[i].fn, true);
    kernels_tested++;
  }
  for (size_t i = 0; i < COUNT(transpose_kernels); i++) {
    if (!runnable(transpose_kernels[i].isa)) continue;
    test_transpose(transpose_kernels[i].name, transpose_kernels[i].fn);
    kernels_tested++;
  }
  for (size_t i = 0; i < COUNT(peak_kernels); i++) {
    if (!runnable(peak_kernels[i].isa)) continue;
    test_peak(peak_kernels[i].name, peak_kernels[i].fn);
    kernels_tested++;
  }
  kernels_tested += test_invol_nchwc_kernels();
  printf("tested %d kernels at ISA limit %s\n", kernels_tested, ic_isa_name(ic_active_isa()));
  CHECK(kernels_tested >= 8); /* at least every family's scalar kernel */
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
  CHECK(ic_select_f32_maxpool2d_ukernel(IC_ISA_SCALAR, &info) ==
        ic_f32_maxpool2d_ukernel_direct__scalar);
  CHECK(strcmp(info.name, "f32_maxpool2d_direct__scalar") == 0);
  CHECK(ic_select_f32_transpose_ukernel(IC_ISA_SCALAR, &info) ==
        ic_f32_transpose_ukernel_32x32__scalar);
  CHECK(ic_select_f32_peak_ukernel(IC_ISA_SCALAR, &info) == ic_f32_peak_ukernel_12x1__scalar);
  CHECK(strcmp(info.name, "f32_peak_12x1__scalar") == 0);
#if IC_ARCH_X86_64
  /* The probe exists on every ISA: the widest one's is what the limit selects. */
  CHECK(ic_select_f32_peak_ukernel(IC_ISA_AVX2, &info) == ic_f32_peak_ukernel_12x8__avx2);
  CHECK(ic_select_f32_peak_ukernel(IC_ISA_AVX512, &info) == ic_f32_peak_ukernel_16x16__avx512);
  CHECK(info.isa == IC_ISA_AVX512 && strcmp(info.name, "f32_peak_16x16__avx512") == 0);
#endif
}

int main(int argc, char** argv) {
  test_init(argc, argv, 31337);
  RUN_TEST(test_all_listed_kernels);
  RUN_TEST(test_selection);
  return test_finish();
}
