/*
 * Depthwise-separable Conv2d against a float64 reference built from two reference convs:
 * random shapes, multipliers, both activations, both layouts, tile boundaries (wide and
 * many-channel images whose rows do not fit one tile), NCHW images run unfused, exact data.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"

typedef struct sep_case {
  ic_separable_conv2d_params_t p;
  int64_t batch, in_h, in_w;
  bool depthwise_bias, pointwise_bias, exact;
  ic_context_t* context;
} sep_case_t;

static ic_context_t* three_threads;

/* The kernels an operator created now must report: the best of each list at the ISA limit. */
static const char* expected_kernels(void) {
  switch (ic_active_isa()) {
    case IC_ISA_AVX512:
      return "f32_dwconv2d_16p_8x16c__avx512+f32_pwconv2d_8x48_6x64__avx512";
    case IC_ISA_AVX2:
      return "f32_dwconv2d_8p_8x8c__avx2+f32_pwconv2d_4x24_6x16__avx2";
    default:
      return "f32_dwconv2d_direct__scalar+f32_pwconv2d_gemm__scalar";
  }
}

static void fill(float* data, size_t count, bool exact) {
  if (exact) {
    fill_int(data, count, -2, 2);
  } else {
    fill_uniform(data, count, -1, 1);
  }
}

static void run_sep_case(const sep_case_t* c) {
  const ic_separable_conv2d_params_t* p = &c->p;
  const int64_t dwc = p->in_channels * p->depth_multiplier;
  /* The two halves as plain conv2d parameters, for the reference and the problem string. */
  ic_conv2d_params_t dw = {IC_DATATYPE_F32, p->padding, p->depthwise_activation, 0,
                           p->in_channels, dwc, p->in_channels, p->kernel_h, p->kernel_w,
                           p->stride_h, p->stride_w, p->dilation_h, p->dilation_w, p->pad_top,
                           p->pad_left, p->pad_bottom, p->pad_right};
  ic_conv2d_params_t pw = {IC_DATATYPE_F32, IC_PADDING_VALID, p->activation, 0, dwc,
                           p->out_channels, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
  char text[256];
  conv2d_problem(text, sizeof text, &dw, c->batch, c->in_h, c->in_w, IC_LAYOUT_NCHW);
  test_set_problem("separable %s_oc%lld", text, (long long)p->out_channels);

  const size_t dw_count = (size_t)(dwc * p->kernel_h * p->kernel_w);
  const size_t pw_count = (size_t)(p->out_channels * dwc);
  float* dww = xfloats(dw_count);
  float* dwb = c->depthwise_bias ? xfloats((size_t)dwc) : NULL;
  float* pww = xfloats(pw_count);
  float* pwb = c->pointwise_bias ? xfloats((size_t)p->out_channels) : NULL;
  fill(dww, dw_count, c->exact);
  if (dwb) fill(dwb, (size_t)dwc, c->exact);
  fill(pww, pw_count, c->exact);
  if (pwb) fill(pwb, (size_t)p->out_channels, c->exact);

  ic_separable_conv2d_t* conv = NULL;
  CHECK_OK(ic_separable_conv2d_create(p, dww, dw_count * sizeof(float), dwb,
                                      dwb ? (size_t)dwc * sizeof(float) : 0, pww,
                                      pw_count * sizeof(float), pwb,
                                      pwb ? (size_t)p->out_channels * sizeof(float) : 0, &conv));
  if (conv == NULL) goto done_weights;
  CHECK_MSG(strcmp(ic_separable_conv2d_kernel_name(conv), expected_kernels()) == 0,
            "kernels %s, expected %s at ISA %s", ic_separable_conv2d_kernel_name(conv),
            expected_kernels(), ic_isa_name(ic_active_isa()));

  ref_window_t win;
  int64_t oh = -1, ow = -1;
  if (!ref_conv2d_window(&dw, c->in_h, c->in_w, &win)) {
    CHECK_STATUS(ic_separable_conv2d_output_size(conv, c->in_h, c->in_w, &oh, &ow),
                 IC_STATUS_INVALID_ARGUMENT, "would be 0");
    goto done_conv;
  }
  CHECK_OK(ic_separable_conv2d_output_size(conv, c->in_h, c->in_w, &oh, &ow));
  CHECK(oh == win.out_h && ow == win.out_w);

  {
    const size_t x_count = (size_t)(c->batch * p->in_channels * c->in_h * c->in_w);
    const size_t mid_count = (size_t)(c->batch * dwc * win.out_h * win.out_w);
    const size_t y_count = (size_t)(c->batch * p->out_channels * win.out_h * win.out_w);
    float* x = xfloats(x_count);
    fill(x, x_count, c->exact);

    /* Reference: depthwise, activation, then pointwise. The magnitude of the result also
     * carries the rounding of the float intermediate: sum_k |pw_k| * m_dw_k. */
    double* xd = to_doubles(x, x_count);
    double* dwwd = to_doubles(dww, dw_count);
    double* dwbd = to_doubles(dwb, (size_t)dwc);
    double* pwwd = to_doubles(pww, pw_count);
    double* pwbd = to_doubles(pwb, (size_t)p->out_channels);
    double* mid = xdoubles(mid_count);
    double* mid_m = xdoubles(mid_count);
    ref_conv2d(&dw, c->batch, c->in_h, c->in_w, xd, dwwd, dwbd, NULL, mid, mid_m);
    for (size_t i = 0; i < mid_count; i++) mid[i] = ref_activate(mid[i], p->depthwise_activation);
    double* ref = xdoubles(y_count);
    double* mag = xdoubles(y_count);
    double* carried = xdoubles(y_count);
    ref_conv2d(&pw, c->batch, win.out_h, win.out_w, mid, pwwd, pwbd, NULL, ref, mag);
    for (size_t i = 0; i < pw_count; i++) pwwd[i] = fabs(pwwd[i]);
    ref_conv2d(&pw, c->batch, win.out_h, win.out_w, mid_m, pwwd, NULL, NULL, carried, NULL);
    for (size_t i = 0; i < y_count; i++) mag[i] += carried[i];

    float* src = xfloats(x_count);
    float* dst = xfloats(y_count);
    float* y = xfloats(y_count);
    for (int layout = IC_LAYOUT_NCHW; layout <= IC_LAYOUT_NHWC; layout++) {
      test_set_problem("separable %s_oc%lld_%s", text, (long long)p->out_channels,
                       layout == IC_LAYOUT_NHWC ? "nhwc" : "nchw");
      if (layout == IC_LAYOUT_NHWC) {
        nchw_to_nhwc(src, x, c->batch, p->in_channels, c->in_h, c->in_w);
      } else {
        memcpy(src, x, x_count * sizeof(float));
      }
      for (size_t i = 0; i < y_count; i++) dst[i] = NAN;
      CHECK_OK(ic_separable_conv2d_run(conv, c->context, layout, c->batch, c->in_h, c->in_w, src,
                                       x_count * sizeof(float), dst, y_count * sizeof(float)));
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
    free(x), free(xd), free(dwwd), free(dwbd), free(pwwd), free(pwbd), free(mid), free(mid_m);
    free(ref), free(mag), free(carried), free(src), free(dst), free(y);
  }
done_conv:
  ic_separable_conv2d_destroy(conv);
done_weights:
  free(dww), free(dwb), free(pww), free(pwb);
}

static sep_case_t random_case(bool exact) {
  sep_case_t c = {0};
  ic_separable_conv2d_params_t* p = &c.p;
  p->datatype = IC_DATATYPE_F32;
  p->padding = (int32_t)rng_int(0, 3);
  p->depthwise_activation = (int32_t)rng_int(0, 2);
  p->activation = (int32_t)rng_int(0, 2);
  p->in_channels = rng_int(1, 6);
  p->depth_multiplier = rng_int(1, 3);
  p->out_channels = rng_int(1, 7);
  p->kernel_h = rng_int(1, 5);
  p->kernel_w = rng_int(1, 5);
  p->stride_h = rng_int(1, 3);
  p->stride_w = rng_int(1, 3);
  p->dilation_h = rng_bool(0.7) ? 1 : 2;
  p->dilation_w = rng_bool(0.7) ? 1 : 2;
  if (p->padding == IC_PADDING_EXPLICIT) {
    p->pad_top = rng_int(0, 2);
    p->pad_left = rng_int(0, 2);
    p->pad_bottom = rng_int(0, 2);
    p->pad_right = rng_int(0, 2);
  }
  c.batch = rng_int(1, 3);
  c.in_h = rng_int(1, 12);
  c.in_w = rng_int(1, 12);
  c.depthwise_bias = rng_bool(0.5);
  c.pointwise_bias = rng_bool(0.5);
  c.exact = exact;
  c.context = rng_bool(0.5) ? three_threads : NULL;
  return c;
}

static void test_separable_random(void) {
  for (int i = 0; i < 500; i++) {
    const sep_case_t c = random_case(false);
    run_sep_case(&c);
  }
}

static void test_separable_exact_data_bit_equal(void) {
  for (int i = 0; i < 200; i++) {
    const sep_case_t c = random_case(true);
    run_sep_case(&c);
  }
}

/* Rows that do not fit one depthwise tile (16K floats), and a tile of several rows with a
 * short last block. */
static void test_separable_tile_boundaries(void) {
  sep_case_t c = {0};
  c.p = (ic_separable_conv2d_params_t){IC_DATATYPE_F32, IC_PADDING_SAME, IC_ACTIVATION_RELU6,
                                       IC_ACTIVATION_RELU, 96, 2, 5, 3, 3, 1, 1, 1, 1,
                                       0, 0, 0, 0};
  c.batch = 1;
  c.in_h = 3;
  c.in_w = 100; /* 192 channels x 100 columns > one tile: one row per task */
  c.depthwise_bias = c.pointwise_bias = true;
  c.context = three_threads;
  run_sep_case(&c);

  c.p.in_channels = 4;
  c.p.depth_multiplier = 1;
  c.p.stride_h = 2;
  c.in_h = 77; /* 39 output rows, several per tile, uneven last block */
  c.in_w = 9;
  c.batch = 2;
  run_sep_case(&c);
}

/* NCHW images at stride 1 whose fused row blocks would hold fewer than 128 pixels, with rows
 * wider than 16 pixels or 64K pointwise weights, run unfused (whole depthwise planes into an
 * intermediate image, then the pointwise conv in blocks of pixels and 64 output channels):
 * channel multipliers, dilation, a partial channel block, several pixel blocks, batches, one and
 * three threads, exact data. NHWC runs the same shapes fused. */
static void test_separable_unfused(void) {
  static const struct {
    int64_t in_c, multiplier, out_c, k, stride, dilation, batch, in_h, in_w;
    bool exact, threads;
  } shapes[] = {
      {96, 2, 40, 3, 1, 1, 2, 28, 28, false, true},
      {256, 1, 300, 3, 1, 1, 1, 14, 14, false, false},
      {200, 1, 33, 5, 1, 2, 2, 9, 20, true, true},
      {960, 1, 160, 3, 1, 1, 1, 7, 7, false, true},
      {144, 1, 24, 3, 1, 1, 1, 56, 56, true, false},
  };
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    sep_case_t c = {0};
    c.p = (ic_separable_conv2d_params_t){IC_DATATYPE_F32, IC_PADDING_SAME, IC_ACTIVATION_RELU6,
                                         IC_ACTIVATION_RELU, shapes[i].in_c,
                                         shapes[i].multiplier, shapes[i].out_c, shapes[i].k,
                                         shapes[i].k, shapes[i].stride, shapes[i].stride,
                                         shapes[i].dilation, shapes[i].dilation, 0, 0, 0, 0};
    c.batch = shapes[i].batch;
    c.in_h = shapes[i].in_h;
    c.in_w = shapes[i].in_w;
    c.depthwise_bias = c.pointwise_bias = i % 2 == 0;
    c.exact = shapes[i].exact;
    c.context = shapes[i].threads ? three_threads : NULL;
    run_sep_case(&c);
  }
}

/* Found by fuzzing: padding and dilation of 2^61 around a 5x5 image (the middle tap of each
 * window on the image, the others in the padding). The SIMD depthwise kernels would form
 * offsets that leave the address space (UBSan traps); such windows take the scalar kernel. */
static void test_separable_far_windows(void) {
  const int64_t far = INT64_C(1) << 61;
  sep_case_t c = {0};
  c.p = (ic_separable_conv2d_params_t){IC_DATATYPE_F32, IC_PADDING_EXPLICIT, IC_ACTIVATION_NONE,
                                       IC_ACTIVATION_RELU, 16, 1, 8, 3, 3, 1, 1, far, far,
                                       far, far, far, far};
  c.batch = 1;
  c.in_h = c.in_w = 5;
  c.depthwise_bias = c.pointwise_bias = true;
  c.context = three_threads;
  run_sep_case(&c);
}

/* A stride of 2^61 along an axis of one output (a valid conv: the single window fits) must not
 * enter the depthwise kernels' offset arithmetic (stride x channels overflowed int64). Both
 * axes, both layouts, 2x2 windows with a multiplier of 2 and 3x3 ones without. */
static void test_separable_huge_stride_single_output(void) {
  const int64_t huge = (INT64_C(1) << 61) + 3;
  for (int axis = 0; axis < 2; axis++) {
    for (int64_t k = 2; k <= 3; k++) {
      sep_case_t c = {0};
      c.p = (ic_separable_conv2d_params_t){IC_DATATYPE_F32, IC_PADDING_VALID,
                                           IC_ACTIVATION_NONE, IC_ACTIVATION_RELU, 16, 4 - k,
                                           8, k, k, axis == 0 ? huge : 2, axis == 0 ? 2 : huge,
                                           1, 1, 0, 0, 0, 0};
      c.batch = 2;
      c.in_h = 9;
      c.in_w = 8;
      c.depthwise_bias = c.pointwise_bias = true;
      c.context = three_threads;
      run_sep_case(&c);
    }
  }
}

int main(int argc, char** argv) {
  test_init(argc, argv, 777);
  printf("ISA %s (detected %s)\n", ic_isa_name(ic_active_isa()), ic_isa_name(ic_detected_isa()));
  if (ic_context_create(3, &three_threads) != IC_STATUS_SUCCESS) return 2;
  RUN_TEST(test_separable_random);
  RUN_TEST(test_separable_exact_data_bit_equal);
  RUN_TEST(test_separable_tile_boundaries);
  RUN_TEST(test_separable_unfused);
  RUN_TEST(test_separable_far_windows);
  RUN_TEST(test_separable_huge_stride_single_output);
  ic_context_destroy(three_threads);
  return test_finish();
}
