/*
 * Conv2d then Pool2d in one pass (ic_conv2d_pool2d_run):
 *   - random direct convs (kernels, strides, dilations, groups, every padding mode, bias,
 *     activations) with random max and average pools (overlapping windows, gaps between them,
 *     padding) in both layouts, batches of 1-3, on no context and 1, 2, 3 and 7 threads: the
 *     same bits as ic_conv2d_run then ic_pool2d_run;
 *   - the network stems it is for (ResNet 7x7/2 + 3x3/2 max pool, RedNet's 3x3 32->64 + max
 *     pool, VGG's 3x3 + 2x2/2), at full size on the SIMD paths;
 *   - what does not fuse (pointwise, depthwise, Winograd) says so from check and run;
 *   - bad arguments: NULL operators, channels that differ, buffers too small or overlapping.
 * Runs on each ISA path (ctest sets INVCONV_MAX_ISA).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"

static ic_context_t* contexts[4]; /* 1, 2, 3 and 7 threads */
static const int32_t context_threads[4] = {1, 2, 3, 7};

static int64_t fused_cases, unsupported_cases;

/* The conv then the pool as two runs, and as one, on every context and in both layouts: the
 * one pass must give the two runs' bits. Returns the status of ic_conv2d_pool2d_check. */
static ic_status_t run_case(const ic_conv2d_params_t* cp, const ic_pool2d_params_t* pp,
                            int64_t batch, int64_t in_h, int64_t in_w) {
  char conv_text[256], pool_text[256];
  conv2d_problem(conv_text, sizeof conv_text, cp, batch, in_h, in_w, IC_LAYOUT_NCHW);
  pool2d_problem(pool_text, sizeof pool_text, pp, batch, 0, 0, IC_LAYOUT_NCHW);
  test_set_problem("%s then %s", conv_text, pool_text);

  const int64_t weight_count = cp->out_channels * (cp->in_channels / cp->groups) *
                               cp->kernel_h * cp->kernel_w;
  float* weights = xfloats((size_t)weight_count);
  fill_uniform(weights, (size_t)weight_count, -1, 1);
  float* bias = xfloats((size_t)cp->out_channels);
  fill_uniform(bias, (size_t)cp->out_channels, -1, 1);
  const bool with_bias = rng_bool(0.7);
  ic_conv2d_t* conv = NULL;
  ic_pool2d_t* pool = NULL;
  CHECK_OK(ic_conv2d_create(cp, weights, (size_t)weight_count * sizeof(float),
                            with_bias ? bias : NULL,
                            with_bias ? (size_t)cp->out_channels * sizeof(float) : 0, &conv));
  CHECK_OK(ic_pool2d_create(pp, &pool));
  int64_t ch = 0, cw = 0, ph = 0, pw = 0;
  const ic_status_t sizes = ic_conv2d_output_size(conv, in_h, in_w, &ch, &cw);
  const ic_status_t pool_sizes =
      sizes == IC_STATUS_SUCCESS ? ic_pool2d_output_size(pool, ch, cw, &ph, &pw) : sizes;
  const ic_status_t check = ic_conv2d_pool2d_check(conv, pool, in_h, in_w);
  if (pool_sizes != IC_STATUS_SUCCESS) {
    CHECK_MSG(check == IC_STATUS_INVALID_ARGUMENT, "check: %s for sizes that do not fit",
              ic_status_string(check));
  } else if (check == IC_STATUS_UNSUPPORTED) {
    unsupported_cases++;
    CHECK(strstr(ic_last_error(), "ic_conv2d_run and ic_pool2d_run instead") != NULL);
  } else {
    CHECK_OK(check);
  }

  const size_t x_count = (size_t)(batch * cp->in_channels * in_h * in_w);
  const size_t c_count = (size_t)(batch * cp->out_channels * ch * cw);
  const size_t y_count = (size_t)(batch * cp->out_channels * ph * pw);
  if (pool_sizes == IC_STATUS_SUCCESS) {
    float* x = xfloats(x_count);
    fill_uniform(x, x_count, -1, 1);
    float* conv_out = xfloats(c_count);
    float* expected = xfloats(y_count);
    float* y = xfloats(y_count);
    for (int32_t layout = IC_LAYOUT_NCHW; layout <= IC_LAYOUT_NHWC; layout++) {
      CHECK_OK(ic_conv2d_run(conv, contexts[1], layout, batch, in_h, in_w, x,
                             x_count * sizeof(float), NULL, 0, conv_out,
                             c_count * sizeof(float)));
      CHECK_OK(ic_pool2d_run(pool, contexts[1], layout, batch, ch, cw, conv_out,
                             c_count * sizeof(float), expected, y_count * sizeof(float)));
      for (int k = -1; k < 4; k++) {
        ic_context_t* context = k < 0 ? NULL : contexts[k];
        for (size_t i = 0; i < y_count; i++) y[i] = NAN;
        const ic_status_t status =
            ic_conv2d_pool2d_run(conv, pool, context, layout, batch, in_h, in_w, x,
                                 x_count * sizeof(float), y, y_count * sizeof(float));
        CHECK_MSG(status == check, "run: %s, check: %s (%s)", ic_status_string(status),
                  ic_status_string(check), ic_last_error());
        if (status != IC_STATUS_SUCCESS) break;
        char what[64];
        snprintf(what, sizeof what, "y(%s, %d threads)",
                 layout == IC_LAYOUT_NHWC ? "nhwc" : "nchw", k < 0 ? 0 : context_threads[k]);
        check_identical(what, y, expected, y_count);
      }
    }
    if (check == IC_STATUS_SUCCESS) fused_cases++;
    free(x), free(conv_out), free(expected), free(y);
  }
  ic_conv2d_destroy(conv);
  ic_pool2d_destroy(pool);
  free(weights), free(bias);
  return check;
}

static ic_conv2d_params_t random_direct_conv(void) {
  ic_conv2d_params_t p = {0};
  p.datatype = IC_DATATYPE_F32;
  p.activation = (int32_t)rng_int(IC_ACTIVATION_NONE, IC_ACTIVATION_RELU);
  p.groups = rng_int(1, 3);
  p.in_channels = p.groups * rng_int(1, 12);
  p.out_channels = p.groups * rng_int(1, 24);
  p.kernel_h = rng_int(1, 5), p.kernel_w = rng_int(1, 5);
  p.stride_h = rng_int(1, 2), p.stride_w = rng_int(1, 3);
  p.dilation_h = rng_int(1, 2), p.dilation_w = rng_int(1, 2);
  p.padding = (int32_t)rng_int(IC_PADDING_VALID, IC_PADDING_EXPLICIT);
  if (p.padding == IC_PADDING_EXPLICIT) {
    p.pad_top = rng_int(0, 2), p.pad_left = rng_int(0, 2);
    p.pad_bottom = rng_int(0, 2), p.pad_right = rng_int(0, 2);
  }
  return p;
}

static ic_pool2d_params_t random_pool(int64_t channels) {
  ic_pool2d_params_t p = {0};
  p.datatype = IC_DATATYPE_F32;
  p.pool = rng_bool(0.6) ? IC_POOL_MAX : IC_POOL_AVERAGE;
  p.count_include_pad = p.pool == IC_POOL_AVERAGE ? (int32_t)rng_int(0, 1) : 0;
  p.channels = channels;
  /* Windows that overlap (stride < kernel), touch, and leave rows out (stride > kernel). */
  p.kernel_h = rng_int(1, 4), p.kernel_w = rng_int(1, 4);
  p.stride_h = rng_int(1, 4), p.stride_w = rng_int(1, 3);
  p.padding = (int32_t)rng_int(IC_PADDING_VALID, IC_PADDING_EXPLICIT);
  if (p.padding == IC_PADDING_EXPLICIT) {
    p.pad_top = rng_int(0, p.kernel_h - 1), p.pad_left = rng_int(0, p.kernel_w - 1);
    p.pad_bottom = rng_int(0, p.kernel_h - 1), p.pad_right = rng_int(0, p.kernel_w - 1);
  }
  return p;
}

static void test_random_pairs(void) {
  fused_cases = unsupported_cases = 0;
  /* Fewer on the scalar path: ten times slower, and the same task logic. */
  const int pairs = ic_active_isa() == IC_ISA_SCALAR ? 100 : 300;
  for (int i = 0; i < pairs; i++) {
    const ic_conv2d_params_t cp = random_direct_conv();
    const ic_pool2d_params_t pp = random_pool(cp.out_channels);
    run_case(&cp, &pp, rng_int(1, 3), rng_int(1, 40), rng_int(1, 30));
  }
  printf("%lld pairs fused, %lld not (pointwise or depthwise convs)\n", (long long)fused_cases,
         (long long)unsupported_cases);
  CHECK_MSG(fused_cases >= pairs / 2, "only %lld of %d random pairs fused",
            (long long)fused_cases, pairs);
}

/* Tall images cut into many bands of pooled rows, so that threads continue bands (the rows two
 * bands share move up) and start them afresh (they are computed again). */
static void test_tall_images(void) {
  for (int i = 0; i < 40; i++) {
    ic_conv2d_params_t cp = random_direct_conv();
    cp.groups = 1, cp.in_channels = rng_int(2, 20), cp.out_channels = rng_int(1, 70);
    cp.kernel_h = rng_int(2, 4), cp.kernel_w = rng_int(1, 3), cp.dilation_w = 1;
    const ic_pool2d_params_t pp = random_pool(cp.out_channels);
    CHECK_OK(run_case(&cp, &pp, rng_int(1, 2), rng_int(60, 140), rng_int(16, 40)));
  }
}

static void test_network_stems(void) {
  const ic_conv2d_params_t resnet = {IC_DATATYPE_F32, IC_PADDING_EXPLICIT, IC_ACTIVATION_RELU, 0,
                                     3, 64, 1, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3};
  const ic_conv2d_params_t rednet = {IC_DATATYPE_F32, IC_PADDING_EXPLICIT, IC_ACTIVATION_RELU, 0,
                                     32, 64, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
  const ic_pool2d_params_t max3 = {IC_DATATYPE_F32, IC_POOL_MAX, IC_PADDING_EXPLICIT, 0, 64, 3, 3,
                                   2, 2, 1, 1, 1, 1};
  /* Full size on the SIMD paths; on the scalar one (and under TSan) a quarter of the pixels,
   * still dozens of bands. */
  const int64_t scale = ic_active_isa() == IC_ISA_SCALAR ? 2 : 1;
  CHECK_OK(run_case(&resnet, &max3, 1, 224 / scale, 224 / scale));
  CHECK_OK(run_case(&rednet, &max3, 1, 112 / scale, 112 / scale));
  const ic_conv2d_params_t vgg = {IC_DATATYPE_F32, IC_PADDING_SAME, IC_ACTIVATION_RELU, 0,
                                  64, 128, 1, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0};
  const ic_pool2d_params_t max2 = {IC_DATATYPE_F32, IC_POOL_MAX, IC_PADDING_VALID, 0, 128, 2, 2,
                                   2, 2, 0, 0, 0, 0};
  CHECK_OK(run_case(&vgg, &max2, 2, 56, 56));
}

/* Pointwise, depthwise and (opted in) Winograd convs: check and run both say which path it is
 * and to run the two operators; a Winograd conv on an image too small for it fuses. */
static void test_paths_that_do_not_fuse(void) {
  ic_conv2d_params_t cp = {IC_DATATYPE_F32, IC_PADDING_VALID, IC_ACTIVATION_NONE, 0,
                           16, 32, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
  const ic_pool2d_params_t pp = {IC_DATATYPE_F32, IC_POOL_AVERAGE, IC_PADDING_VALID, 1, 32, 2, 2,
                                 2, 2, 0, 0, 0, 0};
  CHECK(run_case(&cp, &pp, 1, 20, 20) == IC_STATUS_UNSUPPORTED);
  CHECK(strstr(ic_last_error(), "pointwise") != NULL);

  cp.in_channels = 32, cp.groups = 32, cp.kernel_h = cp.kernel_w = 3;
  CHECK(run_case(&cp, &pp, 1, 20, 20) == IC_STATUS_UNSUPPORTED);
  CHECK(strstr(ic_last_error(), "depthwise") != NULL);

  cp.groups = 1, cp.flags = IC_CONV2D_WINOGRAD, cp.padding = IC_PADDING_SAME;
  ic_conv2d_t* conv = NULL;
  const int64_t weight_count = 32 * 32 * 9;
  float* weights = xfloats((size_t)weight_count);
  fill_uniform(weights, (size_t)weight_count, -1, 1);
  CHECK_OK(ic_conv2d_create(&cp, weights, (size_t)weight_count * sizeof(float), NULL, 0, &conv));
  free(weights);
  const bool winograd = strchr(ic_conv2d_kernel_name(conv), '+') != NULL;
  ic_conv2d_destroy(conv);
  if (winograd) {
    CHECK(run_case(&cp, &pp, 1, 20, 20) == IC_STATUS_UNSUPPORTED);
    CHECK(strstr(ic_last_error(), "Winograd") != NULL);
  }
  CHECK_OK(run_case(&cp, &pp, 1, 8, 8)); /* 4 tiles: the direct conv */
}

static void test_errors(void) {
  test_set_problem("conv2d_pool2d errors");
  const ic_conv2d_params_t cp = {IC_DATATYPE_F32, IC_PADDING_SAME, IC_ACTIVATION_NONE, 0,
                                 4, 8, 1, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0};
  ic_pool2d_params_t pp = {IC_DATATYPE_F32, IC_POOL_MAX, IC_PADDING_VALID, 0, 8, 2, 2,
                           2, 2, 0, 0, 0, 0};
  float weights[8 * 4 * 9] = {0};
  ic_conv2d_t* conv = NULL;
  ic_pool2d_t* pool = NULL;
  ic_pool2d_t* other = NULL;
  CHECK_OK(ic_conv2d_create(&cp, weights, sizeof weights, NULL, 0, &conv));
  CHECK_OK(ic_pool2d_create(&pp, &pool));
  pp.channels = 6;
  CHECK_OK(ic_pool2d_create(&pp, &other));
  float src[4 * 8 * 8], dst[8 * 4 * 4];
  CHECK_STATUS(ic_conv2d_pool2d_check(NULL, pool, 8, 8), IC_STATUS_INVALID_ARGUMENT,
               "conv is NULL");
  CHECK_STATUS(ic_conv2d_pool2d_check(conv, NULL, 8, 8), IC_STATUS_INVALID_ARGUMENT,
               "pool is NULL");
  CHECK_STATUS(ic_conv2d_pool2d_check(conv, other, 8, 8), IC_STATUS_INVALID_ARGUMENT,
               "the pool has 6 channels but the conv gives 8");
  CHECK_STATUS(ic_conv2d_pool2d_check(conv, pool, 1, 8), IC_STATUS_INVALID_ARGUMENT, "pool2d");
  CHECK_OK(ic_conv2d_pool2d_check(conv, pool, 8, 8));
  CHECK_OK(ic_conv2d_pool2d_run(conv, pool, contexts[1], IC_LAYOUT_NHWC, 1, 8, 8, src,
                                sizeof src, dst, sizeof dst));
  CHECK_STATUS(ic_conv2d_pool2d_run(conv, pool, contexts[1], IC_LAYOUT_NHWC, 1, 8, 8, src,
                                    sizeof src, dst, sizeof dst - 4),
               IC_STATUS_INVALID_ARGUMENT, "dst");
  CHECK_STATUS(ic_conv2d_pool2d_run(conv, pool, contexts[1], IC_LAYOUT_NHWC, 1, 8, 8, src,
                                    sizeof src - 4, dst, sizeof dst),
               IC_STATUS_INVALID_ARGUMENT, "src");
  CHECK_STATUS(ic_conv2d_pool2d_run(conv, pool, contexts[1], IC_LAYOUT_NHWC, 1, 8, 8, src,
                                    sizeof src, src + 4, sizeof dst),
               IC_STATUS_INVALID_ARGUMENT, "dst overlaps src");
  CHECK_STATUS(ic_conv2d_pool2d_run(conv, pool, contexts[1], 7, 1, 8, 8, src, sizeof src, dst,
                                    sizeof dst),
               IC_STATUS_INVALID_ARGUMENT, "layout");
  CHECK_STATUS(ic_conv2d_pool2d_run(conv, pool, contexts[1], IC_LAYOUT_NHWC, 0, 8, 8, src,
                                    sizeof src, dst, sizeof dst),
               IC_STATUS_INVALID_ARGUMENT, "batch");
  ic_conv2d_destroy(conv);
  ic_pool2d_destroy(pool);
  ic_pool2d_destroy(other);
}

int main(int argc, char** argv) {
  test_init(argc, argv, 2024);
  printf("ISA %s\n", ic_isa_name(ic_active_isa()));
  for (int i = 0; i < 4; i++) {
    if (ic_context_create(context_threads[i], &contexts[i]) != IC_STATUS_SUCCESS) return 2;
  }
  RUN_TEST(test_random_pairs);
  RUN_TEST(test_tall_images);
  RUN_TEST(test_network_stems);
  RUN_TEST(test_paths_that_do_not_fuse);
  RUN_TEST(test_errors);
  for (int i = 0; i < 4; i++) ic_context_destroy(contexts[i]);
  return test_finish();
}
