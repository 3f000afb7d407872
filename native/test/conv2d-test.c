/*
 * Conv2d through the public API against the float64 reference: random shapes over every
 * padding mode, stride, dilation, groups, multipliers, batch, residual and activation, in both
 * layouts; exact small-integer data for bit equality; hand-computed sizes and values; the
 * choice of kernel path.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"

typedef struct conv_case {
  ic_conv2d_params_t p;
  int64_t batch, in_h, in_w;
  bool bias, residual, alias_residual, exact;
  ic_context_t* context;
  const char* expect_kernel; /* the kernel name, or NULL */
} conv_case_t;

static ic_context_t* two_threads;

/* The kernel each path must report at the ISA limit: the best of its list. */
static const char* pointwise_kernel(void) {
  switch (ic_active_isa()) {
    case IC_ISA_AVX512: return "f32_pwconv2d_8x48_6x64__avx512";
    case IC_ISA_AVX2: return "f32_pwconv2d_4x24_6x16__avx2";
    default: return "f32_pwconv2d_gemm__scalar";
  }
}
static const char* depthwise_kernel(void) {
  switch (ic_active_isa()) {
    case IC_ISA_AVX512: return "f32_dwconv2d_16p_8x16c__avx512";
    case IC_ISA_AVX2: return "f32_dwconv2d_8p_8x8c__avx2";
    default: return "f32_dwconv2d_direct__scalar";
  }
}
static const char* direct_kernel(void) {
  switch (ic_active_isa()) {
    case IC_ISA_AVX512: return "f32_conv2d_14x32c__avx512";
    case IC_ISA_AVX2: return "f32_conv2d_6x16c__avx2";
    default: return "f32_conv2d_direct__scalar";
  }
}
static const char* winograd_kernel(void) {
  switch (ic_active_isa()) {
    case IC_ISA_AVX512: return "f32_conv2d_14x32c__avx512+f32_winograd_4x4_3x3_16c__avx512";
    case IC_ISA_AVX2: return "f32_conv2d_6x16c__avx2+f32_winograd_4x4_3x3_8c__avx2";
    default: return "f32_conv2d_direct__scalar+f32_winograd_4x4_3x3_1c__scalar";
  }
}

static size_t count4(int64_t a, int64_t b, int64_t c, int64_t d) { return (size_t)(a * b * c * d); }

/* Creates the operator, runs it in both layouts and compares with the reference. */
static void run_conv_case(const conv_case_t* c) {
  const ic_conv2d_params_t* p = &c->p;
  char text[256];
  conv2d_problem(text, sizeof text, p, c->batch, c->in_h, c->in_w, IC_LAYOUT_NCHW);
  test_set_problem("%s%s%s%s", text, c->bias ? "_bias" : "", c->residual ? "_residual" : "",
                   c->alias_residual ? "(aliased)" : "");

  const int64_t gin = p->in_channels / p->groups;
  const size_t w_count = count4(p->out_channels, gin, p->kernel_h, p->kernel_w);
  const size_t x_count = count4(c->batch, p->in_channels, c->in_h, c->in_w);
  float* w = xfloats(w_count);
  float* bias = c->bias ? xfloats((size_t)p->out_channels) : NULL;
  if (c->exact) {
    fill_int(w, w_count, -3, 3);
    if (bias) fill_int(bias, (size_t)p->out_channels, -8, 8);
  } else {
    fill_uniform(w, w_count, -1, 1);
    if (bias) fill_uniform(bias, (size_t)p->out_channels, -1, 1);
  }

  ic_conv2d_t* conv = NULL;
  CHECK_OK(ic_conv2d_create(p, w, w_count * sizeof(float), bias,
                            bias ? (size_t)p->out_channels * sizeof(float) : 0, &conv));
  if (conv == NULL) {
    free(w);
    free(bias);
    return;
  }
  if (c->expect_kernel != NULL) {
    CHECK_MSG(strcmp(ic_conv2d_kernel_name(conv), c->expect_kernel) == 0,
              "kernel %s, expected %s", ic_conv2d_kernel_name(conv), c->expect_kernel);
  }

  ref_window_t win;
  int64_t out_h = -1, out_w = -1;
  if (!ref_conv2d_window(p, c->in_h, c->in_w, &win)) {
    CHECK_STATUS(ic_conv2d_output_size(conv, c->in_h, c->in_w, &out_h, &out_w),
                 IC_STATUS_INVALID_ARGUMENT, "would be 0");
    ic_conv2d_destroy(conv);
    free(w);
    free(bias);
    return;
  }
  CHECK_OK(ic_conv2d_output_size(conv, c->in_h, c->in_w, &out_h, &out_w));
  CHECK_MSG(out_h == win.out_h && out_w == win.out_w, "output %lldx%lld, expected %lldx%lld",
            (long long)out_h, (long long)out_w, (long long)win.out_h, (long long)win.out_w);

  const size_t y_count = count4(c->batch, p->out_channels, win.out_h, win.out_w);
  float* x = xfloats(x_count);
  float* residual = c->residual ? xfloats(y_count) : NULL;
  if (c->exact) {
    fill_int(x, x_count, -4, 4);
    if (residual) fill_int(residual, y_count, -8, 8);
  } else {
    fill_uniform(x, x_count, -1, 1);
    if (residual) fill_uniform(residual, y_count, -1, 1);
  }

  double* xd = to_doubles(x, x_count);
  double* wd = to_doubles(w, w_count);
  double* bd = to_doubles(bias, (size_t)p->out_channels);
  double* rd = to_doubles(residual, y_count);
  double* ref = xdoubles(y_count);
  double* mag = xdoubles(y_count);
  ref_conv2d(p, c->batch, c->in_h, c->in_w, xd, wd, bd, rd, ref, mag);

  float* src = xfloats(x_count);
  float* res = residual ? xfloats(y_count) : NULL;
  float* dst = xfloats(y_count);
  float* y = xfloats(y_count);
  for (int layout = IC_LAYOUT_NCHW; layout <= IC_LAYOUT_NHWC; layout++) {
    conv2d_problem(text, sizeof text, p, c->batch, c->in_h, c->in_w, layout);
    test_set_problem("%s%s%s%s", text, c->bias ? "_bias" : "", c->residual ? "_residual" : "",
                     c->alias_residual ? "(aliased)" : "");
    if (layout == IC_LAYOUT_NHWC) {
      nchw_to_nhwc(src, x, c->batch, p->in_channels, c->in_h, c->in_w);
      if (res) nchw_to_nhwc(res, residual, c->batch, p->out_channels, win.out_h, win.out_w);
    } else {
      memcpy(src, x, x_count * sizeof(float));
      if (res) memcpy(res, residual, y_count * sizeof(float));
    }
    const float* residual_arg = res;
    if (c->alias_residual && res != NULL) {
      memcpy(dst, res, y_count * sizeof(float));
      residual_arg = dst;
    } else {
      for (size_t i = 0; i < y_count; i++) dst[i] = NAN; /* every element must be written */
    }
    CHECK_OK(ic_conv2d_run(conv, c->context, layout, c->batch, c->in_h, c->in_w, src,
                           x_count * sizeof(float), residual_arg,
                           residual_arg ? y_count * sizeof(float) : 0, dst,
                           y_count * sizeof(float)));
    if (layout == IC_LAYOUT_NHWC) {
      nhwc_to_nchw(y, dst, c->batch, p->out_channels, win.out_h, win.out_w);
    } else {
      memcpy(y, dst, y_count * sizeof(float));
    }
    if (c->exact) {
      float* expected = xfloats(y_count);
      for (size_t i = 0; i < y_count; i++) {
        expected[i] = (float)ref_activate(ref[i], p->activation);
      }
      check_identical("y", y, expected, y_count);
      free(expected);
    } else {
      check_close("y", y, ref, mag, y_count, p->activation);
    }
  }

  ic_conv2d_destroy(conv);
  free(w), free(bias), free(x), free(residual), free(xd), free(wd), free(bd), free(rd);
  free(ref), free(mag), free(src), free(res), free(dst), free(y);
}

static ic_conv2d_params_t base_params(int64_t in_c, int64_t out_c, int64_t k) {
  ic_conv2d_params_t p = {0};
  p.datatype = IC_DATATYPE_F32;
  p.in_channels = in_c;
  p.out_channels = out_c;
  p.groups = 1;
  p.kernel_h = p.kernel_w = k;
  p.stride_h = p.stride_w = 1;
  p.dilation_h = p.dilation_w = 1;
  return p;
}

static conv_case_t random_case(bool exact) {
  conv_case_t c = {0};
  ic_conv2d_params_t* p = &c.p;
  *p = base_params(1, 1, 1);
  const int kind = (int)rng_int(0, 3);
  if (kind == 0) { /* grouped */
    p->groups = rng_int(1, 4);
    p->in_channels = p->groups * rng_int(1, 4);
    p->out_channels = p->groups * rng_int(1, 4);
  } else if (kind == 1) { /* depthwise with multiplier */
    p->in_channels = p->groups = rng_int(1, 6);
    p->out_channels = p->in_channels * rng_int(1, 3);
  } else if (kind == 2) { /* pointwise */
    p->in_channels = rng_int(1, 9);
    p->out_channels = rng_int(1, 9);
  } else {
    p->in_channels = rng_int(1, 6);
    p->out_channels = rng_int(1, 6);
  }
  if (kind != 2) {
    p->kernel_h = rng_int(1, 5);
    p->kernel_w = rng_int(1, 5);
    p->stride_h = rng_bool(0.1) ? rng_int(4, 6) : rng_int(1, 3); /* sometimes > kernel */
    p->stride_w = rng_bool(0.1) ? rng_int(4, 6) : rng_int(1, 3);
    p->dilation_h = rng_bool(0.6) ? 1 : rng_int(2, 3);
    p->dilation_w = rng_bool(0.6) ? 1 : rng_int(2, 3);
    p->padding = (int32_t)rng_int(0, 3);
    if (p->padding == IC_PADDING_EXPLICIT) {
      p->pad_top = rng_int(0, 3);
      p->pad_left = rng_int(0, 3);
      p->pad_bottom = rng_int(0, 3);
      p->pad_right = rng_int(0, 3);
    }
  } else {
    p->padding = (int32_t)rng_int(0, 2); /* all give no padding for 1x1 stride 1 */
  }
  p->activation = (int32_t)rng_int(0, 2);
  /* Winograd is not exact on small integers (its weights carry 1/6 and 1/24). */
  if (!exact && rng_bool(0.3)) p->flags = IC_CONV2D_WINOGRAD;
  c.batch = rng_int(1, 3);
  c.in_h = rng_bool(0.1) ? 1 : rng_int(1, 12);
  c.in_w = rng_bool(0.1) ? 1 : rng_int(1, 12);
  c.bias = rng_bool(0.6);
  c.residual = rng_bool(0.3);
  c.alias_residual = c.residual && rng_bool(0.5);
  c.exact = exact;
  c.context = rng_bool(0.5) ? two_threads : NULL;
  return c;
}

static void test_conv2d_random(void) {
  for (int i = 0; i < 1000; i++) {
    const conv_case_t c = random_case(false);
    run_conv_case(&c);
  }
}

static void test_conv2d_exact_data_bit_equal(void) {
  for (int i = 0; i < 400; i++) {
    const conv_case_t c = random_case(true);
    run_conv_case(&c);
  }
}

static void test_conv2d_kernel_paths(void) {
  conv_case_t c = {.batch = 2, .in_h = 5, .in_w = 7, .bias = true};
  c.p = base_params(6, 10, 1);
  c.expect_kernel = pointwise_kernel();
  run_conv_case(&c);
  c.p.padding = IC_PADDING_SAME; /* still no padding for 1x1 */
  run_conv_case(&c);

  c.p.padding = IC_PADDING_EXPLICIT; /* padded 1x1 is not pointwise */
  c.p.pad_left = 1;
  c.expect_kernel = direct_kernel();
  run_conv_case(&c);

  c.p = base_params(6, 10, 1);
  c.p.stride_h = 2; /* strided 1x1 is: the pointwise conv of the gathered pixels */
  c.expect_kernel = pointwise_kernel();
  run_conv_case(&c);

  c.p = base_params(6, 12, 3);
  c.p.groups = 6;
  c.expect_kernel = depthwise_kernel();
  run_conv_case(&c);

  c.p = base_params(6, 12, 3);
  c.p.groups = 3;
  c.expect_kernel = direct_kernel();
  run_conv_case(&c);

  /* IC_CONV2D_WINOGRAD keeps a second kernel for 3x3 stride 1 only. */
  c.p = base_params(6, 12, 3);
  c.p.flags = IC_CONV2D_WINOGRAD;
  c.expect_kernel = winograd_kernel();
  run_conv_case(&c);
  c.p.stride_h = 2;
  c.expect_kernel = direct_kernel();
  run_conv_case(&c);
  c.p.stride_h = 1;
  c.p.padding = IC_PADDING_FULL; /* outputs that see 1 input pixel of 9 */
  run_conv_case(&c);

  /* Honest names: the kernel's ISA suffix is the active ISA (every list has all three). */
  ic_conv2d_t* conv = NULL;
  const ic_conv2d_params_t p = base_params(1, 1, 1);
  const float w = 1;
  CHECK_OK(ic_conv2d_create(&p, &w, sizeof w, NULL, 0, &conv));
  const char* name = ic_conv2d_kernel_name(conv);
  char suffix[16];
  snprintf(suffix, sizeof suffix, "__%s", ic_isa_name(ic_active_isa()));
  CHECK_MSG(strlen(name) > strlen(suffix) &&
                strcmp(name + strlen(name) - strlen(suffix), suffix) == 0,
            "kernel %s at ISA %s", name, ic_isa_name(ic_active_isa()));
  ic_conv2d_destroy(conv);
}

/* Shapes the SIMD paths tile for real: channel counts around and beyond the 16-channel blocks,
 * widths around the pixel tiles, 1x1 on NCHW planes not a multiple of 16 pixels (read as they
 * are, or packed when the weights pass 256 KB: 320 -> 224), strided 1x1 (gathered, or packed
 * decimated for such NCHW images of up to 4096 pixels) and padded 1x1, the 7x7 stem with 3
 * channels, grouped and dilated convs, depthwise with rows of several vectors, long reductions,
 * and a padding so large that the direct path falls back to the scalar kernel. */
static void test_conv2d_simd_shapes(void) {
  struct {
    int64_t in_c, out_c, groups, k, stride, dilation, pad, batch, in_h, in_w;
  } shapes[] = {
      {64, 64, 1, 3, 1, 1, 1, 1, 20, 30},     {32, 48, 1, 3, 2, 1, 1, 2, 17, 29},
      {3, 64, 1, 7, 2, 1, 3, 1, 37, 41},      {256, 64, 1, 1, 1, 1, 0, 1, 14, 14},
      {64, 256, 1, 1, 1, 1, 0, 2, 9, 13},     {256, 512, 1, 1, 2, 1, 0, 1, 14, 14},
      {48, 40, 1, 1, 1, 1, 1, 1, 7, 9},       {64, 64, 4, 3, 1, 1, 1, 1, 12, 16},
      {40, 24, 2, 3, 1, 2, 2, 1, 15, 18},     {17, 33, 1, 5, 1, 1, 2, 1, 11, 23},
      {300, 20, 1, 3, 1, 1, 1, 1, 6, 7},      {32, 32, 32, 3, 1, 1, 1, 1, 40, 112},
      {24, 48, 24, 3, 2, 1, 1, 2, 33, 47},    {16, 16, 16, 5, 1, 1, 2, 1, 20, 70},
      {40, 40, 40, 3, 1, 2, 2, 1, 25, 35},    {8, 8, 1, 2, 30, 1, 40, 1, 1, 1},
      {48, 40, 1, 1, 2, 1, 0, 2, 16, 15},     {20, 36, 1, 1, 3, 1, 0, 1, 50, 47},
      {64, 96, 1, 1, 2, 1, 0, 2, 33, 35},     {320, 224, 1, 1, 1, 1, 0, 2, 7, 7},
  };
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    conv_case_t c = {0};
    c.p = base_params(shapes[i].in_c, shapes[i].out_c, shapes[i].k);
    c.p.groups = shapes[i].groups;
    c.p.stride_h = c.p.stride_w = shapes[i].stride;
    c.p.dilation_h = c.p.dilation_w = shapes[i].dilation;
    c.p.padding = IC_PADDING_EXPLICIT;
    c.p.pad_top = c.p.pad_left = c.p.pad_bottom = c.p.pad_right = shapes[i].pad;
    c.p.activation = (int32_t)(i % 3);
    c.batch = shapes[i].batch;
    c.in_h = shapes[i].in_h;
    c.in_w = shapes[i].in_w;
    c.bias = i % 2 == 0;
    c.residual = i % 3 != 1;
    c.alias_residual = i % 3 == 2;
    c.context = i % 2 == 0 ? two_threads : NULL;
    run_conv_case(&c);
  }
}

/* IC_CONV2D_WINOGRAD on shapes that take it (outputs of 16 tiles of 4x4 and more): every
 * padding mode, channel counts around the vectors and beyond a GEMM chunk, batch, bias,
 * residual (aliased too), activations, one and two threads; run_conv_case checks both layouts
 * against the float64 reference within SPEC 3's bound (NCHW runs through NHWC copies, the
 * residual and activation applied on the way back). */
static void test_conv2d_winograd(void) {
  for (int i = 0; i < 40; i++) {
    conv_case_t c = {0};
    c.p = base_params(rng_int(2, 40), rng_int(1, 40), 3); /* 1 input channel: depthwise */
    if (i < 2) c.p.in_channels = 300; /* two chunks of the GEMM's reduction */
    if (i == 2) c.p.out_channels = 130;
    c.p.flags = IC_CONV2D_WINOGRAD;
    c.p.padding = (int32_t)rng_int(0, 3);
    if (c.p.padding == IC_PADDING_EXPLICIT) {
      c.p.pad_top = rng_int(0, 1);
      c.p.pad_left = rng_int(0, 1);
      c.p.pad_bottom = rng_int(0, 1);
      c.p.pad_right = rng_int(0, 1);
    }
    if (c.p.padding == IC_PADDING_FULL) c.p.padding = IC_PADDING_SAME; /* 2 of padding: direct */
    c.p.activation = (int32_t)rng_int(0, 2);
    c.batch = rng_int(1, 3);
    c.in_h = rng_int(17, 30);
    c.in_w = rng_int(17, 30);
    c.bias = rng_bool(0.6);
    c.residual = rng_bool(0.4);
    c.alias_residual = c.residual && rng_bool(0.5);
    c.context = rng_bool(0.5) ? two_threads : NULL;
    c.expect_kernel = winograd_kernel();
    run_conv_case(&c);
  }
}

/* A run of a conv with IC_CONV2D_WINOGRAD is Winograd's: its bits differ from the direct
 * conv's (the same conv created without the flag), which they equal below 16 tiles; and the
 * NCHW run gives the NHWC run's bits (bias, residual and activation included), transposed. */
static void test_conv2d_winograd_is_taken(void) {
  ic_conv2d_params_t p = base_params(32, 32, 3);
  p.padding = IC_PADDING_SAME;
  p.activation = IC_ACTIVATION_RELU;
  const size_t w_count = 32 * 32 * 9;
  float* w = xfloats(w_count);
  fill_uniform(w, w_count, -1, 1);
  ic_conv2d_t* direct = NULL;
  ic_conv2d_t* winograd = NULL;
  float bias[32];
  fill_uniform(bias, 32, -1, 1);
  CHECK_OK(ic_conv2d_create(&p, w, w_count * sizeof(float), bias, sizeof bias, &direct));
  p.flags = IC_CONV2D_WINOGRAD;
  CHECK_OK(ic_conv2d_create(&p, w, w_count * sizeof(float), bias, sizeof bias, &winograd));
  const int64_t sizes[2] = {16, 12}; /* 16 tiles: Winograd; 9 tiles: direct */
  for (int i = 0; i < 2; i++) {
    const int64_t n = sizes[i];
    const size_t count = (size_t)(32 * n * n), bytes = count * sizeof(float);
    float* x = xfloats(count);
    float* res = xfloats(count);
    float* a = xfloats(count);
    float* b = xfloats(count);
    fill_uniform(x, count, -1, 1);
    fill_uniform(res, count, -1, 1);
    test_set_problem("winograd taken: %lldx%lld NHWC", (long long)n, (long long)n);
    CHECK_OK(ic_conv2d_run(direct, NULL, IC_LAYOUT_NHWC, 1, n, n, x, bytes, res, bytes, a, bytes));
    CHECK_OK(ic_conv2d_run(winograd, NULL, IC_LAYOUT_NHWC, 1, n, n, x, bytes, res, bytes, b,
                           bytes));
    const bool same = memcmp(a, b, bytes) == 0;
    CHECK_MSG(same == (n < 13), "%lldx%lld: Winograd %s", (long long)n, (long long)n,
              same ? "not taken (bits equal the direct conv's)" : "taken below 16 tiles");
    if (n >= 13) {
      /* b holds the NHWC result; the NCHW run on the same tensors, read back as NHWC. */
      test_set_problem("winograd taken: %lldx%lld NCHW", (long long)n, (long long)n);
      float* x_nchw = xfloats(count);
      float* res_nchw = xfloats(count);
      float* y_nchw = xfloats(count);
      nhwc_to_nchw(x_nchw, x, 1, 32, n, n);
      nhwc_to_nchw(res_nchw, res, 1, 32, n, n);
      ic_context_t* two = NULL;
      CHECK_OK(ic_context_create(2, &two));
      CHECK_OK(ic_conv2d_run(winograd, two, IC_LAYOUT_NCHW, 1, n, n, x_nchw, bytes, res_nchw,
                             bytes, y_nchw, bytes));
      ic_context_destroy(two);
      nchw_to_nhwc(a, y_nchw, 1, 32, n, n);
      CHECK_MSG(memcmp(a, b, bytes) == 0, "%lldx%lld: the NCHW run's bits differ from NHWC's",
                (long long)n, (long long)n);
      free(x_nchw), free(res_nchw), free(y_nchw);
    }
    free(x), free(res), free(a), free(b);
  }
  ic_conv2d_destroy(direct);
  ic_conv2d_destroy(winograd);
  free(w);
}

/* A conv of `p` with weights and bias uniform in [-1, 1). */
static ic_conv2d_t* create_random_conv(const ic_conv2d_params_t* p) {
  const size_t w_count =
      (size_t)(p->out_channels * (p->in_channels / p->groups) * p->kernel_h * p->kernel_w);
  float* wt = xfloats(w_count);
  float* bias = xfloats((size_t)p->out_channels);
  fill_uniform(wt, w_count, -1, 1);
  fill_uniform(bias, (size_t)p->out_channels, -1, 1);
  ic_conv2d_t* conv = NULL;
  CHECK_OK(ic_conv2d_create(p, wt, w_count * sizeof(float), bias,
                            (size_t)p->out_channels * sizeof(float), &conv));
  free(wt), free(bias);
  return conv;
}

/* An NHWC image gives the bits of the same image in NCHW: its packing only gathers channels
 * (the packed tiles' order is the same), and a folded stem reads the columns whose windows lie
 * inside the image in place (ic_f32_conv2d_in_place_columns), in that order too. Folded stems,
 * and convs of 16 channels and more: ResNet's 3x3 at 56x56 and at stride 2, no padding on the
 * left, dilation, several chunks of channels and a partial last block. */
static void test_conv2d_nhwc_bits(void) {
  struct {
    int64_t in_c, out_c, k, stride, dilation, pad, h, w;
  } shapes[] = {{3, 64, 7, 2, 1, 3, 40, 90},  {3, 32, 3, 2, 1, 1, 30, 120},
                {4, 20, 5, 1, 2, 2, 12, 70},  {15, 33, 7, 1, 1, 3, 9, 60},
                {64, 64, 3, 1, 1, 1, 7, 56},  {128, 128, 3, 2, 1, 1, 9, 56},
                {16, 40, 3, 1, 1, 0, 5, 33},  {48, 16, 3, 1, 2, 2, 6, 64},
                {200, 33, 3, 1, 1, 1, 4, 29}, {17, 31, 5, 2, 1, 2, 5, 61}};
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    ic_conv2d_params_t p = base_params(shapes[i].in_c, shapes[i].out_c, shapes[i].k);
    p.stride_h = p.stride_w = shapes[i].stride;
    /* Folded stems read in place without column dilation only. */
    p.dilation_h = shapes[i].dilation;
    p.dilation_w = shapes[i].in_c >= 16 ? shapes[i].dilation : 1;
    p.padding = IC_PADDING_EXPLICIT;
    p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = shapes[i].pad;
    p.activation = IC_ACTIVATION_RELU;
    ic_conv2d_t* conv = create_random_conv(&p);
    const int64_t h = shapes[i].h, w = shapes[i].w;
    int64_t oh = 0, ow = 0;
    CHECK_OK(ic_conv2d_output_size(conv, h, w, &oh, &ow));
    const size_t x_count = (size_t)(p.in_channels * h * w);
    const size_t y_count = (size_t)(p.out_channels * oh * ow);
    float* x = xfloats(x_count);
    float* x_nchw = xfloats(x_count);
    float* y = xfloats(y_count);
    float* y_nchw = xfloats(y_count);
    float* y_back = xfloats(y_count);
    fill_uniform(x, x_count, -1, 1);
    nhwc_to_nchw(x_nchw, x, 1, p.in_channels, h, w);
    test_set_problem("NHWC bits: %s, shape %zu", ic_conv2d_kernel_name(conv), i);
    CHECK_OK(ic_conv2d_run(conv, two_threads, IC_LAYOUT_NHWC, 1, h, w, x,
                           x_count * sizeof(float), NULL, 0, y, y_count * sizeof(float)));
    CHECK_OK(ic_conv2d_run(conv, NULL, IC_LAYOUT_NCHW, 1, h, w, x_nchw,
                           x_count * sizeof(float), NULL, 0, y_nchw, y_count * sizeof(float)));
    nchw_to_nhwc(y_back, y_nchw, 1, p.out_channels, oh, ow);
    check_identical("NHWC against NCHW", y, y_back, y_count);
    ic_conv2d_destroy(conv);
    free(x), free(x_nchw), free(y), free(y_nchw), free(y_back);
  }
}

/* Runs a conv on src with a context; dst receives the output. */
static void run_with(const ic_conv2d_t* conv, ic_context_t* context, int32_t layout, int64_t h,
                     int64_t w, const float* src, size_t src_count, const float* residual,
                     float* dst, size_t dst_count) {
  CHECK_OK(ic_conv2d_run(conv, context, layout, 2, h, w, src, src_count * sizeof(float), residual,
                         residual ? dst_count * sizeof(float) : 0, dst, dst_count * sizeof(float)));
}

/* Layers big enough to be cut into many tasks (their packed rows claimed by whichever task
 * needs them first) give the same bits with 1, 2 and 3 threads, in both layouts, on whatever
 * ISA is active. */
static void test_conv2d_thread_counts_bit_identical(void) {
  struct {
    int64_t in_c, out_c, groups, k, stride, h, w;
    int32_t flags;
  } shapes[] = {{64, 64, 1, 3, 1, 30, 34, 0},   {256, 64, 1, 1, 1, 40, 40, 0},
                {64, 128, 1, 1, 2, 30, 30, 0},  {32, 32, 32, 3, 1, 60, 60, 0},
                {96, 96, 96, 3, 2, 45, 45, 0},  {96, 128, 4, 3, 1, 20, 20, 0},
                /* channel-split tasks: each thread packs its own copy of each image */
                {256, 256, 1, 3, 1, 9, 11, 0},  {128, 160, 1, 3, 2, 15, 13, 0},
                /* channel-split tasks on an image too big for private copies: every task
                 * needs every packed row of the shared one, the threads claim them at once */
                {512, 96, 1, 3, 1, 24, 24, 0},
                /* Winograd (NHWC): tasks of tile runs, and of channel blocks too */
                {64, 64, 1, 3, 1, 30, 34, IC_CONV2D_WINOGRAD},
                {256, 200, 1, 3, 1, 22, 19, IC_CONV2D_WINOGRAD},
                /* a 3-channel stem: NHWC reads its inner columns in place */
                {3, 64, 1, 7, 2, 60, 100, 0},
                /* pointwise, tasks of 64 channels: a reduce whose image is more than a
                 * quarter of its weights (bands of rows with AVX-512), an expand (channel
                 * ranges) */
                {1024, 256, 1, 1, 1, 14, 14, 0}, {256, 1024, 1, 1, 1, 14, 14, 0}};
  ic_context_t* three = NULL;
  CHECK_OK(ic_context_create(3, &three));
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    ic_conv2d_params_t p = base_params(shapes[i].in_c, shapes[i].out_c, shapes[i].k);
    p.groups = shapes[i].groups;
    p.stride_h = p.stride_w = shapes[i].stride;
    p.padding = IC_PADDING_SAME;
    p.activation = IC_ACTIVATION_RELU;
    p.flags = shapes[i].flags;
    ic_conv2d_t* conv = create_random_conv(&p);
    int64_t oh = 0, ow = 0;
    CHECK_OK(ic_conv2d_output_size(conv, shapes[i].h, shapes[i].w, &oh, &ow));
    const size_t x_count = (size_t)(2 * p.in_channels * shapes[i].h * shapes[i].w);
    const size_t y_count = (size_t)(2 * p.out_channels * oh * ow);
    float* x = xfloats(x_count);
    float* residual = xfloats(y_count);
    fill_uniform(x, x_count, -1, 1);
    fill_uniform(residual, y_count, -1, 1);
    float* one = xfloats(y_count);
    float* many = xfloats(y_count);
    for (int32_t layout = IC_LAYOUT_NCHW; layout <= IC_LAYOUT_NHWC; layout++) {
      test_set_problem("threads: %s, shape %zu, layout %d", ic_conv2d_kernel_name(conv), i,
                       (int)layout);
      run_with(conv, NULL, layout, shapes[i].h, shapes[i].w, x, x_count, NULL, one, y_count);
      run_with(conv, two_threads, layout, shapes[i].h, shapes[i].w, x, x_count, NULL, many, y_count);
      check_identical("2 threads", many, one, y_count);
      run_with(conv, three, layout, shapes[i].h, shapes[i].w, x, x_count, NULL, many, y_count);
      check_identical("3 threads", many, one, y_count);
      /* With the residual aliased to dst. */
      memcpy(one, residual, y_count * sizeof(float));
      memcpy(many, residual, y_count * sizeof(float));
      run_with(conv, NULL, layout, shapes[i].h, shapes[i].w, x, x_count, one, one, y_count);
      run_with(conv, three, layout, shapes[i].h, shapes[i].w, x, x_count, many, many, y_count);
      check_identical("3 threads, residual", many, one, y_count);
    }
    ic_conv2d_destroy(conv);
    free(x), free(residual), free(one), free(many);
  }
  ic_context_destroy(three);
}

/* A 3x3 input 1..9 with a 2x2 kernel of ones: the sums are easy to check by hand. */
static void test_conv2d_hand_computed(void) {
  const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const float w[4] = {1, 1, 1, 1};
  struct {
    int32_t padding;
    int64_t out;
    float expected[16];
  } cases[] = {
      {IC_PADDING_VALID, 2, {12, 16, 24, 28}},
      /* SAME, even kernel, stride 1: the extra row and column of padding go after. */
      {IC_PADDING_SAME, 3, {12, 16, 9, 24, 28, 15, 15, 17, 9}},
      {IC_PADDING_FULL, 4, {1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ic_conv2d_params_t p = base_params(1, 1, 2);
    p.padding = cases[i].padding;
    test_set_problem("hand-computed padding=%d", (int)p.padding);
    ic_conv2d_t* conv = NULL;
    CHECK_OK(ic_conv2d_create(&p, w, sizeof w, NULL, 0, &conv));
    int64_t oh = 0, ow = 0;
    CHECK_OK(ic_conv2d_output_size(conv, 3, 3, &oh, &ow));
    CHECK(oh == cases[i].out && ow == cases[i].out);
    float y[16] = {0};
    CHECK_OK(ic_conv2d_run(conv, NULL, IC_LAYOUT_NCHW, 1, 3, 3, x, sizeof x, NULL, 0, y,
                           sizeof y));
    check_identical("y", y, cases[i].expected, (size_t)(oh * ow));
    ic_conv2d_destroy(conv);
  }
}

/* Output sizes from SPEC §3.1, computed by hand. */
static void test_conv2d_output_sizes(void) {
  struct {
    int32_t padding;
    int64_t in, k, s, d, before, after, expected; /* 0: error */
  } cases[] = {
      {IC_PADDING_SAME, 9, 4, 2, 1, 0, 0, 5},   {IC_PADDING_SAME, 8, 4, 2, 1, 0, 0, 4},
      {IC_PADDING_SAME, 1, 7, 3, 2, 0, 0, 1},   {IC_PADDING_SAME, 10, 3, 3, 1, 0, 0, 4},
      {IC_PADDING_FULL, 6, 7, 1, 1, 0, 0, 12},  {IC_PADDING_FULL, 5, 3, 2, 2, 0, 0, 5},
      {IC_PADDING_VALID, 5, 3, 2, 1, 0, 0, 2},  {IC_PADDING_VALID, 5, 3, 1, 2, 0, 0, 1},
      {IC_PADDING_VALID, 4, 3, 1, 2, 0, 0, 0},  {IC_PADDING_VALID, 1, 1, 5, 1, 0, 0, 1},
      {IC_PADDING_EXPLICIT, 2, 5, 1, 1, 3, 0, 1}, {IC_PADDING_EXPLICIT, 2, 5, 1, 1, 2, 0, 0},
      {IC_PADDING_EXPLICIT, 7, 3, 4, 1, 0, 3, 2},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ic_conv2d_params_t p = base_params(1, 1, 1);
    p.padding = cases[i].padding;
    p.kernel_h = cases[i].k;
    p.stride_h = cases[i].s;
    p.dilation_h = cases[i].d;
    p.pad_top = cases[i].before;
    p.pad_bottom = cases[i].after;
    test_set_problem("size case %zu", i);
    ic_conv2d_t* conv = NULL;
    float* w = xfloats((size_t)cases[i].k);
    for (int64_t j = 0; j < cases[i].k; j++) w[j] = 1;
    CHECK_OK(ic_conv2d_create(&p, w, (size_t)cases[i].k * sizeof(float), NULL, 0, &conv));
    int64_t oh = -1, ow = -1;
    if (cases[i].expected == 0) {
      CHECK_STATUS(ic_conv2d_output_size(conv, cases[i].in, 3, &oh, &ow),
                   IC_STATUS_INVALID_ARGUMENT, "output height would be 0");
      CHECK(oh == 0 && ow == 0);
    } else {
      CHECK_OK(ic_conv2d_output_size(conv, cases[i].in, 3, &oh, &ow));
      CHECK_MSG(oh == cases[i].expected, "out_h=%lld, expected %lld", (long long)oh,
                (long long)cases[i].expected);
      CHECK(ow == 3);
    }
    ic_conv2d_destroy(conv);
    free(w);
  }
}

/* create copies weights and bias: the caller may overwrite or free them at once. */
static void test_conv2d_copies_weights(void) {
  ic_conv2d_params_t p = base_params(2, 3, 3);
  p.padding = IC_PADDING_SAME;
  float w[54], bias[3], x[2 * 4 * 4];
  fill_int(w, 54, -2, 2);
  fill_int(bias, 3, -2, 2);
  fill_int(x, 32, -2, 2);
  float expected[3 * 16], y[3 * 16];
  ic_conv2d_t* a = NULL;
  ic_conv2d_t* b = NULL;
  CHECK_OK(ic_conv2d_create(&p, w, sizeof w, bias, sizeof bias, &a));
  CHECK_OK(ic_conv2d_run(a, NULL, IC_LAYOUT_NCHW, 1, 4, 4, x, sizeof x, NULL, 0, expected,
                         sizeof expected));
  CHECK_OK(ic_conv2d_create(&p, w, sizeof w, bias, sizeof bias, &b));
  memset(w, 0xFF, sizeof w); /* NaNs */
  memset(bias, 0xFF, sizeof bias);
  CHECK_OK(ic_conv2d_run(b, NULL, IC_LAYOUT_NCHW, 1, 4, 4, x, sizeof x, NULL, 0, y, sizeof y));
  check_identical("y", y, expected, 48);
  ic_conv2d_destroy(a);
  ic_conv2d_destroy(b);
}

/* Long reductions (576 products per output) stay within the SPEC bound. */
static void test_conv2d_long_reduction(void) {
  conv_case_t c = {.batch = 1, .in_h = 9, .in_w = 11, .bias = true, .residual = true};
  c.p = base_params(64, 16, 3);
  c.p.padding = IC_PADDING_SAME;
  c.p.activation = IC_ACTIVATION_RELU6;
  c.context = two_threads;
  run_conv_case(&c);
  c.p = base_params(256, 8, 1);
  c.in_h = 7;
  c.in_w = 3;
  run_conv_case(&c);
}

/* NaN and infinity propagate as IEEE arithmetic says, also through the activations. */
static void test_conv2d_non_finite(void) {
  ic_conv2d_params_t p = base_params(1, 1, 1);
  p.activation = IC_ACTIVATION_RELU;
  const float w = 1;
  ic_conv2d_t* conv = NULL;
  CHECK_OK(ic_conv2d_create(&p, &w, sizeof w, NULL, 0, &conv));
  const float x[3] = {NAN, INFINITY, -INFINITY};
  float y[3];
  CHECK_OK(ic_conv2d_run(conv, NULL, IC_LAYOUT_NCHW, 1, 1, 3, x, sizeof x, NULL, 0, y, sizeof y));
  CHECK(isnan(y[0]));
  CHECK(isinf(y[1]) && y[1] > 0);
  CHECK(y[2] == 0);
  ic_conv2d_destroy(conv);
}

/* Larger buffers than needed are fine; only the tensor's bytes are touched. */
static void test_conv2d_oversized_buffers(void) {
  ic_conv2d_params_t p = base_params(1, 1, 1);
  const float w = 2;
  ic_conv2d_t* conv = NULL;
  CHECK_OK(ic_conv2d_create(&p, &w, sizeof w, NULL, 0, &conv));
  float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  float y[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
  CHECK_OK(ic_conv2d_run(conv, NULL, IC_LAYOUT_NHWC, 1, 2, 2, x, sizeof x, NULL, 0, y, sizeof y));
  const float expected[8] = {2, 4, 6, 8, -1, -1, -1, -1};
  check_identical("y", y, expected, 8);
  ic_conv2d_destroy(conv);
}

/* Found by the fuzzer: huge padding, stride and dilation around a 1-tap kernel must not
 * overflow the tap arithmetic. Row 0 sits entirely in the padding, row 1 on input row 0. */
static void test_conv2d_extreme_geometry(void) {
  ic_conv2d_params_t p = base_params(1, 1, 1);
  p.padding = IC_PADDING_EXPLICIT;
  p.pad_top = p.stride_h = INT64_C(1) << 62;
  p.dilation_h = (INT64_C(1) << 62) + 1;
  p.dilation_w = INT64_MAX;
  const float w = 2;
  ic_conv2d_t* conv = NULL;
  CHECK_OK(ic_conv2d_create(&p, &w, sizeof w, NULL, 0, &conv));
  int64_t oh = 0, ow = 0;
  CHECK_OK(ic_conv2d_output_size(conv, 3, 2, &oh, &ow));
  CHECK(oh == 2 && ow == 2);
  const float x[6] = {1, 2, 3, 4, 5, 6};
  float y[4];
  CHECK_OK(ic_conv2d_run(conv, NULL, IC_LAYOUT_NCHW, 1, 3, 2, x, sizeof x, NULL, 0, y, sizeof y));
  const float expected[4] = {0, 0, 2, 4};
  check_identical("y", y, expected, 4);
  ic_conv2d_destroy(conv);
}

/* Found by the conv2d_pool2d fuzz target: a huge stride along an axis of one output (valid:
 * its single window fits) must not enter the offset arithmetic of the packing, the kernels or
 * the strided pointwise gather (UBSan traps on the overflow). Against the reference, every path,
 * with the other axis strided normally. */
static void test_conv2d_huge_stride_single_output(void) {
  const int64_t huge = (INT64_C(1) << 61) + 3;
  const struct {
    int64_t in_c, out_c, k, groups;
  } shapes[] = {{3, 8, 3, 1}, {20, 24, 3, 1}, {6, 10, 1, 1}, {8, 8, 3, 8}};
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    for (int axis = 0; axis < 2; axis++) {
      conv_case_t c = {.batch = 1, .in_h = 9, .in_w = 8, .bias = true};
      c.p = base_params(shapes[i].in_c, shapes[i].out_c, shapes[i].k);
      c.p.groups = shapes[i].groups;
      c.p.stride_h = axis == 0 ? huge : 2;
      c.p.stride_w = axis == 0 ? 3 : huge;
      run_conv_case(&c);
    }
  }
}

/* Found by fuzzing: depthwise windows 2^62 pixels wide (padding and dilation of 2^61 around a
 * 5x5 image): the SIMD kernels would form offsets that leave the address space (UBSan traps);
 * such windows take the scalar kernel. Both layouts, planar and channel-contiguous kernels. */
static void test_conv2d_depthwise_far_windows(void) {
  const int64_t far = INT64_C(1) << 61;
  conv_case_t c = {.batch = 1, .in_h = 5, .in_w = 5, .bias = true};
  c.p = base_params(16, 16, 3);
  c.p.groups = 16;
  c.p.padding = IC_PADDING_EXPLICIT;
  c.p.dilation_h = c.p.dilation_w = far;
  c.p.pad_top = c.p.pad_left = c.p.pad_bottom = c.p.pad_right = far;
  run_conv_case(&c);
}

int main(int argc, char** argv) {
  test_init(argc, argv, 20240601);
  printf("ISA %s (detected %s)\n", ic_isa_name(ic_active_isa()), ic_isa_name(ic_detected_isa()));
  if (ic_context_create(2, &two_threads) != IC_STATUS_SUCCESS) return 2;
  RUN_TEST(test_conv2d_random);
  RUN_TEST(test_conv2d_exact_data_bit_equal);
  RUN_TEST(test_conv2d_kernel_paths);
  RUN_TEST(test_conv2d_simd_shapes);
  RUN_TEST(test_conv2d_winograd);
  RUN_TEST(test_conv2d_winograd_is_taken);
  RUN_TEST(test_conv2d_thread_counts_bit_identical);
  RUN_TEST(test_conv2d_nhwc_bits);
  RUN_TEST(test_conv2d_hand_computed);
  RUN_TEST(test_conv2d_output_sizes);
  RUN_TEST(test_conv2d_copies_weights);
  RUN_TEST(test_conv2d_long_reduction);
  RUN_TEST(test_conv2d_non_finite);
  RUN_TEST(test_conv2d_oversized_buffers);
  RUN_TEST(test_conv2d_extreme_geometry);
  RUN_TEST(test_conv2d_huge_stride_single_output);
  RUN_TEST(test_conv2d_depthwise_far_windows);
  ic_context_destroy(two_threads);
  return test_finish();
}
