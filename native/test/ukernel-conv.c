/*
 * Kernel tests of the convolution families (part of ukernel-test): every entry of
 * f32-conv/f32-conv2d.inc, f32-dwconv/f32-dwconv2d.inc, f32-pwconv/f32-pwconv2d.inc and
 * f32-winograd/f32-winograd.inc against
 * the float64 reference, with the prepared operands the SIMD kernels read (packed weights,
 * packed source, scratch) built by the same packing functions the operators use.
 *
 * Each kernel computes a random slice (channel and row sub-ranges) and must write exactly that
 * slice: dst starts as NaN and everything outside must stay NaN. Cases: small random shapes
 * (any groups, kernel, stride, dilation, padding, activation, bias, residual, both layouts),
 * then shapes around the SIMD tiles — channel counts below, at, above and at multiples of
 * 8/16/32/48/64, row widths around the pixel tiles (6, 14, 16, 48), reductions long enough to
 * take several chunks, depthwise rows wide enough for several vectors and the ring path.
 * Kernels of an ISA this CPU (or the INVCONV_MAX_ISA limit) lacks are skipped with a printed
 * note and never counted as passed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
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
  ic_f32_winograd_ukernel_fn fn;
} winograd_kernels[] = {
#include "f32-winograd/f32-winograd.inc"
};
#undef IC_UKERNEL

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* Called by ukernel-test.c; returns the number of kernels tested. */
int test_conv_family_kernels(void);

static ic_view_strides_t view(int32_t layout, int64_t c, int64_t h, int64_t w) {
  if (layout == IC_LAYOUT_NHWC) return (ic_view_strides_t){1, w * c, c};
  return (ic_view_strides_t){h * w, w, 1};
}

static int64_t at(ic_view_strides_t s, int64_t c, int64_t y, int64_t x) {
  return c * s.c + y * s.h + x * s.w;
}

static int64_t pick(const int64_t* values, size_t count) {
  return values[rng_int(0, (int64_t)count - 1)];
}

/* ---------------------------------------------------------------------------------------------
 * Direct and depthwise
 * ------------------------------------------------------------------------------------------- */

typedef struct conv_case {
  ic_conv2d_params_t p;
  int64_t in_h, in_w;
  int32_t layout;
  bool bias, residual;
  bool whole; /* all rows and channels in one call (else a random slice of each) */
  int64_t channel_quantum; /* > 0: the slice's channels start and end on multiples of it */
  int64_t pixel_gap; /* NHWC: NaN floats after each input pixel's channels (a view's gap) */
} conv_case_t;

/* Runs one case on one kernel; returns false if the shape is empty (nothing tested). */
static bool run_conv_case(const char* name, ic_f32_conv2d_ukernel_fn fn, bool depthwise,
                          const conv_case_t* k) {
  const ic_conv2d_params_t* p = &k->p;
  ref_window_t win;
  if (!ref_conv2d_window(p, k->in_h, k->in_w, &win)) return false;
  char text[256];
  conv2d_problem(text, sizeof text, p, 1, k->in_h, k->in_w, k->layout);
  test_set_problem("%s: %s%s%s", name, text, k->bias ? "_bias" : "", k->residual ? "_residual" : "");

  const int64_t gin = p->in_channels / p->groups;
  const size_t x_count = (size_t)(p->in_channels * k->in_h * k->in_w);
  const size_t w_count = (size_t)(p->out_channels * gin * p->kernel_h * p->kernel_w);
  const size_t y_count = (size_t)(p->out_channels * win.out_h * win.out_w);
  float* x = xfloats(x_count);
  float* w = xfloats(w_count);
  float* bias = xfloats((size_t)p->out_channels);
  float* residual = xfloats(y_count);
  fill_uniform(x, x_count, -1, 1);
  fill_uniform(w, w_count, -1, 1);
  fill_uniform(bias, (size_t)p->out_channels, -1, 1);
  fill_uniform(residual, y_count, -1, 1);

  double* xd = to_doubles(x, x_count);
  double* wd = to_doubles(w, w_count);
  double* bd = k->bias ? to_doubles(bias, (size_t)p->out_channels) : NULL;
  double* rd = k->residual ? to_doubles(residual, y_count) : NULL;
  double* ref = xdoubles(y_count);
  double* mag = xdoubles(y_count);
  ref_conv2d(p, 1, k->in_h, k->in_w, xd, wd, bd, rd, ref, mag);

  /* Kernel-side tensors in the layout; dst starts at row y0. */
  ic_view_strides_t xs = view(k->layout, p->in_channels, k->in_h, k->in_w);
  if (k->pixel_gap > 0) {
    xs.w = p->in_channels + k->pixel_gap;
    xs.h = k->in_w * xs.w;
  }
  const ic_view_strides_t ys = view(k->layout, p->out_channels, win.out_h, win.out_w);
  const size_t src_count = k->pixel_gap > 0 ? (size_t)(k->in_h * xs.h) : x_count;
  float* src = xfloats(src_count);
  for (size_t i = 0; i < src_count; i++) src[i] = NAN;
  float* res = xfloats(y_count);
  float* dst = xfloats(y_count);
  for (int64_t c = 0; c < p->in_channels; c++)
    for (int64_t y = 0; y < k->in_h; y++)
      for (int64_t q = 0; q < k->in_w; q++) src[at(xs, c, y, q)] = x[(c * k->in_h + y) * k->in_w + q];
  for (int64_t c = 0; c < p->out_channels; c++)
    for (int64_t y = 0; y < win.out_h; y++)
      for (int64_t q = 0; q < win.out_w; q++) {
        res[at(ys, c, y, q)] = residual[(c * win.out_h + y) * win.out_w + q];
        dst[at(ys, c, y, q)] = NAN;
      }
  const ic_conv2d_geometry_t g = {p->in_channels, p->out_channels, p->groups, k->in_h, k->in_w,
                                  win.out_h, win.out_w, p->kernel_h, p->kernel_w, p->stride_h,
                                  p->stride_w, p->dilation_h, p->dilation_w, win.pad_top,
                                  win.pad_left};

  /* Prepared operands, exactly as the operators build them. */
  float* packed_weights = NULL;
  float* packed_src = NULL;
  float* scratch = NULL;
  if (depthwise) {
    const int64_t taps = p->kernel_h * p->kernel_w;
    packed_weights = ic_aligned_alloc(
        (size_t)ic_f32_dwconv2d_packed_floats(p->out_channels, taps) * sizeof(float));
    ic_f32_dwconv2d_pack_weights(p->out_channels, taps, w, packed_weights);
  } else {
    ic_f32_conv2d_packing_t pk;
    CHECK(ic_f32_conv2d_packing(&g, &pk));
    packed_weights = ic_aligned_alloc((size_t)pk.weights_floats * sizeof(float));
    packed_src = ic_aligned_alloc((size_t)pk.src_floats * sizeof(float));
    scratch = ic_aligned_alloc((size_t)ic_f32_conv2d_scratch_floats(win.out_w) * sizeof(float));
    ic_f32_conv2d_pack_weights(&g, &pk, w, packed_weights);
    /* NaN where the packing leaves columns out (read in place): a tile reading them fails. */
    for (int64_t i = 0; i < pk.src_floats; i++) packed_src[i] = NAN;
    /* In two pieces, as the parallel packing does. */
    const int64_t half = pk.rows / 2;
    ic_f32_conv2d_pack_src(&g, &pk, src, xs, packed_src, 0, half);
    ic_f32_conv2d_pack_src(&g, &pk, src, xs, packed_src, half, pk.rows);
  }

  const int64_t y0 = k->whole ? 0 : rng_int(0, win.out_h - 1);
  const int64_t y1 = k->whole ? win.out_h : rng_int(y0 + 1, win.out_h);
  int64_t c0 = k->whole ? 0 : rng_int(0, p->out_channels - 1);
  int64_t c1 = k->whole ? p->out_channels : rng_int(c0 + 1, p->out_channels);
  if (!k->whole && k->channel_quantum > 0) {
    const int64_t quanta = (p->out_channels + k->channel_quantum - 1) / k->channel_quantum;
    const int64_t q0 = rng_int(0, quanta - 1), q1 = rng_int(q0 + 1, quanta);
    c0 = q0 * k->channel_quantum;
    c1 = q1 * k->channel_quantum < p->out_channels ? q1 * k->channel_quantum : p->out_channels;
  }
  const ic_f32_conv2d_args_t args = {
      .geometry = &g,
      .weights = w,
      .bias = k->bias ? bias : NULL,
      .activation = p->activation,
      .src = src,
      .src_stride = xs,
      .dst = dst + y0 * ys.h,
      .residual = k->residual ? res + y0 * ys.h : NULL,
      .dst_stride = ys,
      .y0 = y0,
      .y1 = y1,
      .c0 = c0,
      .c1 = c1,
      .packed_weights = packed_weights,
      .packed_src = packed_src,
      .scratch = scratch,
      .weights_to_l2 = rng_bool(0.5),
  };
  fn(&args);
  int reported = 0;
  for (int64_t c = 0; c < p->out_channels; c++)
    for (int64_t y = 0; y < win.out_h; y++)
      for (int64_t q = 0; q < win.out_w; q++) {
        const float got = dst[at(ys, c, y, q)];
        const size_t r = (size_t)((c * win.out_h + y) * win.out_w + q);
        if (c >= c0 && c < c1 && y >= y0 && y < y1) {
          if (!check_close("dst", &got, &ref[r], &mag[r], 1, p->activation) && ++reported > 3) {
            goto done;
          }
        } else if (!isnan(got)) {
          CHECK_MSG(false, "(%lld,%lld,%lld) outside the slice c[%lld,%lld) y[%lld,%lld) was written",
                    (long long)c, (long long)y, (long long)q, (long long)c0, (long long)c1,
                    (long long)y0, (long long)y1);
          goto done;
        }
      }
done:
  ic_aligned_free(packed_weights), ic_aligned_free(packed_src), ic_aligned_free(scratch);
  free(x), free(w), free(bias), free(residual), free(xd), free(wd), free(bd), free(rd);
  free(ref), free(mag), free(src), free(res), free(dst);
  return true;
}

static void random_window(ic_conv2d_params_t* p, int64_t max_kernel, int64_t max_stride) {
  p->kernel_h = rng_int(1, max_kernel), p->kernel_w = rng_int(1, max_kernel);
  p->stride_h = rng_int(1, max_stride), p->stride_w = rng_int(1, max_stride);
  p->dilation_h = rng_bool(0.7) ? 1 : 2, p->dilation_w = rng_bool(0.7) ? 1 : 2;
  p->padding = IC_PADDING_EXPLICIT;
  p->pad_top = rng_int(0, 3), p->pad_left = rng_int(0, 3);
  p->pad_bottom = rng_int(0, 3), p->pad_right = rng_int(0, 3);
  p->activation = (int32_t)rng_int(0, 2);
}

static void test_conv_kernel(const char* name, ic_f32_conv2d_ukernel_fn fn) {
  /* Small random shapes: any groups, kernel, stride, dilation and padding. */
  for (int i = 0; i < 150; i++) {
    conv_case_t k = {0};
    k.p.groups = rng_int(1, 3);
    k.p.in_channels = k.p.groups * rng_int(1, 4);
    k.p.out_channels = k.p.groups * rng_int(1, 4);
    random_window(&k.p, 5, 3);
    k.in_h = rng_int(1, 9), k.in_w = rng_int(1, 9);
    k.layout = (int32_t)rng_int(0, 1);
    k.bias = rng_bool(0.5), k.residual = rng_bool(0.5);
    run_conv_case(name, fn, false, &k);
  }
  /* Around the tiles: input channels per group below/at/above/multiples of the 16-channel
   * blocks, output channels around 16/32/48/64, output widths around 6, 14 and 16. */
  static const int64_t ins[] = {1, 3, 8, 15, 16, 17, 31, 32, 33, 48, 64};
  static const int64_t outs[] = {1, 7, 8, 15, 16, 17, 24, 31, 32, 33, 47, 48, 64, 65};
  static const int64_t widths[] = {1, 5, 6, 7, 13, 14, 15, 16, 17, 28, 29, 31};
  for (int i = 0; i < 80; i++) {
    conv_case_t k = {0};
    k.p.groups = rng_bool(0.75) ? 1 : rng_int(2, 3);
    k.p.in_channels = k.p.groups * pick(ins, COUNT(ins));
    k.p.out_channels = k.p.groups * pick(outs, COUNT(outs));
    random_window(&k.p, 3, 2);
    if (rng_bool(0.5)) { /* the common 3x3 same conv */
      k.p.kernel_h = k.p.kernel_w = 3, k.p.dilation_h = k.p.dilation_w = 1;
      k.p.pad_top = k.p.pad_left = k.p.pad_bottom = k.p.pad_right = 1;
    }
    k.in_w = pick(widths, COUNT(widths)) * k.p.stride_w;
    k.in_h = rng_int(1, 6);
    k.layout = (int32_t)rng_int(0, 1);
    k.bias = rng_bool(0.5), k.residual = rng_bool(0.5);
    run_conv_case(name, fn, false, &k);
  }
  /* Channel-contiguous images of one group: folded ones (fewer than 16 channels, kernel_w > 1)
   * wide enough for tiles read in place (ic_f32_conv2d_in_place_columns) between the packed
   * tiles at the edges (15 channels x 7 columns make two chunks), and ones of 16 channels and
   * more in rows of 2-4 tiles. Some are views with a gap after each pixel's channels (NaN:
   * read, they would show; folded, the packing then copies every column). */
  static const int64_t folded_ins[] = {1, 2, 3, 4, 5, 8, 15};
  static const int64_t wide_ins[] = {16, 17, 31, 32, 48, 64, 100};
  for (int i = 0; i < 60; i++) {
    const bool folded = i % 2 == 0;
    conv_case_t k = {0};
    k.p.groups = 1;
    k.p.in_channels =
        folded ? pick(folded_ins, COUNT(folded_ins)) : pick(wide_ins, COUNT(wide_ins));
    k.p.out_channels = pick(outs, COUNT(outs));
    random_window(&k.p, folded ? 7 : 5, folded ? 3 : 2);
    if (folded) {
      k.p.kernel_w = rng_int(2, 7), k.p.dilation_w = 1;
      k.in_w = rng_int(40, 140), k.in_h = rng_int(1, 8);
    } else {
      if (rng_bool(0.5)) { /* the common 3x3 same conv */
        k.p.kernel_h = k.p.kernel_w = 3, k.p.dilation_h = k.p.dilation_w = 1;
        k.p.pad_top = k.p.pad_left = k.p.pad_bottom = k.p.pad_right = 1;
      }
      k.in_w = rng_int(26, 56) * k.p.stride_w, k.in_h = rng_int(1, 5);
    }
    k.pixel_gap = rng_bool(0.3) ? rng_int(1, 20) : 0;
    k.layout = IC_LAYOUT_NHWC;
    k.bias = rng_bool(0.5), k.residual = rng_bool(0.5);
    k.whole = rng_bool(0.3);
    run_conv_case(name, fn, false, &k);
  }
  /* Long reductions: several chunks of blocks, and a partial last block. */
  static const int64_t long_ins[] = {200, 257, 600};
  for (int i = 0; i < 3; i++) {
    conv_case_t k = {0};
    k.p.groups = 1;
    k.p.in_channels = long_ins[i];
    k.p.out_channels = i == 2 ? 20 : 33;
    random_window(&k.p, i == 2 ? 1 : 3, 2);
    k.in_h = 4, k.in_w = 17;
    k.layout = (int32_t)(i % 2);
    k.bias = true, k.residual = i == 1;
    run_conv_case(name, fn, false, &k);
  }
}

static void test_dwconv_kernel(const char* name, ic_f32_dwconv2d_ukernel_fn fn) {
  for (int i = 0; i < 150; i++) {
    conv_case_t k = {0};
    k.p.in_channels = k.p.groups = rng_int(1, 5);
    k.p.out_channels = k.p.in_channels * rng_int(1, 3);
    random_window(&k.p, 5, 3);
    k.in_h = rng_int(1, 9), k.in_w = rng_int(1, 9);
    k.layout = (int32_t)rng_int(0, 1);
    k.bias = rng_bool(0.5), k.residual = rng_bool(0.5);
    run_conv_case(name, fn, true, &k);
  }
  /* Channels around the 8/16-channel vectors, rows of several vectors (stride 1 and 2, the
   * 3x3 fast paths with their row blocks, borders and tails), multipliers. */
  static const int64_t channels[] = {1, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33};
  static const int64_t widths[] = {1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40, 47, 64, 70, 113};
  for (int i = 0; i < 120; i++) {
    conv_case_t k = {0};
    k.p.in_channels = k.p.groups = pick(channels, COUNT(channels));
    k.p.out_channels = k.p.in_channels * (rng_bool(0.8) ? 1 : rng_int(2, 3));
    random_window(&k.p, 5, 3);
    if (rng_bool(0.6)) { /* 3x3, stride 1 or 2, the common paddings */
      k.p.kernel_h = k.p.kernel_w = 3;
      k.p.stride_h = k.p.stride_w = rng_int(1, 2);
      k.p.dilation_h = k.p.dilation_w = rng_bool(0.85) ? 1 : 2;
      const int64_t pad = rng_int(0, 2);
      k.p.pad_top = k.p.pad_left = k.p.pad_bottom = k.p.pad_right = pad;
    }
    k.in_w = pick(widths, COUNT(widths));
    k.in_h = rng_int(1, 14);
    k.layout = (int32_t)rng_int(0, 1);
    k.bias = rng_bool(0.5), k.residual = rng_bool(0.5);
    run_conv_case(name, fn, true, &k);
  }
  /* Channel-contiguous images of many whole channel vectors, sliced on 16-channel bounds: the
   * 3x3 runs then sweep each row pixel by pixel over groups of up to 8 vectors (more channels:
   * several groups, and a partial last one). */
  static const int64_t many[] = {16, 32, 48, 64, 128, 144, 160, 272};
  for (int i = 0; i < 40; i++) {
    conv_case_t k = {0};
    k.p.in_channels = k.p.groups = k.p.out_channels = pick(many, COUNT(many));
    random_window(&k.p, 3, 2);
    k.p.kernel_h = k.p.kernel_w = 3;
    k.p.dilation_h = k.p.dilation_w = 1;
    k.p.pad_top = rng_int(0, 2), k.p.pad_left = rng_int(0, 2);
    k.p.pad_bottom = rng_int(0, 2), k.p.pad_right = rng_int(0, 2);
    k.in_h = rng_int(1, 10), k.in_w = rng_int(1, 40);
    k.layout = IC_LAYOUT_NHWC;
    k.bias = rng_bool(0.5), k.residual = rng_bool(0.5);
    k.whole = rng_bool(0.3);
    k.channel_quantum = 16;
    run_conv_case(name, fn, true, &k);
  }
  /* Small planes, 3x3 (the SIMD kernels transpose pixel-contiguous planes of up to 256 pixels
   * into channel-contiguous tiles): stride 1 with up to 2 columns of padding each side (outputs of
   * more than 256 pixels from inputs of fewer: 16x16 padded to 18x18), stride 2 with the
   * padding after (even sizes, out = in / 2); sizes around 16 pixels per vector and the
   * 256-pixel limit. A third of them channel-contiguous: rows as runs of up to 8 pixels. */
  static const int64_t sides[] = {1, 2, 3, 4, 5, 7, 8, 13, 14, 15, 16, 17, 24, 28, 32, 33};
  for (int i = 0; i < 120; i++) {
    conv_case_t k = {0};
    k.p.in_channels = k.p.groups = pick(channels, COUNT(channels));
    k.p.out_channels = k.p.in_channels * (rng_bool(0.8) ? 1 : rng_int(2, 3));
    random_window(&k.p, 3, 1);
    k.p.kernel_h = k.p.kernel_w = 3;
    k.p.dilation_h = k.p.dilation_w = 1;
    k.p.padding = IC_PADDING_EXPLICIT;
    k.in_h = pick(sides, COUNT(sides));
    k.in_w = pick(sides, COUNT(sides));
    if (i % 2 == 0) {
      k.p.stride_h = k.p.stride_w = 1;
      k.p.pad_left = rng_int(0, 2), k.p.pad_right = rng_int(0, 2);
      k.p.pad_top = rng_int(0, 2), k.p.pad_bottom = rng_int(0, 3);
      if (i % 10 == 0) { /* 16x16 -> 18x18, in one call */
        k.in_h = k.in_w = 16;
        k.p.pad_left = k.p.pad_right = k.p.pad_top = k.p.pad_bottom = 2;
        k.whole = true;
      }
    } else {
      k.p.stride_h = k.p.stride_w = 2;
      k.in_h += k.in_h % 2, k.in_w += k.in_w % 2;
      k.p.pad_top = k.p.pad_left = 0;
      k.p.pad_bottom = k.p.pad_right = 1;
    }
    k.layout = i % 3 == 2 ? IC_LAYOUT_NHWC : IC_LAYOUT_NCHW;
    k.bias = rng_bool(0.5), k.residual = rng_bool(0.5);
    run_conv_case(name, fn, true, &k);
  }
}

/* ---------------------------------------------------------------------------------------------
 * Pointwise
 * ------------------------------------------------------------------------------------------- */

/* Operand addressings: pixel-contiguous, channel-contiguous, each mixed with the other for dst,
 * and a gapped one that no SIMD tile takes. */
enum { PW_PLANAR, PW_INTERLEAVED, PW_PLANAR_TO_INTERLEAVED, PW_INTERLEAVED_TO_PLANAR, PW_GAPPED };

static void run_pwconv_case(const char* name, ic_f32_pwconv2d_ukernel_fn fn, int64_t pixels,
                            int64_t cin, int64_t cout, int addressing, bool packed) {
  const int32_t activation = (int32_t)rng_int(0, 2);
  const bool with_bias = rng_bool(0.5), with_residual = rng_bool(0.5);
  /* The residual may be dst itself (a network's in-place residual block): then every output
   * element must be stored once, as a kernel that stored a pixel twice would add it twice. */
  const bool in_place = with_residual && rng_bool(0.5);
  test_set_problem("%s: pixels %lld, ic %lld, oc %lld, addressing %d%s%s", name,
                   (long long)pixels, (long long)cin, (long long)cout, addressing,
                   packed ? ", packed" : "", in_place ? ", residual in place" : "");
  const int64_t gap = addressing == PW_GAPPED ? 2 : 1;
  const size_t x_count = (size_t)(cin * pixels * gap), y_count = (size_t)(cout * pixels * gap);
  float* x = xfloats(x_count);
  float* w = xfloats((size_t)(cout * cin));
  float* bias = xfloats((size_t)cout);
  float* res = xfloats(y_count);
  float* dst = xfloats(y_count);
  fill_uniform(x, x_count, -1, 1);
  fill_uniform(w, (size_t)(cout * cin), -1, 1);
  fill_uniform(bias, (size_t)cout, -1, 1);
  fill_uniform(res, y_count, -1, 1);
  /* What dst holds where the kernel must not write: NaN, or the residual when in place. */
  for (size_t k = 0; k < y_count; k++) dst[k] = in_place ? res[k] : NAN;
  const bool src_planar = addressing == PW_PLANAR || addressing == PW_PLANAR_TO_INTERLEAVED;
  const bool dst_planar = addressing == PW_PLANAR || addressing == PW_INTERLEAVED_TO_PLANAR;
  int64_t xcs = src_planar ? pixels : 1, xps = src_planar ? 1 : cin;
  int64_t ycs = dst_planar ? pixels : 1, yps = dst_planar ? 1 : cout;
  if (addressing == PW_GAPPED) xcs = 2 * pixels, xps = 2, ycs = 2 * pixels, yps = 2;
  float* packed_weights = NULL;
  if (packed) {
    packed_weights = ic_aligned_alloc(
        (size_t)ic_f32_pwconv2d_packed_floats(cin, cout) * sizeof(float));
    ic_f32_pwconv2d_pack_weights(cin, cout, w, packed_weights);
  }
  const int64_t c0 = rng_int(0, cout - 1), c1 = rng_int(c0 + 1, cout);
  /* Half the time a region to prefetch on the way (Winograd passes its next position's
   * weights; here the input image): the results must not change. */
  const bool ahead = rng_bool(0.5);
  const ic_f32_pwconv2d_args_t args = {
      .in_channels = cin,
      .weights = w,
      .bias = with_bias ? bias : NULL,
      .activation = activation,
      .pixels = pixels,
      .src = x,
      .src_stride_c = xcs,
      .src_stride_p = xps,
      .dst = dst,
      .residual = in_place ? dst : with_residual ? res : NULL,
      .dst_stride_c = ycs,
      .dst_stride_p = yps,
      .c0 = c0,
      .c1 = c1,
      .out_channels = rng_bool(0.5) ? cout : 0,
      .ahead_weights = ahead ? x : NULL,
      .ahead_floats = ahead ? (int64_t)x_count : 0,
      .packed_weights = packed_weights,
  };
  fn(&args);
  int reported = 0;
  for (int64_t o = 0; o < cout && reported <= 3; o++)
    for (int64_t q = 0; q < pixels; q++) {
      const float got = dst[o * ycs + q * yps];
      if (o < c0 || o >= c1) {
        const float untouched = in_place ? res[o * ycs + q * yps] : NAN;
        if (memcmp(&got, &untouched, sizeof got) != 0) {
          CHECK_MSG(false, "channel %lld outside [%lld, %lld) was written", (long long)o,
                    (long long)c0, (long long)c1);
          reported = 4;
          break;
        }
        continue;
      }
      double sum = with_bias ? bias[o] : 0, mag = with_bias ? fabs(bias[o]) : 0;
      if (with_residual) sum += res[o * ycs + q * yps], mag += fabs(res[o * ycs + q * yps]);
      for (int64_t c = 0; c < cin; c++) {
        const double prod = (double)w[o * cin + c] * x[c * xcs + q * xps];
        sum += prod, mag += fabs(prod);
      }
      if (!check_close("dst", &got, &sum, &mag, 1, activation)) reported++;
    }
  /* Gaps between pixels are never written. */
  if (addressing == PW_GAPPED) {
    for (size_t k = 1; k < y_count; k += 2) CHECK(in_place ? dst[k] == res[k] : isnan(dst[k]));
  }
  ic_aligned_free(packed_weights);
  free(x), free(w), free(bias), free(res), free(dst);
}

static void test_pwconv_kernel(const char* name, ic_f32_pwconv2d_ukernel_fn fn) {
  /* Pixel counts around the 24/32/48-pixel and 6-pixel tiles. */
  static const int64_t pixel_counts[] = {1, 2, 5, 6, 7, 8, 15, 16, 17, 23, 24, 25, 31, 32,
                                         33, 47, 48, 49, 63, 64, 65, 97, 100};
  static const int64_t ins[] = {1, 2, 15, 16, 17, 40, 255, 256, 257, 600};
  static const int64_t outs[] = {1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 47, 48, 63, 64, 65, 70};
  for (size_t i = 0; i < COUNT(pixel_counts); i++) {
    for (int repeat = 0; repeat < 6; repeat++) {
      const int64_t cin = repeat < 3 ? rng_int(1, 40) : pick(ins, COUNT(ins));
      const int64_t cout = pick(outs, COUNT(outs));
      const int addressing = (int)rng_int(PW_PLANAR, PW_GAPPED);
      run_pwconv_case(name, fn, pixel_counts[i], cin, cout, addressing, rng_bool(0.85));
    }
  }
  /* Weights of more than 256 KB: the channel-contiguous tiles prefetch the next group's. */
  static const int64_t big_pixel_counts[] = {1, 7, 13, 49};
  for (size_t i = 0; i < COUNT(big_pixel_counts); i++) {
    run_pwconv_case(name, fn, big_pixel_counts[i], 1100, 260, PW_INTERLEAVED, true);
    run_pwconv_case(name, fn, big_pixel_counts[i], 700, 400, (int)rng_int(PW_PLANAR, PW_GAPPED),
                    true);
    run_pwconv_case(name, fn, big_pixel_counts[i], 300, 230, PW_INTERLEAVED, true);
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
  test_set_problem("scalar pointwise vs direct");
  const ic_conv2d_geometry_t g = {cin, cout, 1, h, w, h, w, 1, 1, 1, 1, 1, 1, 0, 0};
  const ic_f32_conv2d_args_t direct = {.geometry = &g, .weights = wt, .src = x,
                                       .src_stride = {h * w, w, 1}, .dst = a,
                                       .dst_stride = {h * w, w, 1}, .y0 = 0, .y1 = h, .c0 = 0,
                                       .c1 = cout};
  ic_f32_conv2d_ukernel_direct__scalar(&direct);
  const ic_f32_pwconv2d_args_t pointwise = {.in_channels = cin, .weights = wt, .pixels = h * w,
                                            .src = x, .src_stride_c = h * w, .src_stride_p = 1,
                                            .dst = b, .dst_stride_c = h * w, .dst_stride_p = 1,
                                            .c0 = 0, .c1 = cout};
  ic_f32_pwconv2d_ukernel_gemm__scalar(&pointwise);
  check_identical("pointwise vs direct", a, b, (size_t)(cout * h * w));
  free(x), free(wt), free(a), free(b);
}

/* ---------------------------------------------------------------------------------------------
 * Winograd F(4x4, 3x3)
 * ------------------------------------------------------------------------------------------- */

/* One NHWC image; the kernel computes tiles [t0, t1) and must write exactly their pixels. */
static void run_winograd_case(const char* name, ic_f32_winograd_ukernel_fn fn, int64_t cin,
                              int64_t cout, int64_t in_h, int64_t in_w, int64_t pad) {
  const int32_t activation = (int32_t)rng_int(0, 2);
  const bool with_bias = rng_bool(0.5), with_residual = rng_bool(0.5);
  const int64_t out_h = in_h + 2 * pad - 2, out_w = in_w + 2 * pad - 2;
  if (out_h < 1 || out_w < 1) return;
  const int64_t tiles_w = (out_w + 3) / 4, tiles = (out_h + 3) / 4 * tiles_w;
  const int64_t t0 = rng_int(0, tiles - 1), t1 = rng_int(t0 + 1, tiles);
  const int64_t c0 = rng_int(0, (cout - 1) / 16) * 16, c1 = rng_int(c0 + 1, cout);
  test_set_problem("%s: ic %lld, oc [%lld, %lld) of %lld, %lldx%lld, pad %lld, tiles [%lld, %lld) "
                   "of %lld", name, (long long)cin, (long long)c0, (long long)c1, (long long)cout,
                   (long long)in_h, (long long)in_w, (long long)pad, (long long)t0,
                   (long long)t1, (long long)tiles);
  const size_t x_count = (size_t)(in_h * in_w * cin), y_count = (size_t)(out_h * out_w * cout);
  const size_t w_count = (size_t)(cout * cin * 9);
  float* x = xfloats(x_count);
  float* w = xfloats(w_count);
  float* bias = xfloats((size_t)cout);
  float* res = xfloats(y_count);
  float* dst = xfloats(y_count);
  fill_uniform(x, x_count, -1, 1);
  fill_uniform(w, w_count, -1, 1);
  fill_uniform(bias, (size_t)cout, -1, 1);
  fill_uniform(res, y_count, -1, 1);
  for (size_t k = 0; k < y_count; k++) dst[k] = NAN;
  float* packed =
      ic_aligned_alloc((size_t)ic_f32_winograd_packed_floats(cin, cout) * sizeof(float));
  CHECK(ic_f32_winograd_pack_weights(cin, cout, w, packed));
  float* scratch = ic_aligned_alloc(
      (size_t)ic_f32_winograd_scratch_floats(t1 - t0, cin, c1 - c0) * sizeof(float));
  const ic_f32_winograd_args_t args = {
      .in_channels = cin, .out_channels = cout, .in_h = in_h, .in_w = in_w,
      .out_h = out_h, .out_w = out_w, .pad_top = pad, .pad_left = pad, .tiles_w = tiles_w,
      .t0 = t0, .t1 = t1, .c0 = c0, .c1 = c1, .src = x, .src_stride_h = in_w * cin,
      .src_stride_w = cin,
      .dst = dst, .residual = with_residual ? res : NULL, .dst_stride_h = out_w * cout,
      .dst_stride_w = cout, .bias = with_bias ? bias : NULL, .activation = activation,
      .packed_weights = packed, .scratch = scratch};
  fn(&args);
  int reported = 0;
  for (int64_t y = 0; y < out_h && reported <= 3; y++) {
    for (int64_t xo = 0; xo < out_w && reported <= 3; xo++) {
      const int64_t tile = y / 4 * tiles_w + xo / 4;
      for (int64_t o = 0; o < cout; o++) {
        const int64_t at_y = (y * out_w + xo) * cout + o;
        const float got = dst[at_y];
        if (tile < t0 || tile >= t1 || o < c0 || o >= c1) {
          if (!isnan(got)) {
            CHECK_MSG(false, "channel %lld of pixel (%lld, %lld), tile %lld, was written",
                      (long long)o, (long long)y, (long long)xo, (long long)tile);
            reported = 4;
            break;
          }
          continue;
        }
        double sum = with_bias ? bias[o] : 0, mag = with_bias ? fabs(bias[o]) : 0;
        if (with_residual) sum += res[at_y], mag += fabs(res[at_y]);
        for (int64_t c = 0; c < cin; c++) {
          for (int64_t kh = 0; kh < 3; kh++) {
            for (int64_t kw = 0; kw < 3; kw++) {
              const int64_t iy = y - pad + kh, ix = xo - pad + kw;
              if (iy < 0 || iy >= in_h || ix < 0 || ix >= in_w) continue;
              const double prod =
                  (double)w[((o * cin + c) * 3 + kh) * 3 + kw] * x[(iy * in_w + ix) * cin + c];
              sum += prod, mag += fabs(prod);
            }
          }
        }
        if (!check_close("dst", &got, &sum, &mag, 1, activation)) reported++;
      }
    }
  }
  ic_aligned_free(packed), ic_aligned_free(scratch);
  free(x), free(w), free(bias), free(res), free(dst);
}

static void test_winograd_kernel(const char* name, ic_f32_winograd_ukernel_fn fn) {
  /* Channels around the 8/16-lane vectors and the GEMM's 16/64-channel blocks; images whose
   * output is and is not a multiple of the 4x4 tile, with and without padding; reductions
   * over several GEMM chunks. */
  static const int64_t channels[] = {1, 3, 8, 15, 16, 17, 31, 32, 33, 64, 65, 96};
  for (int repeat = 0; repeat < 60; repeat++) {
    const int64_t cin = pick(channels, COUNT(channels)), cout = pick(channels, COUNT(channels));
    run_winograd_case(name, fn, cin, cout, rng_int(1, 19), rng_int(1, 19), rng_int(0, 1));
  }
  run_winograd_case(name, fn, 300, 20, 9, 10, 1);
  run_winograd_case(name, fn, 64, 64, 24, 28, 1);
}

/* ---------------------------------------------------------------------------------------------
 * Every listed kernel
 * ------------------------------------------------------------------------------------------- */

static bool runnable(ic_isa_t isa, const char* name) {
  if (isa <= ic_active_isa()) return true;
  printf("SKIPPED %s: needs %s; this CPU supports %s and the limit allows %s\n", name,
         ic_isa_name(isa), ic_isa_name(ic_detected_isa()), ic_isa_name(ic_active_isa()));
  return false;
}

int test_conv_family_kernels(void) {
  int tested = 0;
  for (size_t i = 0; i < COUNT(conv_kernels); i++) {
    if (!runnable(conv_kernels[i].isa, conv_kernels[i].name)) continue;
    test_conv_kernel(conv_kernels[i].name, conv_kernels[i].fn);
    printf("tested %s\n", conv_kernels[i].name);
    tested++;
  }
  for (size_t i = 0; i < COUNT(dwconv_kernels); i++) {
    if (!runnable(dwconv_kernels[i].isa, dwconv_kernels[i].name)) continue;
    test_dwconv_kernel(dwconv_kernels[i].name, dwconv_kernels[i].fn);
    printf("tested %s\n", dwconv_kernels[i].name);
    tested++;
  }
  for (size_t i = 0; i < COUNT(pwconv_kernels); i++) {
    if (!runnable(pwconv_kernels[i].isa, pwconv_kernels[i].name)) continue;
    test_pwconv_kernel(pwconv_kernels[i].name, pwconv_kernels[i].fn);
    printf("tested %s\n", pwconv_kernels[i].name);
    tested++;
  }
  for (size_t i = 0; i < COUNT(winograd_kernels); i++) {
    if (!runnable(winograd_kernels[i].isa, winograd_kernels[i].name)) continue;
    test_winograd_kernel(winograd_kernels[i].name, winograd_kernels[i].fn);
    printf("tested %s\n", winograd_kernels[i].name);
    tested++;
  }
  test_scalar_pointwise_equals_direct();
  return tested;
}
