/*
 * Involution aggregation and the Involution2d module against naive float64 references:
 * random channels/groups/kernel sizes/strides/dilations, both layouts, batches, exact data,
 * and the module's own rules (reduced channels, stride divisibility, BN folding).
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

static void run_aggregate_case(const ic_involution_params_t* p, int64_t batch, int64_t in_h,
                               int64_t in_w, bool exact, ic_context_t* context) {
  test_set_problem("involution mb%lldc%lldih%lldiw%lldk%llds%lldd%lldgc%lld%s", (long long)batch,
                   (long long)p->channels, (long long)in_h, (long long)in_w,
                   (long long)p->kernel_size, (long long)p->stride, (long long)p->dilation,
                   (long long)p->group_channels, exact ? "_exact" : "");
  ic_involution_aggregate_t* op = NULL;
  CHECK_OK(ic_involution_aggregate_create(p, &op));
  if (op == NULL) return;
  CHECK(strcmp(ic_involution_aggregate_kernel_name(op), "f32_invol2d_direct__scalar") == 0);

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

typedef struct module_case {
  ic_involution2d_params_t p;
  int64_t batch, in_h, in_w;
} module_case_t;

static void run_module_case(const module_case_t* c) {
  const ic_involution2d_params_t* p = &c->p;
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
                                  (size_t)(kc * reduced) * fb, b1, (size_t)kc * fb, &op));
  if (op != NULL) {
    const char* name = ic_involution2d_kernel_name(op);
    CHECK(strstr(name, "f32_invol2d_direct__scalar") != NULL);
    CHECK((strstr(name, "f32_avgpool2d") != NULL) == (p->stride > 1));

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

int main(int argc, char** argv) {
  test_init(argc, argv, 4242);
  if (ic_context_create(2, &two_threads) != IC_STATUS_SUCCESS) return 2;
  RUN_TEST(test_aggregate_random);
  RUN_TEST(test_aggregate_exact_data_bit_equal);
  RUN_TEST(test_aggregate_rednet_shapes);
  RUN_TEST(test_involution2d_random);
  RUN_TEST(test_involution2d_rednet_shapes);
  ic_context_destroy(two_threads);
  return test_finish();
}
