/*
 * Involution aggregation and the Involution2d module against naive float64 references:
 * random channels/groups/kernel sizes/strides/dilations, both layouts, batches, exact data,
 * and the module's own rules (reduced channels, stride divisibility, BN folding); the module's
 * output epilogue (activation, optional per-channel affine) against the reference and, to the
 * bit, against the same module without it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"

static ic_context_t* two_threads;

static void to_layout(float* dst, const float* nchw, int32_t layout, int64_t n, int64_t c,
                      int64_t h, int64_t w) {
  if (layout == IC_LAYOUT_NHWC) {
    nchw_to_nhwc(dst, nchw, n, c, h, w);
  } else {
    memcpy(dst, nchw, (size_t)(n * c * h * w) * sizeof(float));
  }
}

static void from_layout(float* nchw, const float* src, int32_t layout, int64_t n, int64_t c,
                        int64_t h, int64_t w) {
  if (layout == IC_LAYOUT_NHWC) {
    nhwc_to_nchw(nchw, src, n, c, h, w);
  } else {
    memcpy(nchw, src, (size_t)(n * c * h * w) * sizeof(float));
  }
}

/* The aggregation kernel the operators pick: the channel-blocked SIMD path when the active ISA
 * has it and group_channels is a multiple of its block, the portable one otherwise (and for
 * windows padded by more than 256 pixels, whose packed rows the blocked path would carry). */
static const char* expected_aggregate_kernel(int64_t group_channels, int64_t padding) {
  const ic_isa_t isa = ic_active_isa();
  if (padding > 256) return "f32_invol2d_direct__scalar";
  if (isa >= IC_ISA_AVX512 && group_channels % 16 == 0) return "f32_invol2d_nchwc_14x16c__avx512";
  if (isa >= IC_ISA_AVX2 && group_channels % 8 == 0) return "f32_invol2d_nchwc_12x8c__avx2";
  return "f32_invol2d_direct__scalar";
}

static bool blocked_path(int64_t group_channels, int64_t padding) {
  return strstr(expected_aggregate_kernel(group_channels, padding), "nchwc") != NULL;
}

static void run_aggregate_case(const ic_involution_params_t* p, int64_t batch, int64_t in_h,
                               int64_t in_w, bool exact, ic_context_t* context) {
  const int64_t padding = p->dilation * (p->kernel_size - 1) / 2;
  test_set_problem("involution mb%lldc%lldih%lldiw%lldk%llds%lldd%lldgc%lld%s", (long long)batch,
                   (long long)p->channels, (long long)in_h, (long long)in_w,
                   (long long)p->kernel_size, (long long)p->stride, (long long)p->dilation,
                   (long long)p->group_channels, exact ? "_exact" : "");
  ic_involution_aggregate_t* op = NULL;
  CHECK_OK(ic_involution_aggregate_create(p, &op));
  if (op == NULL) return;
  CHECK_MSG(strcmp(ic_involution_aggregate_kernel_name(op),
                   expected_aggregate_kernel(p->group_channels, padding)) == 0,
            "kernel %s, expected %s", ic_involution_aggregate_kernel_name(op),
            expected_aggregate_kernel(p->group_channels, padding));

  int64_t oh, ow, got_h = -1, got_w = -1;
  ref_involution_output(p, in_h, in_w, &oh, &ow);
  CHECK_OK(ic_involution_aggregate_output_size(op, in_h, in_w, &got_h, &got_w));
  CHECK(got_h == oh && got_w == ow);

  const int64_t kc = p->channels / p->group_channels * p->kernel_size * p->kernel_size;
  const size_t x_count = (size_t)(batch * p->channels * in_h * in_w);
  const size_t k_count = (size_t)(batch * kc * oh * ow);
  const size_t y_count = (size_t)(batch * p->channels * oh * ow);
  float* x = xfloats(x_count);
  float* k = xfloats(k_count);
  if (exact) {
    fill_int(x, x_count, -4, 4);
    fill_int(k, k_count, -3, 3);
  } else {
    fill_uniform(x, x_count, -1, 1);
    fill_uniform(k, k_count, -1, 1);
  }
  double* xd = to_doubles(x, x_count);
  double* kd = to_doubles(k, k_count);
  double* ref = xdoubles(y_count);
  double* mag = xdoubles(y_count);
  ref_involution_aggregate(p, batch, in_h, in_w, xd, kd, ref, mag);

  float* src = xfloats(x_count);
  float* kernels = xfloats(k_count);
  float* dst = xfloats(y_count);
  float* y = xfloats(y_count);
  for (int32_t layout = IC_LAYOUT_NCHW; layout <= IC_LAYOUT_NHWC; layout++) {
    to_layout(src, x, layout, batch, p->channels, in_h, in_w);
    to_layout(kernels, k, layout, batch, kc, oh, ow);
    for (size_t i = 0; i < y_count; i++) dst[i] = NAN;
    CHECK_OK(ic_involution_aggregate_run(op, context, layout, batch, in_h, in_w, src,
                                         x_count * sizeof(float), kernels,
                                         k_count * sizeof(float), dst, y_count * sizeof(float)));
    from_layout(y, dst, layout, batch, p->channels, oh, ow);
    if (exact) {
      float* expected = xfloats(y_count);
      for (size_t i = 0; i < y_count; i++) expected[i] = (float)ref[i];
      check_identical(layout == IC_LAYOUT_NHWC ? "y(nhwc)" : "y(nchw)", y, expected, y_count);
      free(expected);
    } else {
      check_close(layout == IC_LAYOUT_NHWC ? "y(nhwc)" : "y(nchw)", y, ref, mag, y_count,
                  IC_ACTIVATION_NONE);
    }
  }
  ic_involution_aggregate_destroy(op);
  free(x), free(k), free(xd), free(kd), free(ref), free(mag), free(src), free(kernels);
  free(dst), free(y);
}

static ic_involution_params_t random_aggregate_params(void) {
  ic_involution_params_t p = {0};
  p.datatype = IC_DATATYPE_F32;
  p.group_channels = rng_int(1, 5);
  p.channels = p.group_channels * rng_int(1, 3);
  p.kernel_size = 2 * rng_int(0, 3) + 1;
  p.stride = rng_int(1, 3);
  p.dilation = rng_bool(0.7) ? 1 : 2;
  return p;
}

static void test_aggregate_random(void) {
  for (int i = 0; i < 500; i++) {
    const ic_involution_params_t p = random_aggregate_params();
    run_aggregate_case(&p, rng_int(1, 2), rng_int(1, 11), rng_int(1, 11), false,
                       rng_bool(0.5) ? two_threads : NULL);
  }
}

static void test_aggregate_exact_data_bit_equal(void) {
  for (int i = 0; i < 200; i++) {
    const ic_involution_params_t p = random_aggregate_params();
    run_aggregate_case(&p, rng_int(1, 2), rng_int(1, 9), rng_int(1, 9), true, two_threads);
  }
}

/* RedNet's shapes: group_channels 16, K = 7, stride 2; and the official defaults. */
static void test_aggregate_rednet_shapes(void) {
  ic_involution_params_t p = {IC_DATATYPE_F32, 0, 64, 7, 2, 1, 16};
  run_aggregate_case(&p, 1, 14, 12, false, two_threads);
  p.stride = 1;
  run_aggregate_case(&p, 2, 9, 7, false, two_threads);
  p = (ic_involution_params_t){IC_DATATYPE_F32, 0, 32, 3, 1, 1, 16};
  run_aggregate_case(&p, 1, 9, 11, false, NULL);
}

/* Windows 2^62 pixels wide (dilation and padding 2^61, the padding K = 3 implies) around a 5x5
 * image, and a stride of 2^61 with one output: only the middle tap of a window is on the image,
 * and no kernel may form the offsets of the others (they leave the address space). Both
 * aggregation paths. */
static void test_aggregate_far_windows(void) {
  const int64_t far = INT64_C(1) << 61;
  for (int64_t group_channels = 3; group_channels <= 16; group_channels += 13) {
    ic_involution_params_t p = {IC_DATATYPE_F32, 0, 2 * group_channels, 3, 1, far,
                                group_channels};
    run_aggregate_case(&p, 1, 5, 5, true, two_threads);
    p.dilation = 1;
    p.stride = far;
    run_aggregate_case(&p, 2, 1, 1, true, two_threads);
  }
}

typedef struct module_case {
  ic_involution2d_params_t p;
  int64_t batch, in_h, in_w;
} module_case_t;

static void run_module_case(const module_case_t* c) {
  const ic_involution2d_params_t* p = &c->p;
  const int64_t padding = p->dilation * (p->kernel_size - 1) / 2;
  test_set_problem("involution2d mb%lldc%lldih%lldiw%lldk%llds%lldd%lldgc%lldr%lld",
                   (long long)c->batch, (long long)p->channels, (long long)c->in_h,
                   (long long)c->in_w, (long long)p->kernel_size, (long long)p->stride,
                   (long long)p->dilation, (long long)p->group_channels,
                   (long long)p->reduction_ratio);
  const int64_t reduced = p->channels / p->reduction_ratio;
  const int64_t kc = p->channels / p->group_channels * p->kernel_size * p->kernel_size;
  float* w0 = xfloats((size_t)(reduced * p->channels));
  float* gamma = xfloats((size_t)reduced);
  float* beta = xfloats((size_t)reduced);
  float* mean = xfloats((size_t)reduced);
  float* var = xfloats((size_t)reduced);
  float* w1 = xfloats((size_t)(kc * reduced));
  float* b1 = xfloats((size_t)kc);
  fill_uniform(w0, (size_t)(reduced * p->channels), -1, 1);
  fill_uniform(gamma, (size_t)reduced, 0.5f, 1.5f);
  fill_uniform(beta, (size_t)reduced, -0.5f, 0.5f);
  fill_uniform(mean, (size_t)reduced, -0.5f, 0.5f);
  fill_uniform(var, (size_t)reduced, 0.1f, 2.0f);
  fill_uniform(w1, (size_t)(kc * reduced), -1, 1);
  fill_uniform(b1, (size_t)kc, -0.5f, 0.5f);
  const size_t fb = sizeof(float);

  ic_involution2d_t* op = NULL;
  CHECK_OK(ic_involution2d_create(p, w0, (size_t)(reduced * p->channels) * fb, gamma,
                                  (size_t)reduced * fb, beta, (size_t)reduced * fb, mean,
                                  (size_t)reduced * fb, var, (size_t)reduced * fb, w1,
                                  (size_t)(kc * reduced) * fb, b1, (size_t)kc * fb, NULL, 0, NULL, 0, &op));
  if (op != NULL) {
    const char* name = ic_involution2d_kernel_name(op);
    CHECK_MSG(strstr(name, expected_aggregate_kernel(p->group_channels, padding)) != NULL,
              "kernels %s, expected %s", name,
              expected_aggregate_kernel(p->group_channels, padding));
    if (blocked_path(p->group_channels, padding)) {
      CHECK(strstr(name, "f32_involgen_") != NULL);
    } else {
      CHECK((strstr(name, "f32_avgpool2d") != NULL) == (p->stride > 1));
    }

    const ic_involution_params_t agg = {IC_DATATYPE_F32, 0, p->channels, p->kernel_size,
                                        p->stride, p->dilation, p->group_channels};
    int64_t oh, ow, got_h = -1, got_w = -1;
    ref_involution_output(&agg, c->in_h, c->in_w, &oh, &ow);
    CHECK_OK(ic_involution2d_output_size(op, c->in_h, c->in_w, &got_h, &got_w));
    CHECK(got_h == oh && got_w == ow);

    const size_t x_count = (size_t)(c->batch * p->channels * c->in_h * c->in_w);
    const size_t y_count = (size_t)(c->batch * p->channels * oh * ow);
    float* x = xfloats(x_count);
    fill_uniform(x, x_count, -1, 1);
    const ref_involution2d_weights_t weights = {w0, gamma, beta, mean, var, w1, b1};
    double* ref = xdoubles(y_count);
    ref_involution2d(p, &weights, c->batch, c->in_h, c->in_w, x, ref);
    double max_ref = 0;
    for (size_t i = 0; i < y_count; i++) max_ref = fmax(max_ref, fabs(ref[i]));
    /* SPEC §8's module tolerance, as a per-element magnitude. */
    double* tol = xdoubles(y_count);
    for (size_t i = 0; i < y_count; i++) tol[i] = 10 * max_ref; /* 1e-5 * m = 1e-4 * max */

    float* src = xfloats(x_count);
    float* dst = xfloats(y_count);
    float* y = xfloats(y_count);
    for (int32_t layout = IC_LAYOUT_NCHW; layout <= IC_LAYOUT_NHWC; layout++) {
      to_layout(src, x, layout, c->batch, p->channels, c->in_h, c->in_w);
      for (size_t i = 0; i < y_count; i++) dst[i] = NAN;
      CHECK_OK(ic_involution2d_run(op, rng_bool(0.5) ? two_threads : NULL, layout, c->batch,
                                   c->in_h, c->in_w, src, x_count * fb, dst, y_count * fb));
      from_layout(y, dst, layout, c->batch, p->channels, oh, ow);
      check_close(layout == IC_LAYOUT_NHWC ? "y(nhwc)" : "y(nchw)", y, ref, tol, y_count,
                  IC_ACTIVATION_NONE);
    }
    free(x), free(ref), free(tol), free(src), free(dst), free(y);
  }
  ic_involution2d_destroy(op);
  free(w0), free(gamma), free(beta), free(mean), free(var), free(w1), free(b1);
}

/* The module with windows 2^62 pixels wide (dilation 2^61) around a 5x5 image: its kernel
 * generation as usual, its aggregation on the portable path (as test_aggregate_far_windows). */
static void test_involution2d_far_windows(void) {
  const module_case_t c = {{IC_DATATYPE_F32, 0, 32, 3, 1, INT64_C(1) << 61, 16, 4, 1e-5}, 2, 5, 5};
  run_module_case(&c);
}

static void test_involution2d_random(void) {
  for (int i = 0; i < 200; i++) {
    module_case_t c = {0};
    ic_involution2d_params_t* p = &c.p;
    p->datatype = IC_DATATYPE_F32;
    p->group_channels = rng_int(1, 4);
    p->channels = p->group_channels * rng_int(1, 4);
    p->reduction_ratio = rng_int(1, p->channels < 4 ? p->channels : 4);
    p->kernel_size = 2 * rng_int(0, 2) + 1;
    p->stride = rng_int(1, 3);
    p->dilation = rng_bool(0.8) ? 1 : 2;
    p->bn_epsilon = 1e-5;
    c.batch = rng_int(1, 2);
    c.in_h = p->stride * rng_int(1, 5);
    c.in_w = p->stride * rng_int(1, 5);
    run_module_case(&c);
  }
}

/* RedNet's involution: 64 channels, K = 7, group_channels 16, r = 4, stride 1 and 2; and a
 * width (output row) larger than one generation tile. */
static void test_involution2d_rednet_shapes(void) {
  module_case_t c = {{IC_DATATYPE_F32, 0, 64, 7, 1, 1, 16, 4, 1e-5}, 1, 12, 10};
  run_module_case(&c);
  c.p.stride = 2;
  c.batch = 2;
  c.in_h = 14;
  c.in_w = 16;
  run_module_case(&c);
  c.p.stride = 1;
  c.batch = 1;
  c.in_h = 3;
  c.in_w = 130; /* (16 + 196) * 130 floats per row: more than one tile */
  run_module_case(&c);
}

/* ---------------------------------------------------------------------------------------------
 * The output epilogue: y = act(out_scale[c] * y + out_shift[c])
 * ------------------------------------------------------------------------------------------- */

typedef struct module_weights {
  float *w0, *gamma, *beta, *mean, *var, *w1, *b1;
  int64_t reduced, kc;
} module_weights_t;

static module_weights_t random_module_weights(const ic_involution2d_params_t* p) {
  module_weights_t w;
  w.reduced = p->channels / p->reduction_ratio;
  w.kc = p->channels / p->group_channels * p->kernel_size * p->kernel_size;
  w.w0 = xfloats((size_t)(w.reduced * p->channels));
  w.gamma = xfloats((size_t)w.reduced);
  w.beta = xfloats((size_t)w.reduced);
  w.mean = xfloats((size_t)w.reduced);
  w.var = xfloats((size_t)w.reduced);
  w.w1 = xfloats((size_t)(w.kc * w.reduced));
  w.b1 = xfloats((size_t)w.kc);
  fill_uniform(w.w0, (size_t)(w.reduced * p->channels), -1, 1);
  fill_uniform(w.gamma, (size_t)w.reduced, 0.5f, 1.5f);
  fill_uniform(w.beta, (size_t)w.reduced, -0.5f, 0.5f);
  fill_uniform(w.mean, (size_t)w.reduced, -0.5f, 0.5f);
  fill_uniform(w.var, (size_t)w.reduced, 0.1f, 2.0f);
  fill_uniform(w.w1, (size_t)(w.kc * w.reduced), -1, 1);
  fill_uniform(w.b1, (size_t)w.kc, -0.5f, 0.5f);
  return w;
}

static void free_module_weights(module_weights_t* w) {
  free(w->w0), free(w->gamma), free(w->beta), free(w->mean), free(w->var), free(w->w1);
  free(w->b1);
}

static ic_status_t create_with(const ic_involution2d_params_t* p, const module_weights_t* w,
                               const float* scale, const float* shift, ic_involution2d_t** op) {
  const size_t fb = sizeof(float), r = (size_t)w->reduced;
  const size_t affine = scale != NULL ? (size_t)p->channels * fb : 0;
  return ic_involution2d_create(p, w->w0, r * (size_t)p->channels * fb, w->gamma, r * fb, w->beta,
                                r * fb, w->mean, r * fb, w->var, r * fb, w->w1,
                                (size_t)w->kc * r * fb, w->b1, (size_t)w->kc * fb, scale, affine,
                                shift, affine, op);
}

/* Runs in NCHW order (converting for NHWC); dst of y_count floats. */
static void run_module(const ic_involution2d_t* op, ic_context_t* context, int32_t layout,
                       const module_case_t* c, const float* x, float* y, int64_t oh, int64_t ow) {
  const int64_t channels = c->p.channels;
  const size_t x_count = (size_t)(c->batch * channels * c->in_h * c->in_w);
  const size_t y_count = (size_t)(c->batch * channels * oh * ow);
  float* src = xfloats(x_count);
  float* dst = xfloats(y_count);
  to_layout(src, x, layout, c->batch, channels, c->in_h, c->in_w);
  for (size_t i = 0; i < y_count; i++) dst[i] = NAN;
  CHECK_OK(ic_involution2d_run(op, context, layout, c->batch, c->in_h, c->in_w, src,
                               x_count * sizeof(float), dst, y_count * sizeof(float)));
  from_layout(y, dst, layout, c->batch, channels, oh, ow);
  free(src), free(dst);
}

static void run_epilogue_case(const module_case_t* c, bool affine) {
  const ic_involution2d_params_t* p = &c->p;
  static const char* activations[] = {"none", "relu", "relu6"};
  test_set_problem("involution2d mb%lldc%lldih%lldiw%lldk%llds%lldd%lldgc%lldr%lld_%s%s",
                   (long long)c->batch, (long long)p->channels, (long long)c->in_h,
                   (long long)c->in_w, (long long)p->kernel_size, (long long)p->stride,
                   (long long)p->dilation, (long long)p->group_channels,
                   (long long)p->reduction_ratio, activations[p->activation],
                   affine ? "_affine" : "");
  module_weights_t w = random_module_weights(p);
  float* scale = NULL;
  float* shift = NULL;
  if (affine) {
    scale = xfloats((size_t)p->channels);
    shift = xfloats((size_t)p->channels);
    fill_uniform(scale, (size_t)p->channels, -2, 2);
    fill_uniform(shift, (size_t)p->channels, -1, 1);
  }
  ic_involution2d_params_t plain_params = *p;
  plain_params.activation = IC_ACTIVATION_NONE;
  ic_involution2d_t* op = NULL;
  ic_involution2d_t* plain = NULL;
  CHECK_OK(create_with(p, &w, scale, shift, &op));
  CHECK_OK(create_with(&plain_params, &w, NULL, NULL, &plain));
  if (op != NULL && plain != NULL) {
    const ic_involution_params_t agg = {IC_DATATYPE_F32, 0, p->channels, p->kernel_size,
                                        p->stride, p->dilation, p->group_channels};
    int64_t oh, ow;
    ref_involution_output(&agg, c->in_h, c->in_w, &oh, &ow);
    const size_t x_count = (size_t)(c->batch * p->channels * c->in_h * c->in_w);
    const size_t y_count = (size_t)(c->batch * p->channels * oh * ow);
    float* x = xfloats(x_count);
    fill_uniform(x, x_count, -1, 1);

    /* The reference: the module in float64, then the affine; the activation is check_close's. */
    const ref_involution2d_weights_t weights = {w.w0, w.gamma, w.beta, w.mean, w.var, w.w1, w.b1};
    double* ref = xdoubles(y_count);
    ref_involution2d(p, &weights, c->batch, c->in_h, c->in_w, x, ref);
    double max_ref = 0;
    for (size_t i = 0; i < y_count; i++) {
      const int64_t ch = (int64_t)(i / (size_t)(oh * ow)) % p->channels;
      if (affine) ref[i] = (double)scale[ch] * ref[i] + (double)shift[ch];
      max_ref = fmax(max_ref, fabs(ref_activate(ref[i], p->activation)));
    }
    double* tol = xdoubles(y_count);
    for (size_t i = 0; i < y_count; i++) tol[i] = 10 * max_ref; /* 1e-4 * max|ref| */

    float* z = xfloats(y_count);
    float* y = xfloats(y_count);
    float* expected = xfloats(y_count);
    float* serial = xfloats(y_count);
    for (int32_t layout = IC_LAYOUT_NCHW; layout <= IC_LAYOUT_NHWC; layout++) {
      const char* what = layout == IC_LAYOUT_NHWC ? "y(nhwc)" : "y(nchw)";
      run_module(op, two_threads, layout, c, x, y, oh, ow);
      check_close(what, y, ref, tol, y_count, p->activation);
      /* To the bit: the plain module, the affine in double rounded once, the activation. */
      run_module(plain, two_threads, layout, c, x, z, oh, ow);
      for (size_t i = 0; i < y_count; i++) {
        const int64_t ch = (int64_t)(i / (size_t)(oh * ow)) % p->channels;
        float v = z[i];
        if (affine) v = (float)((double)scale[ch] * (double)v + (double)shift[ch]);
        expected[i] = (float)ref_activate((double)v, p->activation);
        if (p->activation != IC_ACTIVATION_NONE) CHECK(y[i] >= 0.0f);
        if (p->activation == IC_ACTIVATION_RELU6) CHECK(y[i] <= 6.0f);
      }
      check_identical(what, y, expected, y_count);
      /* And the same bits on the caller's thread alone. */
      run_module(op, NULL, layout, c, x, serial, oh, ow);
      check_identical("serial vs 2 threads", serial, y, y_count);
    }
    free(x), free(ref), free(tol), free(z), free(y), free(expected), free(serial);
  }
  ic_involution2d_destroy(op);
  ic_involution2d_destroy(plain);
  free(scale), free(shift);
  free_module_weights(&w);
}

static void test_involution2d_epilogue(void) {
  for (int i = 0; i < 120; i++) {
    module_case_t c = {0};
    ic_involution2d_params_t* p = &c.p;
    p->datatype = IC_DATATYPE_F32;
    p->activation = (int32_t)(i % 3);
    p->group_channels = rng_int(1, 4);
    p->channels = p->group_channels * rng_int(1, 4);
    p->reduction_ratio = rng_int(1, p->channels < 4 ? p->channels : 4);
    p->kernel_size = 2 * rng_int(0, 2) + 1;
    p->stride = rng_int(1, 2);
    p->dilation = rng_bool(0.8) ? 1 : 2;
    p->bn_epsilon = 1e-5;
    c.batch = rng_int(1, 2);
    c.in_h = p->stride * rng_int(1, 5);
    c.in_w = p->stride * rng_int(1, 5);
    run_epilogue_case(&c, (i / 3) % 2 == 1);
  }
  /* RedNet's bottleneck involution with its bn2 folded and ReLU; more than one row tile. */
  module_case_t c = {{IC_DATATYPE_F32, IC_ACTIVATION_RELU, 64, 7, 2, 1, 16, 4, 1e-5}, 1, 14, 12};
  run_epilogue_case(&c, true);
  c.p.stride = 1, c.in_h = 3, c.in_w = 130;
  run_epilogue_case(&c, true);
  c.p.activation = IC_ACTIVATION_RELU6;
  run_epilogue_case(&c, false);
}

/* ---------------------------------------------------------------------------------------------
 * The channel-blocked SIMD path (group_channels multiples of 8 and 16) on every ISA the limit
 * allows: ctest runs this binary again under INVCONV_MAX_ISA=scalar, avx2 and avx512.
 * ------------------------------------------------------------------------------------------- */

static const int64_t blocked_group_channels[] = {4, 8, 16, 32};

static void test_aggregate_blocked_random(void) {
  for (int i = 0; i < 160; i++) {
    ic_involution_params_t p = {0};
    p.datatype = IC_DATATYPE_F32;
    p.group_channels = blocked_group_channels[rng_int(0, 3)];
    p.channels = p.group_channels * rng_int(1, p.group_channels >= 16 ? 2 : 3);
    p.kernel_size = 2 * rng_int(0, 4) + 1;
    p.stride = rng_int(1, 2);
    p.dilation = rng_bool(0.7) ? 1 : 2;
    /* Odd sizes, rows longer than a segment (14 pixels), batches. */
    run_aggregate_case(&p, rng_int(1, 2), rng_int(1, 23), rng_int(1, 37), i % 4 == 0,
                       rng_bool(0.5) ? two_threads : NULL);
  }
  /* RedNet's layers, small: 64 channels, K = 7, stride 1 and 2. */
  ic_involution_params_t p = {IC_DATATYPE_F32, 0, 64, 7, 1, 1, 16};
  run_aggregate_case(&p, 1, 28, 28, false, two_threads);
  p.stride = 2;
  run_aggregate_case(&p, 2, 28, 28, false, two_threads);
  /* A batch whose packed input exceeds one pass's scratch budget (8 MiB): several passes. */
  p = (ic_involution_params_t){IC_DATATYPE_F32, 0, 64, 3, 1, 1, 16};
  run_aggregate_case(&p, 4, 64, 64, false, two_threads);
}

static void test_involution2d_blocked_random(void) {
  for (int i = 0; i < 100; i++) {
    module_case_t c = {0};
    ic_involution2d_params_t* p = &c.p;
    p->datatype = IC_DATATYPE_F32;
    p->group_channels = blocked_group_channels[rng_int(0, 3)];
    p->channels = p->group_channels * rng_int(1, p->group_channels >= 16 ? 2 : 3);
    p->reduction_ratio = rng_int(1, 4);
    p->kernel_size = 2 * rng_int(0, 4) + 1;
    p->stride = rng_int(1, 2);
    p->dilation = rng_bool(0.8) ? 1 : 2;
    p->bn_epsilon = 1e-5;
    c.batch = rng_int(1, 2);
    c.in_h = p->stride * rng_int(1, p->stride == 1 ? 23 : 11);
    c.in_w = p->stride * rng_int(1, p->stride == 1 ? 37 : 17);
    run_module_case(&c);
  }
  /* Tiles of several rows (out_w < 128), of one row, and the output epilogue. */
  module_case_t c = {{IC_DATATYPE_F32, 0, 64, 7, 1, 1, 16, 4, 1e-5}, 1, 28, 28};
  run_module_case(&c);
  c.p.stride = 2, c.batch = 2;
  run_module_case(&c);
  c.p.stride = 1, c.batch = 1, c.in_h = 5, c.in_w = 150;
  run_module_case(&c);
  /* Several passes over a large batch. */
  c.p.kernel_size = 3, c.batch = 4, c.in_h = 64, c.in_w = 64;
  run_module_case(&c);
  for (int i = 0; i < 24; i++) {
    module_case_t e = {{IC_DATATYPE_F32, (int32_t)(i % 3), 32, 2 * rng_int(0, 3) + 1,
                        rng_int(1, 2), 1, blocked_group_channels[rng_int(0, 3)], 4, 1e-5},
                       rng_int(1, 2), 0, 0};
    e.in_h = e.p.stride * rng_int(1, 9);
    e.in_w = e.p.stride * rng_int(1, 17);
    run_epilogue_case(&e, (i / 3) % 2 == 1);
  }
}

/* NHWC input read in place between packed edges (16-channel blocks, rows with room for two
 * kernel segments inside): every kernel size, stride 1 and 2, dilation 1 and 2, at output
 * widths from below that threshold to several segments, both operators; 8-channel groups
 * (packed whole) alongside. */
static void test_blocked_nhwc_in_place(void) {
  for (int i = 0; i < 64; i++) {
    const int64_t gc = i % 2 == 0 ? 16 : 8, k = 2 * (i / 2 % 4) + 1, stride = 1 + i / 8 % 2;
    const int64_t dilation = 1 + i / 16 % 2, out_w = rng_int(20, 48);
    const ic_involution_params_t ap = {IC_DATATYPE_F32, 0, 2 * gc, k, stride, dilation, gc};
    run_aggregate_case(&ap, rng_int(1, 2), rng_int(1, 5), stride * out_w, false,
                       rng_bool(0.5) ? two_threads : NULL);
    module_case_t c = {{IC_DATATYPE_F32, 0, 2 * gc, k, stride, dilation, gc, 4, 1e-5},
                       rng_int(1, 2), stride * rng_int(1, 4), stride * out_w};
    run_module_case(&c);
    /* The output epilogue on the split rows. */
    c.p.activation = (int32_t)(i % 3);
    if (i % 4 == 0) run_epilogue_case(&c, i % 8 == 0);
  }
}

/* Bit-identical results for 1, 2 and 3 threads (and no context), both operators, layouts
 * and strides, on the active ISA. */
static void test_blocked_thread_count_bit_identity(void) {
  ic_context_t* contexts[3] = {NULL, NULL, NULL};
  CHECK_OK(ic_context_create(1, &contexts[0]));
  CHECK_OK(ic_context_create(3, &contexts[1]));
  contexts[2] = two_threads;
  for (int i = 0; i < 16; i++) {
    const int64_t gc = blocked_group_channels[1 + i % 3];
    const int64_t channels = gc * 2, k = i % 2 == 0 ? 7 : 3;
    const int64_t stride = i < 12 ? 1 + i / 6 : 1 + i / 2 % 2;
    /* The last four: NHWC rows wide enough to be read in place (gc 16 and 32; gc 8 packs). */
    const int64_t in_h = stride * 13, in_w = stride * (i < 12 ? 19 : 45), batch = 2;
    const int32_t layout = i < 12 ? (int32_t)(i / 3 % 2) : IC_LAYOUT_NHWC;
    test_set_problem("thread counts: c%lld gc%lld k%lld s%lld w%lld %s", (long long)channels,
                     (long long)gc, (long long)k, (long long)stride, (long long)in_w,
                     layout ? "nhwc" : "nchw");
    const ic_involution_params_t ap = {IC_DATATYPE_F32, 0, channels, k, stride, 1, gc};
    const ic_involution2d_params_t mp = {IC_DATATYPE_F32, IC_ACTIVATION_RELU, channels, k,
                                         stride, 1, gc, 4, 1e-5};
    int64_t oh, ow;
    ref_involution_output(&ap, in_h, in_w, &oh, &ow);
    const size_t x_count = (size_t)(batch * channels * in_h * in_w);
    const size_t k_count = (size_t)(batch * channels / gc * k * k * oh * ow);
    const size_t y_count = (size_t)(batch * channels * oh * ow);
    float* x = xfloats(x_count);
    float* kernels = xfloats(k_count);
    fill_uniform(x, x_count, -1, 1);
    fill_uniform(kernels, k_count, -1, 1);
    float* first = xfloats(y_count);
    float* other = xfloats(y_count);
    ic_involution_aggregate_t* agg = NULL;
    ic_involution2d_t* mod = NULL;
    module_weights_t w = random_module_weights(&mp);
    CHECK_OK(ic_involution_aggregate_create(&ap, &agg));
    CHECK_OK(create_with(&mp, &w, NULL, NULL, &mod));
    for (int op = 0; op < 2 && agg != NULL && mod != NULL; op++) {
      for (int t = -1; t < 3; t++) {
        float* y = t < 0 ? first : other;
        ic_context_t* context = t < 0 ? NULL : contexts[t];
        const ic_status_t status =
            op == 0 ? ic_involution_aggregate_run(agg, context, layout, batch, in_h, in_w, x,
                                                  x_count * sizeof(float), kernels,
                                                  k_count * sizeof(float), y,
                                                  y_count * sizeof(float))
                    : ic_involution2d_run(mod, context, layout, batch, in_h, in_w, x,
                                          x_count * sizeof(float), y, y_count * sizeof(float));
        CHECK_OK(status);
        if (t >= 0) check_identical(op == 0 ? "aggregate" : "module", other, first, y_count);
      }
    }
    ic_involution_aggregate_destroy(agg);
    ic_involution2d_destroy(mod);
    free_module_weights(&w);
    free(x), free(kernels), free(first), free(other);
  }
  ic_context_destroy(contexts[0]);
  ic_context_destroy(contexts[1]);
}

int main(int argc, char** argv) {
  test_init(argc, argv, 4242);
  /* ctest runs this under INVCONV_MAX_ISA=avx2 and avx512 too: a level this CPU lacks would
   * only repeat a lower one, so it is skipped, not passed. */
  const char* limit = getenv("INVCONV_MAX_ISA");
  if (limit != NULL) {
    const ic_isa_t wanted = strcmp(limit, "avx512") == 0 ? IC_ISA_AVX512
                            : strcmp(limit, "avx2") == 0 ? IC_ISA_AVX2
                                                          : IC_ISA_SCALAR;
    if (wanted > ic_detected_isa()) {
      printf("skipped: INVCONV_MAX_ISA=%s, but this CPU supports only %s\n", limit,
             ic_isa_name(ic_detected_isa()));
      return 77;
    }
  }
  if (ic_context_create(2, &two_threads) != IC_STATUS_SUCCESS) return 2;
  RUN_TEST(test_aggregate_random);
  RUN_TEST(test_aggregate_exact_data_bit_equal);
  RUN_TEST(test_aggregate_rednet_shapes);
  RUN_TEST(test_aggregate_far_windows);
  RUN_TEST(test_involution2d_random);
  RUN_TEST(test_involution2d_rednet_shapes);
  RUN_TEST(test_involution2d_far_windows);
  RUN_TEST(test_involution2d_epilogue);
  printf("ISA %s: aggregation kernels %s (group_channels 16), %s (8)\n",
         ic_isa_name(ic_active_isa()), expected_aggregate_kernel(16, 0),
         expected_aggregate_kernel(8, 0));
  RUN_TEST(test_aggregate_blocked_random);
  RUN_TEST(test_involution2d_blocked_random);
  RUN_TEST(test_blocked_nhwc_in_place);
  RUN_TEST(test_blocked_thread_count_bit_identity);
  ic_context_destroy(two_threads);
  return test_finish();
}
