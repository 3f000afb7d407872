/*
 * Every validation error of the public API: the status, the message text (naming the
 * operator, parameter and value), and that *_out is NULL afterwards. Nothing may be touched
 * before validation passes: buffers that must not be written are checked to be unchanged.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"

#define INVALID IC_STATUS_INVALID_ARGUMENT

static float buffer_a[4096];
static float buffer_b[4096];
static float buffer_c[4096];
/* A pointer that create must overwrite with NULL on failure. */
static void* const POISON = (void*)&buffer_c[1];

static ic_conv2d_params_t conv_params(void) {
  ic_conv2d_params_t p = {0};
  p.datatype = IC_DATATYPE_F32;
  p.in_channels = 8;
  p.out_channels = 4;
  p.groups = 1;
  p.kernel_h = p.kernel_w = 3;
  p.stride_h = p.stride_w = 1;
  p.dilation_h = p.dilation_w = 1;
  return p;
}

/* conv2d create with weights and bias of the right size for p, expecting failure. */
static void expect_conv_create_error(const ic_conv2d_params_t* p, const char* text) {
  ic_conv2d_t* conv = POISON;
  size_t w_bytes = 0;
  if (p->groups > 0 && p->in_channels > 0 && p->out_channels > 0 && p->kernel_h > 0 &&
      p->kernel_w > 0 && p->kernel_h < 64 && p->kernel_w < 64 && p->in_channels % p->groups == 0) {
    w_bytes = (size_t)(p->out_channels * (p->in_channels / p->groups) * p->kernel_h *
                       p->kernel_w) *
              sizeof(float);
  }
  if (w_bytes > sizeof buffer_a) w_bytes = sizeof buffer_a;
  test_set_problem("conv2d create expecting \"%s\"", text);
  CHECK_STATUS(ic_conv2d_create(p, buffer_a, w_bytes, NULL, 0, &conv), INVALID, text);
  CHECK(conv == NULL);
}

static void test_conv2d_create_errors(void) {
  ic_conv2d_params_t p = conv_params();
  ic_conv2d_t* conv = POISON;
  const size_t w_bytes = 4 * 8 * 9 * sizeof(float);

  CHECK_STATUS(ic_conv2d_create(NULL, buffer_a, w_bytes, NULL, 0, &conv), INVALID,
               "conv2d: params is NULL");
  CHECK(conv == NULL);
  CHECK_STATUS(ic_conv2d_create(&p, buffer_a, w_bytes, NULL, 0, NULL), INVALID,
               "conv2d: conv_out is NULL");

  p = conv_params(), p.datatype = 7;
  expect_conv_create_error(&p, "conv2d: datatype=7 is not a valid ic_datatype_t");
  p = conv_params(), p.flags = 2;
  expect_conv_create_error(&p, "conv2d: flags=2 has bits no IC_CONV2D_* flag defines (known: "
                               "IC_CONV2D_WINOGRAD = 1)");
  p = conv_params(), p.in_channels = 0;
  expect_conv_create_error(&p, "conv2d: in_channels=0 must be positive");
  p = conv_params(), p.out_channels = -4;
  expect_conv_create_error(&p, "conv2d: out_channels=-4 must be positive");
  p = conv_params(), p.groups = 0;
  expect_conv_create_error(&p, "conv2d: groups=0 must be positive");
  p = conv_params(), p.groups = 3;
  expect_conv_create_error(&p, "conv2d: groups=3 does not divide in_channels=8");
  p = conv_params(), p.groups = 8;
  expect_conv_create_error(&p, "conv2d: groups=8 does not divide out_channels=4");
  p = conv_params(), p.kernel_h = 0;
  expect_conv_create_error(&p, "conv2d: kernel_h=0 must be positive");
  p = conv_params(), p.kernel_w = -1;
  expect_conv_create_error(&p, "conv2d: kernel_w=-1 must be positive");
  p = conv_params(), p.stride_h = 0;
  expect_conv_create_error(&p, "conv2d: stride_h=0 must be positive");
  p = conv_params(), p.stride_w = -2;
  expect_conv_create_error(&p, "conv2d: stride_w=-2 must be positive");
  p = conv_params(), p.dilation_h = 0;
  expect_conv_create_error(&p, "conv2d: dilation_h=0 must be positive");
  p = conv_params(), p.dilation_w = -3;
  expect_conv_create_error(&p, "conv2d: dilation_w=-3 must be positive");
  p = conv_params(), p.padding = 4;
  expect_conv_create_error(&p, "conv2d: padding=4 is not a valid ic_padding_t");
  p = conv_params(), p.padding = -1;
  expect_conv_create_error(&p, "conv2d: padding=-1 is not a valid ic_padding_t");
  p = conv_params(), p.padding = IC_PADDING_EXPLICIT, p.pad_top = -1;
  expect_conv_create_error(&p, "conv2d: pad_top=-1 must not be negative");
  p = conv_params(), p.padding = IC_PADDING_EXPLICIT, p.pad_right = -5;
  expect_conv_create_error(&p, "conv2d: pad_right=-5 must not be negative");
  p = conv_params(), p.padding = IC_PADDING_SAME, p.pad_left = 2;
  expect_conv_create_error(&p, "conv2d: pad_left=2 must be 0 unless padding is IC_PADDING_EXPLICIT");
  p = conv_params(), p.padding = IC_PADDING_VALID, p.pad_bottom = 1;
  expect_conv_create_error(&p, "conv2d: pad_bottom=1 must be 0 unless");
  p = conv_params(), p.activation = 3;
  expect_conv_create_error(&p, "conv2d: activation=3 is not a valid ic_activation_t");
  p = conv_params(), p.kernel_h = INT64_MAX / 2, p.dilation_h = 4;
  expect_conv_create_error(&p, "conv2d: kernel_h=4611686018427387903 with dilation_h=4 overflows");
  p = conv_params(), p.kernel_w = INT64_MAX / 4, p.kernel_h = INT64_MAX / 4;
  expect_conv_create_error(&p, "conv2d: the size of weights [4,8,2305843009213693951,"
                               "2305843009213693951] overflows");

  /* Buffers. */
  p = conv_params();
  CHECK_STATUS(ic_conv2d_create(&p, NULL, w_bytes, NULL, 0, &conv), INVALID,
               "conv2d: weights is NULL");
  CHECK(conv == NULL);
  conv = POISON;
  CHECK_STATUS(ic_conv2d_create(&p, buffer_a, w_bytes - 4, NULL, 0, &conv), INVALID,
               "conv2d: weights_bytes=1148 does not match the 1152 bytes of [4,8,3,3]");
  CHECK(conv == NULL);
  CHECK_STATUS(ic_conv2d_create(&p, buffer_a, w_bytes + 4, NULL, 0, &conv), INVALID,
               "conv2d: weights_bytes=1156 does not match the 1152 bytes of [4,8,3,3]");
  CHECK_STATUS(ic_conv2d_create(&p, buffer_a, w_bytes, NULL, 16, &conv), INVALID,
               "conv2d: bias is NULL but bias_bytes=16 (must be 0)");
  CHECK_STATUS(ic_conv2d_create(&p, buffer_a, w_bytes, buffer_b, 12, &conv), INVALID,
               "conv2d: bias_bytes=12 does not match the 16 bytes of [4]");
  CHECK(conv == NULL);
}

static ic_conv2d_t* make_conv(const ic_conv2d_params_t* p) {
  ic_conv2d_t* conv = NULL;
  const size_t w_bytes = (size_t)(p->out_channels * (p->in_channels / p->groups) * p->kernel_h *
                                  p->kernel_w) *
                         sizeof(float);
  CHECK_OK(ic_conv2d_create(p, buffer_a, w_bytes, NULL, 0, &conv));
  return conv;
}

/* A valid but huge dilation (found by fuzzing): create succeeds on every ISA (the weight
 * layout does not depend on the dilation); an input too small for the window is refused by
 * output_size with an explanation, not by create as out of memory. */
static void test_conv2d_huge_dilation(void) {
  ic_conv2d_params_t p = conv_params();
  p.dilation_w = 1400000000000000000;
  const ic_isa_t saved = ic_active_isa();
  for (int isa = IC_ISA_SCALAR; isa <= (int)saved; isa++) {
    CHECK_OK(ic_set_max_isa((ic_isa_t)isa));
    test_set_problem("conv2d create with dilation_w=%" PRId64 ", max isa %d", p.dilation_w, isa);
    ic_conv2d_t* conv = make_conv(&p);
    int64_t oh = 0, ow = 0;
    CHECK(ic_conv2d_output_size(conv, 8, 8, &oh, &ow) == IC_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(ic_last_error(), "dilation_w") != NULL || strstr(ic_last_error(), "input") != NULL);
    ic_conv2d_destroy(conv);
  }
  CHECK_OK(ic_set_max_isa(saved));
}

static void test_conv2d_output_size_errors(void) {
  ic_conv2d_params_t p = conv_params();
  ic_conv2d_t* conv = make_conv(&p);
  int64_t oh = 5, ow = 5;
  CHECK_STATUS(ic_conv2d_output_size(NULL, 4, 4, &oh, &ow), INVALID, "conv2d: conv is NULL");
  CHECK(oh == 0 && ow == 0);
  CHECK_STATUS(ic_conv2d_output_size(conv, 4, 4, NULL, &ow), INVALID,
               "conv2d: out_h_out is NULL");
  CHECK_STATUS(ic_conv2d_output_size(conv, 4, 4, &oh, NULL), INVALID,
               "conv2d: out_w_out is NULL");
  CHECK_STATUS(ic_conv2d_output_size(conv, 0, 4, &oh, &ow), INVALID,
               "conv2d: in_h=0 must be positive");
  CHECK_STATUS(ic_conv2d_output_size(conv, 4, -7, &oh, &ow), INVALID,
               "conv2d: in_w=-7 must be positive");
  CHECK_STATUS(ic_conv2d_output_size(conv, 2, 4, &oh, &ow), INVALID,
               "conv2d: the output height would be 0: in_h=2 plus padding 0+0 is less than the "
               "dilated kernel height 3 (kernel_h=3, dilation_h=1)");
  CHECK(oh == 0 && ow == 0);
  CHECK_STATUS(ic_conv2d_output_size(conv, 4, 1, &oh, &ow), INVALID,
               "conv2d: the output width would be 0: in_w=1");
  ic_conv2d_destroy(conv);

  p = conv_params(), p.padding = IC_PADDING_FULL;
  conv = make_conv(&p);
  CHECK_STATUS(ic_conv2d_output_size(conv, INT64_MAX - 1, 4, &oh, &ow), INVALID,
               "conv2d: in_h=9223372036854775806 plus padding 2+2 overflows");
  ic_conv2d_destroy(conv);
}

static void test_conv2d_run_errors(void) {
  ic_conv2d_params_t p = conv_params();
  p.in_channels = 4;
  p.padding = IC_PADDING_SAME;
  ic_conv2d_t* conv = make_conv(&p);
  /* [1,4,5,5] in and out: 400 bytes each. */
  const size_t bytes = 400;
  float* src = buffer_a;
  float* dst = buffer_b;
  for (int i = 0; i < 100; i++) dst[i] = -1;
  const int32_t nchw = IC_LAYOUT_NCHW;

  CHECK_STATUS(ic_conv2d_run(NULL, NULL, nchw, 1, 5, 5, src, bytes, NULL, 0, dst, bytes),
               INVALID, "conv2d: conv is NULL");
  CHECK_STATUS(ic_conv2d_run(conv, NULL, 2, 1, 5, 5, src, bytes, NULL, 0, dst, bytes), INVALID,
               "conv2d: layout=2 is not a valid ic_layout_t");
  CHECK_STATUS(ic_conv2d_run(conv, NULL, nchw, 0, 5, 5, src, bytes, NULL, 0, dst, bytes),
               INVALID, "conv2d: batch=0 must be positive");
  CHECK_STATUS(ic_conv2d_run(conv, NULL, nchw, 1, -1, 5, src, bytes, NULL, 0, dst, bytes),
               INVALID, "conv2d: in_h=-1 must be positive");
  CHECK_STATUS(ic_conv2d_run(conv, NULL, nchw, 1, 5, 0, src, bytes, NULL, 0, dst, bytes),
               INVALID, "conv2d: in_w=0 must be positive");
  CHECK_STATUS(ic_conv2d_run(conv, NULL, nchw, 1, 5, 5, NULL, bytes, NULL, 0, dst, bytes),
               INVALID, "conv2d: src is NULL");
  CHECK_STATUS(ic_conv2d_run(conv, NULL, nchw, 1, 5, 5, src, bytes - 1, NULL, 0, dst, bytes),
               INVALID, "conv2d: src_bytes=399 is smaller than the 400 bytes of [1,4,5,5]");
  CHECK_STATUS(ic_conv2d_run(conv, NULL, nchw, 1, 5, 5, src, bytes, NULL, 0, NULL, bytes),
               INVALID, "conv2d: dst is NULL");
  CHECK_STATUS(ic_conv2d_run(conv, NULL, nchw, 1, 5, 5, src, bytes, NULL, 0, dst, 100), INVALID,
               "conv2d: dst_bytes=100 is smaller than the 400 bytes of [1,4,5,5]");
  CHECK_STATUS(ic_conv2d_run(conv, NULL, nchw, 1, 5, 5, src, bytes, NULL, 8, dst, bytes),
               INVALID, "conv2d: residual is NULL but residual_bytes=8 (must be 0)");
  CHECK_STATUS(ic_conv2d_run(conv, NULL, nchw, 1, 5, 5, src, bytes, buffer_c, 396, dst, bytes),
               INVALID, "conv2d: residual_bytes=396 is smaller than the 400 bytes of [1,4,5,5]");
  CHECK_STATUS(ic_conv2d_run(conv, NULL, nchw, 1, 5, 5, src, bytes, NULL, 0, src + 50, bytes),
               INVALID, "conv2d: dst overlaps src");
  CHECK_STATUS(ic_conv2d_run(conv, NULL, nchw, 1, 5, 5, src, bytes, dst + 1, bytes, dst, bytes),
               INVALID, "conv2d: residual overlaps dst without being dst");
  CHECK_STATUS(ic_conv2d_run(conv, NULL, nchw, 1, 5, 5, (const char*)src + 2, bytes, NULL, 0,
                             dst, bytes),
               INVALID, "is not aligned to 4 bytes (float)");
  CHECK_STATUS(ic_conv2d_run(conv, NULL, nchw, 1, 2, 5, src, bytes, NULL, 0, dst, bytes),
               IC_STATUS_SUCCESS, NULL); /* SAME: any input size works */
  CHECK_STATUS(ic_conv2d_run(conv, NULL, nchw, INT64_MAX / 2, 5, 5, src, bytes, NULL, 0, dst,
                             bytes),
               INVALID, "conv2d: the size of src [4611686018427387903,4,5,5] overflows");
  CHECK_STATUS(ic_conv2d_run(conv, NULL, nchw, 1, 5, 5, src, bytes, NULL, 0, dst, bytes),
               IC_STATUS_SUCCESS, NULL);
  ic_conv2d_destroy(conv);

  p = conv_params(); /* VALID 3x3: too small an input is refused at run as well */
  conv = make_conv(&p);
  for (int i = 0; i < 64; i++) dst[i] = -1;
  CHECK_STATUS(ic_conv2d_run(conv, NULL, nchw, 1, 2, 2, src, 4096, NULL, 0, dst, 4096), INVALID,
               "conv2d: the output height would be 0");
  CHECK(dst[0] == -1); /* untouched */
  ic_conv2d_destroy(conv);
}

static ic_separable_conv2d_params_t separable_params(void) {
  ic_separable_conv2d_params_t p = {0};
  p.datatype = IC_DATATYPE_F32;
  p.in_channels = 4;
  p.depth_multiplier = 2;
  p.out_channels = 6;
  p.kernel_h = p.kernel_w = 3;
  p.stride_h = p.stride_w = 1;
  p.dilation_h = p.dilation_w = 1;
  return p;
}

static void expect_separable_error(const ic_separable_conv2d_params_t* p, size_t dw_bytes,
                                   size_t dwb_bytes, size_t pw_bytes, size_t pwb_bytes,
                                   const char* text) {
  ic_separable_conv2d_t* conv = POISON;
  test_set_problem("separable create expecting \"%s\"", text);
  CHECK_STATUS(ic_separable_conv2d_create(p, buffer_a, dw_bytes, dwb_bytes ? buffer_b : NULL,
                                          dwb_bytes, buffer_c, pw_bytes,
                                          pwb_bytes ? buffer_b : NULL, pwb_bytes, &conv),
               INVALID, text);
  CHECK(conv == NULL);
}

static void test_separable_errors(void) {
  const size_t dw = 8 * 9 * 4, dwb = 8 * 4, pw = 6 * 8 * 4, pwb = 6 * 4;
  ic_separable_conv2d_params_t p = separable_params();
  ic_separable_conv2d_t* conv = POISON;
  CHECK_STATUS(ic_separable_conv2d_create(NULL, buffer_a, dw, NULL, 0, buffer_c, pw, NULL, 0,
                                          &conv),
               INVALID, "separable_conv2d: params is NULL");
  CHECK(conv == NULL);
  CHECK_STATUS(ic_separable_conv2d_create(&p, buffer_a, dw, NULL, 0, buffer_c, pw, NULL, 0, NULL),
               INVALID, "separable_conv2d: conv_out is NULL");
  p.datatype = 1;
  expect_separable_error(&p, dw, 0, pw, 0, "separable_conv2d: datatype=1 is not a valid");
  p = separable_params(), p.in_channels = 0;
  expect_separable_error(&p, dw, 0, pw, 0, "separable_conv2d: in_channels=0 must be positive");
  p = separable_params(), p.depth_multiplier = -2;
  expect_separable_error(&p, dw, 0, pw, 0,
                         "separable_conv2d: depth_multiplier=-2 must be positive");
  p = separable_params(), p.out_channels = 0;
  expect_separable_error(&p, dw, 0, pw, 0, "separable_conv2d: out_channels=0 must be positive");
  p = separable_params(), p.depth_multiplier = INT64_MAX / 2;
  expect_separable_error(&p, dw, 0, pw, 0,
                         "separable_conv2d: in_channels=4 times depth_multiplier="
                         "4611686018427387903 overflows");
  p = separable_params(), p.stride_h = 0;
  expect_separable_error(&p, dw, 0, pw, 0, "separable_conv2d: stride_h=0 must be positive");
  p = separable_params(), p.padding = 9;
  expect_separable_error(&p, dw, 0, pw, 0, "separable_conv2d: padding=9 is not a valid");
  p = separable_params(), p.pad_top = 1;
  expect_separable_error(&p, dw, 0, pw, 0, "separable_conv2d: pad_top=1 must be 0 unless");
  p = separable_params(), p.depthwise_activation = 5;
  expect_separable_error(&p, dw, 0, pw, 0,
                         "separable_conv2d: depthwise_activation=5 is not a valid ic_activation_t");
  p = separable_params(), p.activation = -1;
  expect_separable_error(&p, dw, 0, pw, 0,
                         "separable_conv2d: activation=-1 is not a valid ic_activation_t");
  p = separable_params();
  expect_separable_error(&p, dw - 4, 0, pw, 0,
                         "separable_conv2d: depthwise_weights_bytes=284 does not match the 288 "
                         "bytes of [8,1,3,3]");
  expect_separable_error(&p, dw, dwb + 4, pw, 0,
                         "separable_conv2d: depthwise_bias_bytes=36 does not match the 32 bytes "
                         "of [8]");
  expect_separable_error(&p, dw, dwb, pw + 4, 0,
                         "separable_conv2d: pointwise_weights_bytes=196 does not match the 192 "
                         "bytes of [6,8,1,1]");
  expect_separable_error(&p, dw, dwb, pw, pwb - 4,
                         "separable_conv2d: pointwise_bias_bytes=20 does not match the 24 bytes "
                         "of [6]");
  conv = POISON;
  CHECK_STATUS(ic_separable_conv2d_create(&p, buffer_a, dw, NULL, 4, buffer_c, pw, NULL, 0,
                                          &conv),
               INVALID, "separable_conv2d: depthwise_bias is NULL but depthwise_bias_bytes=4");
  CHECK(conv == NULL);
  CHECK_STATUS(ic_separable_conv2d_create(&p, buffer_a, dw, NULL, 0, NULL, pw, NULL, 0, &conv),
               INVALID, "separable_conv2d: pointwise_weights is NULL");

  CHECK_OK(ic_separable_conv2d_create(&p, buffer_a, dw, NULL, 0, buffer_c, pw, NULL, 0, &conv));
  int64_t oh, ow;
  CHECK_STATUS(ic_separable_conv2d_output_size(conv, 2, 9, &oh, &ow), INVALID,
               "separable_conv2d: the output height would be 0");
  CHECK_STATUS(ic_separable_conv2d_output_size(NULL, 2, 9, &oh, &ow), INVALID,
               "separable_conv2d: conv is NULL");
  const size_t in_bytes = 4 * 5 * 5 * 4, out_bytes = 6 * 3 * 3 * 4;
  CHECK_STATUS(ic_separable_conv2d_run(conv, NULL, IC_LAYOUT_NHWC, 1, 5, 5, buffer_a, in_bytes,
                                       buffer_b, out_bytes),
               IC_STATUS_SUCCESS, NULL);
  CHECK_STATUS(ic_separable_conv2d_run(NULL, NULL, IC_LAYOUT_NHWC, 1, 5, 5, buffer_a, in_bytes,
                                       buffer_b, out_bytes),
               INVALID, "separable_conv2d: conv is NULL");
  CHECK_STATUS(ic_separable_conv2d_run(conv, NULL, 3, 1, 5, 5, buffer_a, in_bytes, buffer_b,
                                       out_bytes),
               INVALID, "separable_conv2d: layout=3 is not a valid ic_layout_t");
  CHECK_STATUS(ic_separable_conv2d_run(conv, NULL, IC_LAYOUT_NHWC, -1, 5, 5, buffer_a, in_bytes,
                                       buffer_b, out_bytes),
               INVALID, "separable_conv2d: batch=-1 must be positive");
  CHECK_STATUS(ic_separable_conv2d_run(conv, NULL, IC_LAYOUT_NHWC, 1, 5, 5, buffer_a,
                                       in_bytes - 4, buffer_b, out_bytes),
               INVALID, "separable_conv2d: src_bytes=396 is smaller than the 400 bytes of "
                        "[1,4,5,5]");
  CHECK_STATUS(ic_separable_conv2d_run(conv, NULL, IC_LAYOUT_NHWC, 1, 5, 5, buffer_a, in_bytes,
                                       buffer_b, out_bytes - 4),
               INVALID, "separable_conv2d: dst_bytes=212 is smaller than the 216 bytes of "
                        "[1,6,3,3]");
  CHECK_STATUS(ic_separable_conv2d_run(conv, NULL, IC_LAYOUT_NHWC, 1, 5, 5, buffer_a, in_bytes,
                                       buffer_a + 10, out_bytes),
               INVALID, "separable_conv2d: dst overlaps src");
  ic_separable_conv2d_destroy(conv);
}

static void expect_involution_error(const ic_involution_params_t* p, const char* text) {
  ic_involution_aggregate_t* op = POISON;
  test_set_problem("involution create expecting \"%s\"", text);
  CHECK_STATUS(ic_involution_aggregate_create(p, &op), INVALID, text);
  CHECK(op == NULL);
}

static void test_involution_aggregate_errors(void) {
  const ic_involution_params_t good = {IC_DATATYPE_F32, 0, 32, 3, 1, 1, 16};
  ic_involution_params_t p = good;
  ic_involution_aggregate_t* op = POISON;
  CHECK_STATUS(ic_involution_aggregate_create(NULL, &op), INVALID, "involution: params is NULL");
  CHECK(op == NULL);
  CHECK_STATUS(ic_involution_aggregate_create(&p, NULL), INVALID, "involution: op_out is NULL");
  p.datatype = 2;
  expect_involution_error(&p, "involution: datatype=2 is not a valid ic_datatype_t");
  p = good, p.reserved = 5;
  expect_involution_error(&p, "involution: reserved=5 must be 0");
  p = good, p.channels = 0;
  expect_involution_error(&p, "involution: channels=0 must be positive");
  p = good, p.kernel_size = -3;
  expect_involution_error(&p, "involution: kernel_size=-3 must be positive");
  p = good, p.kernel_size = 4;
  expect_involution_error(&p, "involution: kernel_size=4 must be odd");
  p = good, p.stride = 0;
  expect_involution_error(&p, "involution: stride=0 must be positive");
  p = good, p.dilation = 0;
  expect_involution_error(&p, "involution: dilation=0 must be positive");
  p = good, p.group_channels = 0;
  expect_involution_error(&p, "involution: group_channels=0 must be positive");
  p = good, p.channels = 24;
  expect_involution_error(&p, "involution: channels=24 is not a multiple of group_channels=16");
  p = good, p.kernel_size = 3037000501; /* its square overflows */
  expect_involution_error(&p, "involution: kernel_size=3037000501 with dilation=1");

  p = (ic_involution_params_t){IC_DATATYPE_F32, 0, 4, 3, 2, 1, 2};
  CHECK_OK(ic_involution_aggregate_create(&p, &op));
  int64_t oh, ow;
  CHECK_STATUS(ic_involution_aggregate_output_size(op, 0, 3, &oh, &ow), INVALID,
               "involution: in_h=0 must be positive");
  CHECK_STATUS(ic_involution_aggregate_output_size(NULL, 3, 3, &oh, &ow), INVALID,
               "involution: op is NULL");
  CHECK_STATUS(ic_involution_aggregate_output_size(op, 3, 3, &oh, NULL), INVALID,
               "involution: out_w_out is NULL");
  CHECK_OK(ic_involution_aggregate_output_size(op, 5, 4, &oh, &ow));
  CHECK(oh == 3 && ow == 2);
  /* src [1,4,5,4] 320 bytes; kernels [1,18,3,2] 432 bytes; dst [1,4,3,2] 96 bytes. */
  const int32_t nchw = IC_LAYOUT_NCHW;
  float* src = buffer_a;
  float* kernels = buffer_b;
  float* dst = buffer_c;
  CHECK_OK(ic_involution_aggregate_run(op, NULL, nchw, 1, 5, 4, src, 320, kernels, 432, dst, 96));
  CHECK_STATUS(ic_involution_aggregate_run(NULL, NULL, nchw, 1, 5, 4, src, 320, kernels, 432,
                                           dst, 96),
               INVALID, "involution: op is NULL");
  CHECK_STATUS(ic_involution_aggregate_run(op, NULL, 7, 1, 5, 4, src, 320, kernels, 432, dst, 96),
               INVALID, "involution: layout=7 is not a valid");
  CHECK_STATUS(ic_involution_aggregate_run(op, NULL, nchw, 0, 5, 4, src, 320, kernels, 432, dst,
                                           96),
               INVALID, "involution: batch=0 must be positive");
  CHECK_STATUS(ic_involution_aggregate_run(op, NULL, nchw, 1, 5, 4, src, 316, kernels, 432, dst,
                                           96),
               INVALID, "involution: src_bytes=316 is smaller than the 320 bytes of [1,4,5,4]");
  CHECK_STATUS(ic_involution_aggregate_run(op, NULL, nchw, 1, 5, 4, src, 320, kernels, 428, dst,
                                           96),
               INVALID,
               "involution: kernels_bytes=428 is smaller than the 432 bytes of [1,18,3,2]");
  CHECK_STATUS(ic_involution_aggregate_run(op, NULL, nchw, 1, 5, 4, src, 320, NULL, 432, dst, 96),
               INVALID, "involution: kernels is NULL");
  CHECK_STATUS(ic_involution_aggregate_run(op, NULL, nchw, 1, 5, 4, src, 320, kernels, 432, dst,
                                           92),
               INVALID, "involution: dst_bytes=92 is smaller than the 96 bytes of [1,4,3,2]");
  CHECK_STATUS(ic_involution_aggregate_run(op, NULL, nchw, 1, 5, 4, src, 320, kernels, 432,
                                           src + 4, 96),
               INVALID, "involution: dst overlaps src");
  CHECK_STATUS(ic_involution_aggregate_run(op, NULL, nchw, 1, 5, 4, src, 320, kernels, 432,
                                           kernels + 100, 96),
               INVALID, "involution: dst overlaps kernels");
  ic_involution_aggregate_destroy(op);
}

/* Involution2d with buffers sized for p; `broken` names one buffer to get a wrong size. */
typedef struct module_buffers {
  size_t bytes[7];
} module_buffers_t;

static module_buffers_t module_sizes(const ic_involution2d_params_t* p) {
  const int64_t reduced = p->reduction_ratio > 0 ? p->channels / p->reduction_ratio : 1;
  const int64_t kc = p->group_channels > 0 ? p->channels / p->group_channels * p->kernel_size *
                                                 p->kernel_size
                                           : 1;
  const size_t f = sizeof(float);
  module_buffers_t b = {{(size_t)(reduced * p->channels) * f, (size_t)reduced * f,
                         (size_t)reduced * f, (size_t)reduced * f, (size_t)reduced * f,
                         (size_t)(kc * reduced) * f, (size_t)kc * f}};
  return b;
}

static ic_status_t create_module(const ic_involution2d_params_t* p, const module_buffers_t* b,
                                 const float* var, ic_involution2d_t** op) {
  return ic_involution2d_create(p, buffer_a, b->bytes[0], buffer_b, b->bytes[1], buffer_b,
                                b->bytes[2], buffer_b, b->bytes[3], var, b->bytes[4], buffer_c,
                                b->bytes[5], buffer_c, b->bytes[6], NULL, 0, NULL, 0, op);
}

static void expect_module_error(const ic_involution2d_params_t* p, const char* text) {
  const module_buffers_t b = module_sizes(p);
  ic_involution2d_t* op = POISON;
  test_set_problem("involution2d create expecting \"%s\"", text);
  CHECK_STATUS(create_module(p, &b, buffer_b, &op), INVALID, text);
  CHECK(op == NULL);
}

static void test_involution2d_errors(void) {
  const ic_involution2d_params_t good = {IC_DATATYPE_F32, 0, 16, 3, 2, 1, 8, 4, 1e-5};
  for (int i = 0; i < 64; i++) buffer_b[i] = 1; /* BN: positive variances */
  ic_involution2d_params_t p = good;
  module_buffers_t b = module_sizes(&p);
  ic_involution2d_t* op = POISON;
  CHECK_STATUS(ic_involution2d_create(NULL, buffer_a, b.bytes[0], buffer_b, b.bytes[1], buffer_b,
                                      b.bytes[2], buffer_b, b.bytes[3], buffer_b, b.bytes[4],
                                      buffer_c, b.bytes[5], buffer_c, b.bytes[6], NULL, 0, NULL, 0, &op),
               INVALID, "involution2d: params is NULL");
  CHECK(op == NULL);
  CHECK_STATUS(create_module(&p, &b, buffer_b, NULL), INVALID, "involution2d: op_out is NULL");

  p.datatype = 3;
  expect_module_error(&p, "involution2d: datatype=3 is not a valid ic_datatype_t");
  p = good, p.activation = 7;
  expect_module_error(&p, "involution2d: activation=7");
  p = good, p.kernel_size = 2;
  expect_module_error(&p, "involution2d: kernel_size=2 must be odd");
  p = good, p.channels = 12;
  expect_module_error(&p, "involution2d: channels=12 is not a multiple of group_channels=8");
  p = good, p.reduction_ratio = 0;
  expect_module_error(&p, "involution2d: reduction_ratio=0 must be positive");
  p = good, p.reduction_ratio = 100;
  expect_module_error(&p, "involution2d: reduction_ratio=100 leaves no reduced channels "
                          "(channels=16 / 100 = 0)");
  p = good, p.bn_epsilon = -1e-5;
  expect_module_error(&p, "involution2d: bn_epsilon=-1e-05 must be finite and >= 0");
  p = good, p.bn_epsilon = NAN;
  expect_module_error(&p, "involution2d: bn_epsilon=nan must be finite and >= 0");
  p = good, p.bn_epsilon = INFINITY;
  expect_module_error(&p, "involution2d: bn_epsilon=inf must be finite and >= 0");

  /* Buffer sizes, one at a time. */
  static const char* messages[7] = {
      "involution2d: reduce_weight_bytes=260 does not match the 256 bytes of [4,16,1,1]",
      "involution2d: bn_weight_bytes=20 does not match the 16 bytes of [4]",
      "involution2d: bn_bias_bytes=20 does not match the 16 bytes of [4]",
      "involution2d: bn_running_mean_bytes=20 does not match the 16 bytes of [4]",
      "involution2d: bn_running_var_bytes=20 does not match the 16 bytes of [4]",
      "involution2d: span_weight_bytes=292 does not match the 288 bytes of [18,4,1,1]",
      "involution2d: span_bias_bytes=76 does not match the 72 bytes of [18]",
  };
  p = good;
  for (int i = 0; i < 7; i++) {
    b = module_sizes(&p);
    b.bytes[i] += 4;
    op = POISON;
    CHECK_STATUS(create_module(&p, &b, buffer_b, &op), INVALID, messages[i]);
    CHECK(op == NULL);
  }
  b = module_sizes(&p);
  CHECK_STATUS(ic_involution2d_create(&p, buffer_a, b.bytes[0], buffer_b, b.bytes[1], buffer_b,
                                      b.bytes[2], buffer_b, b.bytes[3], buffer_b, b.bytes[4],
                                      buffer_c, b.bytes[5], NULL, b.bytes[6], NULL, 0, NULL, 0, &op),
               INVALID, "involution2d: span_bias is NULL");
  /* A variance that makes var + eps non-positive would give NaN or infinite weights. */
  const float bad_var[4] = {1, 1, -2, 1};
  CHECK_STATUS(create_module(&p, &b, bad_var, &op), INVALID,
               "involution2d: bn_running_var[2]=-2 plus bn_epsilon=1e-05 is not positive");

  /* bn_epsilon = 0 is valid (as in PyTorch) while every variance is positive. */
  const float zero_var[4] = {1, 1, 0, 1};
  p.bn_epsilon = 0;
  CHECK_STATUS(create_module(&p, &b, zero_var, &op), INVALID,
               "involution2d: bn_running_var[2]=0 plus bn_epsilon=0 is not positive");
  const float positive_var[4] = {1, 0.5f, 2, 1};
  CHECK_OK(create_module(&p, &b, positive_var, &op));
  ic_involution2d_destroy(op);
  op = NULL;
  p = good;

  /* Run: stride 2 needs sizes that are multiples of 2. */
  CHECK_OK(create_module(&p, &b, buffer_b, &op));
  int64_t oh, ow;
  CHECK_STATUS(ic_involution2d_output_size(op, 7, 8, &oh, &ow), INVALID,
               "involution2d: in_h=7 is not a multiple of stride=2 (the pooled size 3 would "
               "differ from the output size 4)");
  CHECK_STATUS(ic_involution2d_output_size(op, 8, 5, &oh, &ow), INVALID,
               "involution2d: in_w=5 is not a multiple of stride=2 (the pooled size 2 would "
               "differ from the output size 3)");
  CHECK_OK(ic_involution2d_output_size(op, 8, 6, &oh, &ow));
  CHECK(oh == 4 && ow == 3);
  /* src [1,16,8,6] = 3072 bytes, dst [1,16,4,3] = 768 bytes */
  CHECK_OK(ic_involution2d_run(op, NULL, IC_LAYOUT_NHWC, 1, 8, 6, buffer_a, 3072, buffer_b, 768));
  CHECK_STATUS(ic_involution2d_run(op, NULL, IC_LAYOUT_NHWC, 1, 7, 6, buffer_a, 3072, buffer_b,
                                   768),
               INVALID, "involution2d: in_h=7 is not a multiple of stride=2");
  CHECK_STATUS(ic_involution2d_run(NULL, NULL, IC_LAYOUT_NHWC, 1, 8, 6, buffer_a, 3072, buffer_b,
                                   768),
               INVALID, "involution2d: op is NULL");
  CHECK_STATUS(ic_involution2d_run(op, NULL, IC_LAYOUT_NHWC, 1, 8, 6, buffer_a, 3068, buffer_b,
                                   768),
               INVALID, "involution2d: src_bytes=3068 is smaller than the 3072 bytes of "
                        "[1,16,8,6]");
  CHECK_STATUS(ic_involution2d_run(op, NULL, IC_LAYOUT_NHWC, 1, 8, 6, buffer_a, 3072, buffer_b,
                                   764),
               INVALID, "involution2d: dst_bytes=764 is smaller than the 768 bytes of [1,16,4,3]");
  CHECK_STATUS(ic_involution2d_run(op, NULL, IC_LAYOUT_NHWC, 1, 8, 6, buffer_a, 3072,
                                   buffer_a + 512, 768),
               INVALID, "involution2d: dst overlaps src");
  CHECK_STATUS(ic_involution2d_run(op, NULL, -1, 1, 8, 6, buffer_a, 3072, buffer_b, 768),
               INVALID, "involution2d: layout=-1 is not a valid");
  ic_involution2d_destroy(op);
}

/* The optional output affine: both or neither, [channels] each, no bytes without a buffer. */
static void test_involution2d_epilogue_errors(void) {
  const ic_involution2d_params_t p = {IC_DATATYPE_F32, IC_ACTIVATION_RELU, 16, 3, 1, 1, 8, 4,
                                      1e-5};
  for (int i = 0; i < 64; i++) buffer_b[i] = 1;
  const module_buffers_t b = module_sizes(&p);
  const size_t affine = 16 * sizeof(float);
  static const float scale[16] = {1};
  static const float shift[16] = {0};
  struct {
    const float* scale;
    size_t scale_bytes;
    const float* shift;
    size_t shift_bytes;
    const char* message;
  } cases[] = {
      {scale, affine, NULL, 0,
       "involution2d: out_scale and out_shift must be given together (out_scale is set, "
       "out_shift is NULL)"},
      {NULL, 0, shift, affine,
       "involution2d: out_scale and out_shift must be given together (out_scale is NULL, "
       "out_shift is set)"},
      {scale, affine - 4, shift, affine,
       "involution2d: out_scale_bytes=60 does not match the 64 bytes of [16]"},
      {scale, affine, shift, affine + 4,
       "involution2d: out_shift_bytes=68 does not match the 64 bytes of [16]"},
      {NULL, affine, NULL, 0, "involution2d: out_scale is NULL but out_scale_bytes=64 (must be 0)"},
      {NULL, 0, NULL, 8, "involution2d: out_shift is NULL but out_shift_bytes=8 (must be 0)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ic_involution2d_t* op = POISON;
    test_set_problem("involution2d epilogue expecting \"%s\"", cases[i].message);
    CHECK_STATUS(ic_involution2d_create(&p, buffer_a, b.bytes[0], buffer_b, b.bytes[1], buffer_b,
                                        b.bytes[2], buffer_b, b.bytes[3], buffer_b, b.bytes[4],
                                        buffer_c, b.bytes[5], buffer_c, b.bytes[6],
                                        cases[i].scale, cases[i].scale_bytes, cases[i].shift,
                                        cases[i].shift_bytes, &op),
                 INVALID, cases[i].message);
    CHECK(op == NULL);
  }
  ic_involution2d_t* op = NULL;
  CHECK_OK(ic_involution2d_create(&p, buffer_a, b.bytes[0], buffer_b, b.bytes[1], buffer_b,
                                  b.bytes[2], buffer_b, b.bytes[3], buffer_b, b.bytes[4], buffer_c,
                                  b.bytes[5], buffer_c, b.bytes[6], scale, affine, shift, affine,
                                  &op));
  ic_involution2d_destroy(op);
  ic_involution2d_params_t bad = p;
  bad.activation = -1;
  op = POISON;
  CHECK_STATUS(ic_involution2d_create(&bad, buffer_a, b.bytes[0], buffer_b, b.bytes[1], buffer_b,
                                      b.bytes[2], buffer_b, b.bytes[3], buffer_b, b.bytes[4],
                                      buffer_c, b.bytes[5], buffer_c, b.bytes[6], scale, affine,
                                      shift, affine, &op),
               INVALID,
               "involution2d: activation=-1 is not a valid ic_activation_t (0 none, 1 relu, "
               "2 relu6)");
  CHECK(op == NULL);
}

static ic_pool2d_params_t pool_params(void) {
  ic_pool2d_params_t p = {0};
  p.datatype = IC_DATATYPE_F32;
  p.pool = IC_POOL_MAX;
  p.channels = 4;
  p.kernel_h = p.kernel_w = 3;
  p.stride_h = p.stride_w = 2;
  return p;
}

static void expect_pool_error(const ic_pool2d_params_t* p, const char* text) {
  ic_pool2d_t* pool = POISON;
  test_set_problem("pool2d create expecting \"%s\"", text);
  CHECK_STATUS(ic_pool2d_create(p, &pool), INVALID, text);
  CHECK(pool == NULL);
}

static void test_pool2d_create_errors(void) {
  ic_pool2d_params_t p = pool_params();
  ic_pool2d_t* pool = POISON;
  CHECK_STATUS(ic_pool2d_create(NULL, &pool), INVALID, "pool2d: params is NULL");
  CHECK(pool == NULL);
  CHECK_STATUS(ic_pool2d_create(&p, NULL), INVALID, "pool2d: pool_out is NULL");

  p = pool_params(), p.datatype = 1;
  expect_pool_error(&p, "pool2d: datatype=1 is not a valid ic_datatype_t");
  p = pool_params(), p.pool = 2;
  expect_pool_error(&p, "pool2d: pool=2 is not a valid ic_pool_t (0 max, 1 average)");
  p = pool_params(), p.pool = -1;
  expect_pool_error(&p, "pool2d: pool=-1 is not a valid ic_pool_t");
  p = pool_params(), p.channels = 0;
  expect_pool_error(&p, "pool2d: channels=0 must be positive");
  p = pool_params(), p.kernel_h = 0;
  expect_pool_error(&p, "pool2d: kernel_h=0 must be positive");
  p = pool_params(), p.kernel_w = -3;
  expect_pool_error(&p, "pool2d: kernel_w=-3 must be positive");
  p = pool_params(), p.stride_h = 0;
  expect_pool_error(&p, "pool2d: stride_h=0 must be positive");
  p = pool_params(), p.stride_w = -1;
  expect_pool_error(&p, "pool2d: stride_w=-1 must be positive");
  p = pool_params(), p.padding = 4;
  expect_pool_error(&p, "pool2d: padding=4 is not a valid ic_padding_t");
  p = pool_params(), p.padding = IC_PADDING_SAME, p.pad_top = 1;
  expect_pool_error(&p, "pool2d: pad_top=1 must be 0 unless padding is IC_PADDING_EXPLICIT");
  p = pool_params(), p.padding = IC_PADDING_EXPLICIT, p.pad_right = -1;
  expect_pool_error(&p, "pool2d: pad_right=-1 must not be negative");
  p = pool_params(), p.pool = IC_POOL_AVERAGE, p.count_include_pad = 2;
  expect_pool_error(&p, "pool2d: count_include_pad=2 must be 0 or 1");
  p = pool_params(), p.count_include_pad = 1;
  expect_pool_error(&p, "pool2d: count_include_pad=1 must be 0 for max pooling");
  p = pool_params(), p.padding = IC_PADDING_EXPLICIT, p.pad_top = 3;
  expect_pool_error(&p, "pool2d: pad_top=3 must be less than kernel_h=3 (the first window would "
                        "lie entirely in padding)");
  p = pool_params(), p.padding = IC_PADDING_EXPLICIT, p.kernel_w = 2, p.pad_left = 5;
  expect_pool_error(&p, "pool2d: pad_left=5 must be less than kernel_w=2 (the first window would "
                        "lie entirely in padding)");
  p = pool_params(), p.kernel_h = INT64_MAX, p.padding = IC_PADDING_FULL;
  CHECK_OK(ic_pool2d_create(&p, &pool)); /* only an input can make it overflow */
  int64_t oh, ow;
  CHECK_STATUS(ic_pool2d_output_size(pool, 4, 4, &oh, &ow), INVALID,
               "pool2d: in_h=4 plus padding 9223372036854775806+9223372036854775806 overflows");
  ic_pool2d_destroy(pool);
}

static void test_pool2d_output_size_and_run_errors(void) {
  ic_pool2d_params_t p = pool_params();
  ic_pool2d_t* pool = NULL;
  CHECK_OK(ic_pool2d_create(&p, &pool));
  int64_t oh = 5, ow = 5;
  CHECK_STATUS(ic_pool2d_output_size(NULL, 4, 4, &oh, &ow), INVALID, "pool2d: pool is NULL");
  CHECK(oh == 0 && ow == 0);
  CHECK_STATUS(ic_pool2d_output_size(pool, 4, 4, NULL, &ow), INVALID,
               "pool2d: out_h_out is NULL");
  CHECK_STATUS(ic_pool2d_output_size(pool, 4, 4, &oh, NULL), INVALID,
               "pool2d: out_w_out is NULL");
  CHECK_STATUS(ic_pool2d_output_size(pool, 0, 4, &oh, &ow), INVALID,
               "pool2d: in_h=0 must be positive");
  CHECK_STATUS(ic_pool2d_output_size(pool, 2, 4, &oh, &ow), INVALID,
               "pool2d: the output height would be 0: in_h=2 plus padding 0+0 is less than the "
               "dilated kernel height 3 (kernel_h=3, dilation_h=1)");
  CHECK_OK(ic_pool2d_output_size(pool, 7, 8, &oh, &ow));
  CHECK(oh == 3 && ow == 3);

  /* [1,4,7,8] in, [1,4,3,3] out: 896 and 144 bytes. */
  float* src = buffer_a;
  float* dst = buffer_b;
  const int32_t nchw = IC_LAYOUT_NCHW;
  for (int i = 0; i < 36; i++) dst[i] = -1;
  CHECK_STATUS(ic_pool2d_run(NULL, NULL, nchw, 1, 7, 8, src, 896, dst, 144), INVALID,
               "pool2d: pool is NULL");
  CHECK_STATUS(ic_pool2d_run(pool, NULL, 5, 1, 7, 8, src, 896, dst, 144), INVALID,
               "pool2d: layout=5 is not a valid ic_layout_t (0 NCHW, 1 NHWC)");
  CHECK_STATUS(ic_pool2d_run(pool, NULL, nchw, 0, 7, 8, src, 896, dst, 144), INVALID,
               "pool2d: batch=0 must be positive");
  CHECK_STATUS(ic_pool2d_run(pool, NULL, nchw, 1, 7, -8, src, 896, dst, 144), INVALID,
               "pool2d: in_w=-8 must be positive");
  CHECK_STATUS(ic_pool2d_run(pool, NULL, nchw, 1, 7, 8, NULL, 896, dst, 144), INVALID,
               "pool2d: src is NULL");
  CHECK_STATUS(ic_pool2d_run(pool, NULL, nchw, 1, 7, 8, src, 892, dst, 144), INVALID,
               "pool2d: src_bytes=892 is smaller than the 896 bytes of [1,4,7,8]");
  CHECK_STATUS(ic_pool2d_run(pool, NULL, nchw, 1, 7, 8, src, 896, NULL, 144), INVALID,
               "pool2d: dst is NULL");
  CHECK_STATUS(ic_pool2d_run(pool, NULL, nchw, 1, 7, 8, src, 896, dst, 140), INVALID,
               "pool2d: dst_bytes=140 is smaller than the 144 bytes of [1,4,3,3]");
  CHECK_STATUS(ic_pool2d_run(pool, NULL, nchw, 1, 7, 8, src, 896, src + 100, 144), INVALID,
               "pool2d: dst overlaps src");
  CHECK_STATUS(ic_pool2d_run(pool, NULL, nchw, 1, 7, 8, src, 896, (char*)dst + 1, 144), INVALID,
               "pool2d: dst=0x");
  CHECK_STATUS(ic_pool2d_run(pool, NULL, nchw, INT64_MAX / 4, 7, 8, src, 896, dst, 144), INVALID,
               "pool2d: the size of src [2305843009213693951,4,7,8] overflows");
  CHECK(dst[0] == -1 && dst[35] == -1); /* untouched by every refused run */
  CHECK_OK(ic_pool2d_run(pool, NULL, nchw, 1, 7, 8, src, 896, dst, 144));
  ic_pool2d_destroy(pool);

  /* The last window in the bottom/right padding depends on the input: refused there. */
  p = pool_params();
  p.pool = IC_POOL_AVERAGE;
  p.kernel_h = p.kernel_w = 2;
  p.stride_h = p.stride_w = 1;
  p.padding = IC_PADDING_EXPLICIT;
  p.pad_bottom = 2;
  CHECK_OK(ic_pool2d_create(&p, &pool));
  CHECK_STATUS(ic_pool2d_output_size(pool, 5, 5, &oh, &ow), INVALID,
               "pool2d: the window of the last output row (input rows 5 to 6) lies entirely in "
               "padding: in_h=5 with pad_bottom=2, kernel_h=2, stride_h=1");
  CHECK(oh == 0 && ow == 0);
  CHECK_STATUS(ic_pool2d_run(pool, NULL, nchw, 1, 5, 5, src, 4096, dst, 4096), INVALID,
               "lies entirely in padding");
  ic_pool2d_destroy(pool);
  p.pad_bottom = 0;
  p.stride_w = 3;
  p.pad_right = 3; /* kernel 2: in_w 5 gives windows 0-1, 3-4, 6-7 (entirely padding) */
  CHECK_OK(ic_pool2d_create(&p, &pool));
  CHECK_STATUS(ic_pool2d_output_size(pool, 4, 5, &oh, &ow), INVALID,
               "pool2d: the window of the last output column (input columns 6 to 7) lies "
               "entirely in padding: in_w=5 with pad_right=3, kernel_w=2, stride_w=3");
  CHECK_OK(ic_pool2d_output_size(pool, 4, 4, &oh, &ow)); /* in_w 4: windows 0-1 and 3-4 */
  CHECK(oh == 3 && ow == 2);
  ic_pool2d_destroy(pool);
}

static void test_global_average_pool_errors(void) {
  float* src = buffer_a;
  float* dst = buffer_b;
  const int32_t nhwc = IC_LAYOUT_NHWC;
  for (int i = 0; i < 8; i++) dst[i] = -1;
  /* [2,4,3,3] in (288 bytes), [2,4,1,1] out (32 bytes). */
  CHECK_STATUS(ic_global_average_pool_run(NULL, 7, 2, 4, 3, 3, src, 288, dst, 32), INVALID,
               "global_average_pool: layout=7 is not a valid ic_layout_t");
  CHECK_STATUS(ic_global_average_pool_run(NULL, nhwc, 0, 4, 3, 3, src, 288, dst, 32), INVALID,
               "global_average_pool: batch=0 must be positive");
  CHECK_STATUS(ic_global_average_pool_run(NULL, nhwc, 2, -4, 3, 3, src, 288, dst, 32), INVALID,
               "global_average_pool: channels=-4 must be positive");
  CHECK_STATUS(ic_global_average_pool_run(NULL, nhwc, 2, 4, 0, 3, src, 288, dst, 32), INVALID,
               "global_average_pool: in_h=0 must be positive");
  CHECK_STATUS(ic_global_average_pool_run(NULL, nhwc, 2, 4, 3, 0, src, 288, dst, 32), INVALID,
               "global_average_pool: in_w=0 must be positive");
  CHECK_STATUS(ic_global_average_pool_run(NULL, nhwc, 2, 4, 3, 3, NULL, 288, dst, 32), INVALID,
               "global_average_pool: src is NULL");
  CHECK_STATUS(ic_global_average_pool_run(NULL, nhwc, 2, 4, 3, 3, src, 284, dst, 32), INVALID,
               "global_average_pool: src_bytes=284 is smaller than the 288 bytes of [2,4,3,3]");
  CHECK_STATUS(ic_global_average_pool_run(NULL, nhwc, 2, 4, 3, 3, src, 288, NULL, 32), INVALID,
               "global_average_pool: dst is NULL");
  CHECK_STATUS(ic_global_average_pool_run(NULL, nhwc, 2, 4, 3, 3, src, 288, dst, 28), INVALID,
               "global_average_pool: dst_bytes=28 is smaller than the 32 bytes of [2,4,1,1]");
  CHECK_STATUS(ic_global_average_pool_run(NULL, nhwc, 2, 4, 3, 3, src, 288, src + 64, 32),
               INVALID, "global_average_pool: dst overlaps src");
  CHECK_STATUS(ic_global_average_pool_run(NULL, nhwc, 1, INT64_MAX / 2, 3, 3, src, 288, dst, 32),
               INVALID, "global_average_pool: the size of src [1,4611686018427387903,3,3] "
                        "overflows");
  CHECK(dst[0] == -1 && dst[7] == -1);
  CHECK_OK(ic_global_average_pool_run(NULL, nhwc, 2, 4, 3, 3, src, 288, dst, 32));
}

static void test_peak_errors(void) {
  double gflops = -1;
  CHECK_STATUS(ic_measure_peak_gflops(NULL, 0.5, NULL), INVALID,
               "ic_measure_peak_gflops: gflops_out is NULL");
  CHECK_STATUS(ic_measure_peak_gflops(NULL, 0.01, &gflops), INVALID,
               "ic_measure_peak_gflops: seconds=0.01 must be between 0.05 and 10");
  CHECK(gflops == 0);
  CHECK_STATUS(ic_measure_peak_gflops(NULL, 11, &gflops), INVALID,
               "ic_measure_peak_gflops: seconds=11 must be between 0.05 and 10");
  CHECK_STATUS(ic_measure_peak_gflops(NULL, -1, &gflops), INVALID, "seconds=-1");
  CHECK_STATUS(ic_measure_peak_gflops(NULL, NAN, &gflops), INVALID, "seconds=nan");
  CHECK_STATUS(ic_measure_peak_gflops(NULL, INFINITY, &gflops), INVALID, "seconds=inf");

  double gbps = -1;
  CHECK_STATUS(ic_measure_bandwidth_gbps(NULL, 0.5, NULL), INVALID,
               "ic_measure_bandwidth_gbps: gbps_out is NULL");
  CHECK_STATUS(ic_measure_bandwidth_gbps(NULL, 0.01, &gbps), INVALID,
               "ic_measure_bandwidth_gbps: seconds=0.01 must be between 0.05 and 10");
  CHECK(gbps == 0);
  CHECK_STATUS(ic_measure_bandwidth_gbps(NULL, NAN, &gbps), INVALID, "seconds=nan");
  /* A real measurement, single-threaded (NULL context): positive and plausible. */
  CHECK_OK(ic_measure_bandwidth_gbps(NULL, 0.05, &gbps));
  CHECK_MSG(gbps > 0.1 && gbps < 2000, "bandwidth %g GB/s", gbps);
}

static void test_context_and_isa_errors(void) {
  ic_context_t* context = POISON;
  CHECK_STATUS(ic_context_create(-1, &context), INVALID,
               "context: num_threads=-1 must be positive, or 0 for one per online CPU");
  CHECK(context == NULL);
  context = POISON;
  CHECK_STATUS(ic_context_create(5000, &context), INVALID,
               "context: num_threads=5000 exceeds the limit of 1024");
  CHECK(context == NULL);
  CHECK_STATUS(ic_context_create(2, NULL), INVALID, "context: context_out is NULL");
  CHECK_STATUS(ic_set_max_isa((ic_isa_t)3), INVALID,
               "ic_set_max_isa: isa=3 is not a valid ic_isa_t");
  CHECK_STATUS(ic_set_max_isa((ic_isa_t)-1), INVALID,
               "ic_set_max_isa: isa=-1 is not a valid ic_isa_t");
}

/* The message stays until the next failure; a success does not clear it. */
static void test_last_error_is_thread_local_and_sticky(void) {
  ic_context_t* context = NULL;
  CHECK_STATUS(ic_context_create(-2, &context), INVALID, "num_threads=-2");
  CHECK_OK(ic_context_create(1, &context));
  CHECK(strstr(ic_last_error(), "num_threads=-2") != NULL);
  ic_context_destroy(context);
}

int main(int argc, char** argv) {
  test_init(argc, argv, 1);
  RUN_TEST(test_conv2d_create_errors);
  RUN_TEST(test_conv2d_huge_dilation);
  RUN_TEST(test_conv2d_output_size_errors);
  RUN_TEST(test_conv2d_run_errors);
  RUN_TEST(test_separable_errors);
  RUN_TEST(test_involution_aggregate_errors);
  RUN_TEST(test_involution2d_errors);
  RUN_TEST(test_involution2d_epilogue_errors);
  RUN_TEST(test_pool2d_create_errors);
  RUN_TEST(test_pool2d_output_size_and_run_errors);
  RUN_TEST(test_global_average_pool_errors);
  RUN_TEST(test_peak_errors);
  RUN_TEST(test_context_and_isa_errors);
  RUN_TEST(test_last_error_is_thread_local_and_sticky);
  return test_finish();
}
