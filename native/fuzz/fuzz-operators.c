/*
 * libFuzzer target for the whole public API: random parameters (mostly plausible, sometimes
 * wild: huge, far, zero, negative, overflowing), random input and buffer sizes, into create /
 * output_size / run of every operator (conv2d, separable, involution aggregation and module,
 * pool2d, conv2d then pool2d in one pass, global average pooling, layout conversion), with no
 * context or a shared 3-thread one.
 *
 * Oracles, beyond ASan/UBSan finding no fault:
 *   - conv2d create succeeds exactly when an independent check of the rules says it should;
 *   - a failed call leaves a message and *_out NULL;
 *   - conv2d output_size agrees with SPEC §3.1 computed independently (for images and
 *     kernels of up to 4096 pixels and strides, reaches and paddings up to 2^60);
 *   - pool2d create and output_size succeed exactly when the rules (windows holding an
 *     element included) say so; involution2d create accepts exactly activations 0..2 and the
 *     output affine given whole or not at all;
 *   - a run with correctly sized buffers succeeds (for the sizes above, windows reaching far
 *     beyond the image included); conv2d, the involution aggregation, pool2d
 *     and global average pooling match the float64 reference within the SPEC bound, and
 *     Involution2d with an output affine and activation is exactly act(scale * y + shift) of
 *     the same module without them; a layout conversion puts every element in its place;
 *   - conv2d_pool2d check fails exactly for sizes or channels that do not fit, the run
 *     answers as check does, and where it succeeds it gives the bits of the two runs apart.
 * A violated oracle traps; libFuzzer then saves the input that caused it.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

#define ORACLE(condition)               \
  do {                                  \
    if (!(condition)) __builtin_trap(); \
  } while (0)

/* Bounds that keep one input fast: tensors of at most MAX_ELEMENTS, runs of MAX_WORK MACs. */
enum { MAX_ELEMENTS = 1 << 14, MAX_WORK = 1 << 20 };

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

/* Mostly a value in [lo, hi]; sometimes zero or negative, sometimes any 64-bit value, and
 * sometimes a far one, 2^40 to 2^60 (plus 0..3): strides, dilations and paddings that take
 * windows far beyond a small image, which real runs then take. */
static int64_t take_dim(reader_t* r, int64_t lo, int64_t hi) {
  const uint64_t selector = take(r, 1) % 32;
  if (selector == 31) return (int64_t)take(r, 8);
  if (selector == 30) return -(int64_t)(take(r, 1) % 4);
  if (selector == 29) return (INT64_C(1) << (40 + take(r, 1) % 21)) + (int64_t)(take(r, 1) % 4);
  return lo + (int64_t)(take(r, 1) % (uint64_t)(hi - lo + 1));
}

static bool in_range(int64_t v, int64_t lo, int64_t hi) { return v >= lo && v <= hi; }

/* Real runs, checked against the references: images and kernels of at most SMALL pixels (the
 * references visit every tap), strides, dilated kernel reaches and paddings of at most FAR
 * (2^60), whose sums the references and output sizes compute without overflow. */
enum { SMALL = 4096 };
#define FAR (INT64_C(1) << 60)

static bool far_ok(int64_t v) { return v <= FAR; }

/* Dilated reach (kernel - 1) * dilation within FAR, for a validated kernel and dilation. */
static bool reach_ok(int64_t kernel, int64_t dilation) {
  return kernel <= SMALL && kernel - 1 <= FAR / dilation;
}

static bool conv_runnable(const ic_conv2d_params_t* p, int64_t in_h, int64_t in_w) {
  return in_range(in_h, 1, SMALL) && in_range(in_w, 1, SMALL) &&
         reach_ok(p->kernel_h, p->dilation_h) && reach_ok(p->kernel_w, p->dilation_w) &&
         far_ok(p->stride_h) && far_ok(p->stride_w) && far_ok(p->pad_top) &&
         far_ok(p->pad_left) && far_ok(p->pad_bottom) && far_ok(p->pad_right);
}

/* Pools' paddings stay SMALL: the reference looks at every window of the output. */
static bool pool_runnable(const ic_pool2d_params_t* p, int64_t in_h, int64_t in_w) {
  return in_range(in_h, 1, SMALL) && in_range(in_w, 1, SMALL) && p->kernel_h <= SMALL &&
         p->kernel_w <= SMALL && p->pad_top <= SMALL && p->pad_left <= SMALL &&
         p->pad_bottom <= SMALL && p->pad_right <= SMALL && far_ok(p->stride_h) &&
         far_ok(p->stride_w);
}

/* Mostly 0, sometimes a small other value (datatype, flags, reserved). */
static int32_t take_mostly_zero(reader_t* r) {
  const uint64_t v = take(r, 1);
  return v < 248 ? 0 : (int32_t)(v % 5) - 2;
}


/* a * b, or a when that overflows (the fuzzer must not overflow itself). */
static int64_t times(int64_t a, int64_t b) {
  int64_t product;
  return __builtin_mul_overflow(a, b, &product) ? a : product;
}

/* Product of dims, or -1 if a dim or the product leaves [1, MAX_ELEMENTS]. */
static int64_t elements(const int64_t* dims, int rank) {
  int64_t count = 1;
  for (int i = 0; i < rank; i++) {
    if (!in_range(dims[i], 1, MAX_ELEMENTS)) return -1;
    count *= dims[i];
    if (count > MAX_ELEMENTS) return -1;
  }
  return count;
}

static float* make_floats(reader_t* r, int64_t count) {
  float* data = xfloats((size_t)(count > 0 ? count : 1));
  for (int64_t i = 0; i < count; i++) data[i] = (float)((int)take(r, 1) - 128) / 64.0f;
  return data;
}

static ic_context_t* shared_context;

static ic_context_t* pick_context(reader_t* r) {
  return take(r, 1) % 2 ? shared_context : NULL;
}

static void check_failure(ic_status_t status, const void* out) {
  if (status != IC_STATUS_SUCCESS) ORACLE(out == NULL && ic_last_error()[0] != '\0');
}

/* y (in layout) against the NCHW float64 reference. */
static void check_against(const float* y, int32_t layout, const int64_t* dims, const double* ref,
                          const double* m, int32_t activation) {
  const int64_t n = dims[0], c = dims[1], h = dims[2], w = dims[3];
  float* nchw = xfloats((size_t)(n * c * h * w));
  if (layout == IC_LAYOUT_NHWC) {
    nhwc_to_nchw(nchw, y, n, c, h, w);
  } else {
    memcpy(nchw, y, (size_t)(n * c * h * w) * sizeof(float));
  }
  for (int64_t i = 0; i < n * c * h * w; i++) {
    const double expected = ref_activate(ref[i], activation);
    ORACLE(fabs((double)nchw[i] - expected) <= 1e-5 * m[i] + 1e-6);
  }
  free(nchw);
}

static float* nchw_copy(const float* data, int32_t layout, const int64_t* dims) {
  const int64_t count = dims[0] * dims[1] * dims[2] * dims[3];
  float* copy = xfloats((size_t)count);
  if (layout == IC_LAYOUT_NHWC) {
    nhwc_to_nchw(copy, data, dims[0], dims[1], dims[2], dims[3]);
  } else {
    memcpy(copy, data, (size_t)count * sizeof(float));
  }
  return copy;
}

/* ---------------------------------------------------------------------------------------------
 * conv2d
 * ------------------------------------------------------------------------------------------- */

static bool conv_rules_hold(const ic_conv2d_params_t* p) {
  if (p->datatype != 0 || (p->flags & ~IC_CONV2D_WINOGRAD) != 0) return false;
  if (p->in_channels < 1 || p->out_channels < 1 || p->groups < 1) return false;
  if (p->in_channels % p->groups != 0 || p->out_channels % p->groups != 0) return false;
  const int64_t positive[] = {p->kernel_h, p->kernel_w, p->stride_h, p->stride_w, p->dilation_h,
                              p->dilation_w};
  for (int i = 0; i < 6; i++) {
    if (positive[i] < 1) return false;
  }
  if (!in_range(p->padding, 0, 3) || !in_range(p->activation, 0, 2)) return false;
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

/* Conv2d parameters: mostly plausible, sometimes wild. */
static ic_conv2d_params_t take_conv_params(reader_t* r) {
  ic_conv2d_params_t p = {0};
  p.datatype = take_mostly_zero(r);
  p.flags = take_mostly_zero(r);
  p.groups = take_dim(r, 1, 3);
  p.in_channels = times(take_dim(r, 1, 3), in_range(p.groups, 1, 64) ? p.groups : 1);
  p.out_channels = times(take_dim(r, 1, 3), in_range(p.groups, 1, 64) ? p.groups : 1);
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
  return p;
}

static void fuzz_conv2d(reader_t* r) {
  const ic_conv2d_params_t p = take_conv_params(r);
  const bool valid = conv_rules_hold(&p);
  int64_t w_count = -1;
  if (valid) {
    const int64_t dims[4] = {p.out_channels, p.in_channels / p.groups, p.kernel_h, p.kernel_w};
    w_count = elements(dims, 4);
  }
  /* Right-sized weights when the shape allows, otherwise a buffer that cannot be right. */
  const bool right_size = w_count > 0 && take(r, 1) % 16 != 0;
  const int64_t passed = right_size ? w_count : (w_count > 0 ? w_count + 1 : 3);
  float* w = make_floats(r, passed);
  const bool with_bias = take(r, 1) % 2 && in_range(p.out_channels, 1, MAX_ELEMENTS);
  float* bias = with_bias ? make_floats(r, p.out_channels) : NULL;

  ic_conv2d_t* conv = (ic_conv2d_t*)(uintptr_t)sizeof(float);
  const ic_status_t status =
      ic_conv2d_create(&p, w, (size_t)passed * sizeof(float), bias,
                       bias ? (size_t)p.out_channels * sizeof(float) : 0, &conv);
  check_failure(status, conv);
  /* w_count < 0 with valid rules means a huge but consistent shape: we never pass it right. */
  ORACLE((status == IC_STATUS_SUCCESS) == (valid && right_size));
  if (conv == NULL) {
    free(w), free(bias);
    return;
  }

  const int64_t batch = take_dim(r, 1, 3), in_h = take_dim(r, 1, 12), in_w = take_dim(r, 1, 12);
  int64_t out_h = -1, out_w = -1;
  const ic_status_t size_status = ic_conv2d_output_size(conv, in_h, in_w, &out_h, &out_w);
  const bool moderate = conv_runnable(&p, in_h, in_w);
  ref_window_t win = {0, 0, 0, 0};
  if (moderate) {
    const bool fits = ref_conv2d_window(&p, in_h, in_w, &win);
    ORACLE((size_status == IC_STATUS_SUCCESS) == fits);
    if (fits) ORACLE(out_h == win.out_h && out_w == win.out_w);
  }
  const int64_t x_dims[4] = {batch, p.in_channels, in_h, in_w};
  const int64_t y_dims[4] = {batch, p.out_channels, out_h, out_w};
  const int64_t x_count = elements(x_dims, 4);
  const int64_t y_count = size_status == IC_STATUS_SUCCESS ? elements(y_dims, 4) : -1;
  if (moderate && x_count > 0 && y_count > 0 &&
      y_count * (p.in_channels / p.groups) * p.kernel_h * p.kernel_w <= MAX_WORK) {
    const int32_t layout = (int32_t)(take(r, 1) % 2);
    const int residual_mode = (int)(take(r, 1) % 3); /* none, separate, aliasing dst */
    float* x = make_floats(r, x_count);
    float* residual = residual_mode ? make_floats(r, y_count) : NULL;
    float* dst = xfloats((size_t)y_count);
    if (residual_mode == 2) memcpy(dst, residual, (size_t)y_count * sizeof(float));
    const float* residual_arg = residual_mode == 2 ? dst : residual;

    double* xd = NULL;
    double* rd = NULL;
    {
      float* x_nchw = nchw_copy(x, layout, x_dims);
      xd = to_doubles(x_nchw, (size_t)x_count);
      free(x_nchw);
      if (residual) {
        float* r_nchw = nchw_copy(residual, layout, y_dims);
        rd = to_doubles(r_nchw, (size_t)y_count);
        free(r_nchw);
      }
    }
    ORACLE(ic_conv2d_run(conv, pick_context(r), layout, batch, in_h, in_w, x,
                         (size_t)x_count * sizeof(float), residual_arg,
                         residual ? (size_t)y_count * sizeof(float) : 0, dst,
                         (size_t)y_count * sizeof(float)) == IC_STATUS_SUCCESS);
    double* wd = to_doubles(w, (size_t)w_count);
    double* bd = to_doubles(bias, bias ? (size_t)p.out_channels : 0);
    double* ref = xdoubles((size_t)y_count);
    double* mag = xdoubles((size_t)y_count);
    ref_conv2d(&p, batch, in_h, in_w, xd, wd, bd, rd, ref, mag);
    check_against(dst, layout, y_dims, ref, mag, p.activation);
    free(x), free(residual), free(dst), free(xd), free(rd), free(wd), free(bd), free(ref);
    free(mag);
  } else if (size_status == IC_STATUS_SUCCESS && take(r, 1) % 4 == 0) {
    /* Too big to run for real: hand in tiny buffers, which must be refused untouched. */
    float tiny[4] = {1, 2, 3, 4};
    float out[4] = {5, 6, 7, 8};
    const ic_status_t run_status = ic_conv2d_run(conv, NULL, 0, batch, in_h, in_w, tiny,
                                                 sizeof tiny, NULL, 0, out, sizeof out);
    if (run_status != IC_STATUS_SUCCESS) ORACLE(out[0] == 5 && out[3] == 8);
  }
  ic_conv2d_destroy(conv);
  free(w), free(bias);
}

/* ---------------------------------------------------------------------------------------------
 * separable conv2d
 * ------------------------------------------------------------------------------------------- */

static void fuzz_separable(reader_t* r) {
  ic_separable_conv2d_params_t p = {0};
  p.datatype = take_mostly_zero(r);
  p.padding = (int32_t)(take(r, 1) % 5);
  p.depthwise_activation = (int32_t)(take(r, 1) % 4);
  p.activation = (int32_t)(take(r, 1) % 4);
  p.in_channels = take_dim(r, 1, 6);
  p.depth_multiplier = take_dim(r, 1, 3);
  p.out_channels = take_dim(r, 1, 6);
  p.kernel_h = take_dim(r, 1, 5), p.kernel_w = take_dim(r, 1, 5);
  p.stride_h = take_dim(r, 1, 3), p.stride_w = take_dim(r, 1, 3);
  p.dilation_h = take_dim(r, 1, 2), p.dilation_w = take_dim(r, 1, 2);
  if (p.padding == IC_PADDING_EXPLICIT) {
    p.pad_top = take_dim(r, 0, 2), p.pad_left = take_dim(r, 0, 2);
    p.pad_bottom = take_dim(r, 0, 2), p.pad_right = take_dim(r, 0, 2);
  }
  const int64_t dwc = in_range(p.in_channels, 1, 64) && in_range(p.depth_multiplier, 1, 64)
                          ? p.in_channels * p.depth_multiplier
                          : -1;
  const int64_t dw_dims[4] = {dwc, 1, p.kernel_h, p.kernel_w};
  const int64_t pw_dims[4] = {p.out_channels, dwc, 1, 1};
  const int64_t dw_count = elements(dw_dims, 4), pw_count = elements(pw_dims, 4);
  const int64_t dw_passed = dw_count > 0 ? dw_count : 2, pw_passed = pw_count > 0 ? pw_count : 2;
  float* dw = make_floats(r, dw_passed);
  float* pw = make_floats(r, pw_passed);
  float* dwb = dwc > 0 && take(r, 1) % 2 ? make_floats(r, dwc) : NULL;
  float* pwb = pw_count > 0 && take(r, 1) % 2 ? make_floats(r, p.out_channels) : NULL;
  ic_separable_conv2d_t* conv = (ic_separable_conv2d_t*)(uintptr_t)sizeof(float);
  const ic_status_t status = ic_separable_conv2d_create(
      &p, dw, (size_t)dw_passed * sizeof(float), dwb, dwb ? (size_t)dwc * sizeof(float) : 0, pw,
      (size_t)pw_passed * sizeof(float), pwb, pwb ? (size_t)p.out_channels * sizeof(float) : 0,
      &conv);
  check_failure(status, conv);
  if (status == IC_STATUS_SUCCESS) ORACLE(dw_count > 0 && pw_count > 0);
  if (conv != NULL) {
    const int64_t batch = take_dim(r, 1, 2), in_h = take_dim(r, 1, 12);
    const int64_t in_w = take_dim(r, 1, 12);
    int64_t out_h = -1, out_w = -1;
    if (ic_separable_conv2d_output_size(conv, in_h, in_w, &out_h, &out_w) == IC_STATUS_SUCCESS) {
      const int64_t x_dims[4] = {batch, p.in_channels, in_h, in_w};
      const int64_t y_dims[4] = {batch, p.out_channels, out_h, out_w};
      const int64_t mid_dims[4] = {batch, dwc, out_h, out_w};
      const int64_t x_count = elements(x_dims, 4), y_count = elements(y_dims, 4);
      if (x_count > 0 && y_count > 0 && elements(mid_dims, 4) > 0 &&
          elements(mid_dims, 4) * p.kernel_h * p.kernel_w <= MAX_WORK) {
        float* x = make_floats(r, x_count);
        float* y = xfloats((size_t)y_count);
        ORACLE(ic_separable_conv2d_run(conv, pick_context(r), (int32_t)(take(r, 1) % 2), batch,
                                       in_h, in_w, x, (size_t)x_count * sizeof(float), y,
                                       (size_t)y_count * sizeof(float)) == IC_STATUS_SUCCESS);
        free(x), free(y);
      }
    }
  }
  ic_separable_conv2d_destroy(conv);
  free(dw), free(pw), free(dwb), free(pwb);
}

/* ---------------------------------------------------------------------------------------------
 * involution
 * ------------------------------------------------------------------------------------------- */

/* Channels per group: 1..most, or 8 and 16, which take the blocked SIMD paths (AVX2, AVX-512). */
static int64_t take_group_channels(reader_t* r, int64_t most) {
  const int64_t g = take_dim(r, 1, most + 2);
  return g == most + 1 ? 8 : g == most + 2 ? 16 : g;
}

static void fuzz_aggregate(reader_t* r) {
  ic_involution_params_t p = {0};
  p.datatype = take_mostly_zero(r);
  p.reserved = take_mostly_zero(r);
  p.group_channels = take_group_channels(r, 5);
  p.channels = times(take_dim(r, 1, 3), in_range(p.group_channels, 1, 64) ? p.group_channels : 1);
  p.kernel_size = take_dim(r, 1, 7);
  p.stride = take_dim(r, 1, 3);
  p.dilation = take_dim(r, 1, 2);
  ic_involution_aggregate_t* op = (ic_involution_aggregate_t*)(uintptr_t)sizeof(float);
  const ic_status_t status = ic_involution_aggregate_create(&p, &op);
  check_failure(status, op);
  if (status == IC_STATUS_SUCCESS) ORACLE(p.kernel_size % 2 == 1);
  if (op == NULL) return;
  const int64_t batch = take_dim(r, 1, 2), in_h = take_dim(r, 1, 10), in_w = take_dim(r, 1, 10);
  int64_t oh = -1, ow = -1;
  if (ic_involution_aggregate_output_size(op, in_h, in_w, &oh, &ow) == IC_STATUS_SUCCESS &&
      in_range(p.kernel_size, 1, 15) && in_range(p.dilation, 1, FAR / 8) &&
      far_ok(p.stride)) {
    int64_t eh, ew;
    ref_involution_output(&p, in_h, in_w, &eh, &ew);
    ORACLE(eh == oh && ew == ow);
    const int64_t kc = p.channels / p.group_channels * p.kernel_size * p.kernel_size;
    const int64_t x_dims[4] = {batch, p.channels, in_h, in_w};
    const int64_t k_dims[4] = {batch, kc, oh, ow};
    const int64_t y_dims[4] = {batch, p.channels, oh, ow};
    const int64_t xn = elements(x_dims, 4), kn = elements(k_dims, 4), yn = elements(y_dims, 4);
    if (xn > 0 && kn > 0 && yn > 0) {
      const int32_t layout = (int32_t)(take(r, 1) % 2);
      float* x = make_floats(r, xn);
      float* k = make_floats(r, kn);
      float* y = xfloats((size_t)yn);
      ORACLE(ic_involution_aggregate_run(op, pick_context(r), layout, batch, in_h, in_w, x,
                                         (size_t)xn * sizeof(float), k,
                                         (size_t)kn * sizeof(float), y,
                                         (size_t)yn * sizeof(float)) == IC_STATUS_SUCCESS);
      float* x_nchw = nchw_copy(x, layout, x_dims);
      float* k_nchw = nchw_copy(k, layout, k_dims);
      double* xd = to_doubles(x_nchw, (size_t)xn);
      double* kd = to_doubles(k_nchw, (size_t)kn);
      double* ref = xdoubles((size_t)yn);
      double* mag = xdoubles((size_t)yn);
      ref_involution_aggregate(&p, batch, in_h, in_w, xd, kd, ref, mag);
      check_against(y, layout, y_dims, ref, mag, IC_ACTIVATION_NONE);
      free(x), free(k), free(y), free(x_nchw), free(k_nchw), free(xd), free(kd), free(ref);
      free(mag);
    }
  }
  ic_involution_aggregate_destroy(op);
}

static void fuzz_involution2d(reader_t* r) {
  ic_involution2d_params_t p = {0};
  p.datatype = take_mostly_zero(r);
  p.activation = (int32_t)(take(r, 1) % 8 == 0 ? take(r, 1) % 5 - 1 : take(r, 1) % 3);
  p.group_channels = take_group_channels(r, 4);
  p.channels = times(take_dim(r, 1, 3), in_range(p.group_channels, 1, 64) ? p.group_channels : 1);
  p.kernel_size = take_dim(r, 1, 5);
  p.stride = take_dim(r, 1, 3);
  p.dilation = take_dim(r, 1, 2);
  p.reduction_ratio = take_dim(r, 1, 4);
  const uint64_t eps = take(r, 1);
  p.bn_epsilon = eps < 240 ? 1e-5 : eps == 250 ? NAN : eps == 251 ? INFINITY : -(double)eps;
  const int64_t reduced = in_range(p.reduction_ratio, 1, MAX_ELEMENTS) &&
                                  in_range(p.channels, 1, MAX_ELEMENTS)
                              ? p.channels / p.reduction_ratio
                              : -1;
  const int64_t kc = in_range(p.group_channels, 1, MAX_ELEMENTS) &&
                             in_range(p.kernel_size, 1, 64) && in_range(p.channels, 1, MAX_ELEMENTS)
                         ? p.channels / p.group_channels * p.kernel_size * p.kernel_size
                         : -1;
  const int64_t r_dims[2] = {reduced, p.channels}, s_dims[2] = {kc, reduced};
  const int64_t n0 = elements(r_dims, 2), n1 = elements(s_dims, 2);
  const int64_t nr = reduced > 0 ? reduced : 1, nk = kc > 0 ? kc : 1;
  float* w0 = make_floats(r, n0 > 0 ? n0 : 1);
  float* bn = make_floats(r, nr);
  float* var = make_floats(r, nr);
  for (int64_t i = 0; i < nr; i++) var[i] = fabsf(var[i]) + (take(r, 1) % 16 == 0 ? -3.0f : 0.1f);
  float* w1 = make_floats(r, n1 > 0 ? n1 : 1);
  float* b1 = make_floats(r, nk);
  const size_t f = sizeof(float);
  /* The output affine: none, both right, one missing, or a wrong size. */
  const int affine_mode = (int)(take(r, 1) % 8); /* 0-3 none, 4-5 both, 6 scale only, 7 short */
  const int64_t nc = in_range(p.channels, 1, MAX_ELEMENTS) ? p.channels : 1;
  float* scale = affine_mode >= 4 ? make_floats(r, nc) : NULL;
  float* shift = affine_mode >= 4 && affine_mode != 6 ? make_floats(r, nc) : NULL;
  const size_t affine_bytes = (size_t)nc * f - (affine_mode == 7 ? f : 0);
  ic_involution2d_t* op = (ic_involution2d_t*)(uintptr_t)sizeof(float);
  const ic_status_t status = ic_involution2d_create(
      &p, w0, (size_t)(n0 > 0 ? n0 : 1) * f, bn, (size_t)nr * f, bn, (size_t)nr * f, bn,
      (size_t)nr * f, var, (size_t)nr * f, w1, (size_t)(n1 > 0 ? n1 : 1) * f, b1, (size_t)nk * f,
      scale, scale ? affine_bytes : 0, shift, shift ? (size_t)nc * f : 0, &op);
  check_failure(status, op);
  if (!in_range(p.activation, 0, 2) || affine_mode >= 6) ORACLE(status != IC_STATUS_SUCCESS);
  /* The same module without the epilogue: the reference for it. */
  ic_involution2d_t* plain = NULL;
  if (op != NULL && (scale != NULL || p.activation != IC_ACTIVATION_NONE)) {
    ic_involution2d_params_t q = p;
    q.activation = IC_ACTIVATION_NONE;
    ORACLE(ic_involution2d_create(&q, w0, (size_t)(n0 > 0 ? n0 : 1) * f, bn, (size_t)nr * f, bn,
                                  (size_t)nr * f, bn, (size_t)nr * f, var, (size_t)nr * f, w1,
                                  (size_t)(n1 > 0 ? n1 : 1) * f, b1, (size_t)nk * f, NULL, 0,
                                  NULL, 0, &plain) == IC_STATUS_SUCCESS);
  }
  if (op != NULL) {
    const int64_t batch = take_dim(r, 1, 2), in_h = take_dim(r, 1, 9), in_w = take_dim(r, 1, 9);
    int64_t oh = -1, ow = -1;
    const ic_status_t size_status = ic_involution2d_output_size(op, in_h, in_w, &oh, &ow);
    if (size_status == IC_STATUS_SUCCESS && p.stride > 1) {
      ORACLE(in_h % p.stride == 0 && in_w % p.stride == 0);
    }
    const int64_t x_dims[4] = {batch, p.channels, in_h, in_w};
    const int64_t y_dims[4] = {batch, p.channels, oh, ow};
    const int64_t xn = elements(x_dims, 4), yn = elements(y_dims, 4);
    /* Work per output pixel: reduce (n0), span (n1) and aggregation (channels * K * K). */
    if (size_status == IC_STATUS_SUCCESS && xn > 0 && yn > 0 &&
        yn / p.channels * (n0 + n1 + p.channels * p.kernel_size * p.kernel_size) <= MAX_WORK) {
      float* x = make_floats(r, xn);
      float* y = xfloats((size_t)yn);
      const int32_t layout = (int32_t)(take(r, 1) % 2);
      ORACLE(ic_involution2d_run(op, pick_context(r), layout, batch, in_h, in_w, x,
                                 (size_t)xn * f, y, (size_t)yn * f) == IC_STATUS_SUCCESS);
      if (plain != NULL) {
        float* z = xfloats((size_t)yn);
        ORACLE(ic_involution2d_run(plain, pick_context(r), layout, batch, in_h, in_w, x,
                                   (size_t)xn * f, z, (size_t)yn * f) == IC_STATUS_SUCCESS);
        float* y_nchw = nchw_copy(y, layout, y_dims);
        float* z_nchw = nchw_copy(z, layout, y_dims);
        const int64_t plane = oh * ow;
        for (int64_t i = 0; i < yn; i++) {
          const int64_t c = i / plane % p.channels;
          const float affine = scale != NULL ? (float)((double)scale[c] * (double)z_nchw[i] +
                                                       (double)shift[c])
                                             : z_nchw[i];
          const double expected = ref_activate((double)affine, p.activation);
          ORACLE((double)y_nchw[i] == expected || (isnan(expected) && isnan(y_nchw[i])));
        }
        free(z), free(y_nchw), free(z_nchw);
      }
      free(x), free(y);
    }
  }
  ic_involution2d_destroy(op);
  ic_involution2d_destroy(plain);
  free(w0), free(bn), free(var), free(w1), free(b1), free(scale), free(shift);
}

/* ---------------------------------------------------------------------------------------------
 * pool2d and global average pooling
 * ------------------------------------------------------------------------------------------- */

static bool pool_rules_hold(const ic_pool2d_params_t* p) {
  if (p->datatype != 0 || !in_range(p->pool, 0, 1) || p->channels < 1) return false;
  if (p->kernel_h < 1 || p->kernel_w < 1 || p->stride_h < 1 || p->stride_w < 1) return false;
  if (!in_range(p->padding, 0, 3) || !in_range(p->count_include_pad, 0, 1)) return false;
  if (p->pool == IC_POOL_MAX && p->count_include_pad != 0) return false;
  const int64_t pads[] = {p->pad_top, p->pad_left, p->pad_bottom, p->pad_right};
  for (int i = 0; i < 4; i++) {
    if (pads[i] < 0 || (pads[i] != 0 && p->padding != IC_PADDING_EXPLICIT)) return false;
  }
  return p->pad_top < p->kernel_h && p->pad_left < p->kernel_w;
}

/* Pool2d parameters: mostly plausible, sometimes wild. */
static ic_pool2d_params_t take_pool_params(reader_t* r) {
  ic_pool2d_params_t p = {0};
  p.datatype = take_mostly_zero(r);
  p.pool = (int32_t)(take(r, 1) % 16 == 0 ? take(r, 1) % 5 - 2 : take(r, 1) % 2);
  p.padding = (int32_t)(take(r, 1) % 5);
  p.count_include_pad = (int32_t)(take(r, 1) % 16 == 0 ? take(r, 1) % 4 : take(r, 1) % 2);
  if (p.pool == IC_POOL_MAX && take(r, 1) % 8 != 0) p.count_include_pad = 0;
  p.channels = take_dim(r, 1, 6);
  p.kernel_h = take_dim(r, 1, 5), p.kernel_w = take_dim(r, 1, 5);
  p.stride_h = take_dim(r, 1, 4), p.stride_w = take_dim(r, 1, 4);
  if (p.padding == IC_PADDING_EXPLICIT || take(r, 1) % 32 == 0) {
    p.pad_top = take_dim(r, 0, 4), p.pad_left = take_dim(r, 0, 4);
    p.pad_bottom = take_dim(r, 0, 4), p.pad_right = take_dim(r, 0, 4);
  }
  return p;
}

static void fuzz_pool2d(reader_t* r) {
  const ic_pool2d_params_t p = take_pool_params(r);
  ic_pool2d_t* pool = (ic_pool2d_t*)(uintptr_t)sizeof(float);
  const ic_status_t status = ic_pool2d_create(&p, &pool);
  check_failure(status, pool);
  ORACLE((status == IC_STATUS_SUCCESS) == pool_rules_hold(&p));
  if (pool == NULL) return;

  const int64_t batch = take_dim(r, 1, 3), in_h = take_dim(r, 1, 12), in_w = take_dim(r, 1, 12);
  int64_t out_h = -1, out_w = -1;
  const ic_status_t size_status = ic_pool2d_output_size(pool, in_h, in_w, &out_h, &out_w);
  const bool moderate = pool_runnable(&p, in_h, in_w);
  if (moderate) {
    ref_window_t win;
    const bool fits = ref_pool2d_window(&p, in_h, in_w, &win);
    ORACLE((size_status == IC_STATUS_SUCCESS) == fits);
    if (fits) ORACLE(out_h == win.out_h && out_w == win.out_w);
  }
  const int64_t x_dims[4] = {batch, p.channels, in_h, in_w};
  const int64_t y_dims[4] = {batch, p.channels, out_h, out_w};
  const int64_t x_count = elements(x_dims, 4);
  const int64_t y_count = size_status == IC_STATUS_SUCCESS ? elements(y_dims, 4) : -1;
  if (moderate && x_count > 0 && y_count > 0 && y_count * p.kernel_h * p.kernel_w <= MAX_WORK) {
    const int32_t layout = (int32_t)(take(r, 1) % 2);
    float* x = make_floats(r, x_count);
    float* y = xfloats((size_t)y_count);
    ORACLE(ic_pool2d_run(pool, pick_context(r), layout, batch, in_h, in_w, x,
                         (size_t)x_count * sizeof(float), y,
                         (size_t)y_count * sizeof(float)) == IC_STATUS_SUCCESS);
    float* x_nchw = nchw_copy(x, layout, x_dims);
    double* xd = to_doubles(x_nchw, (size_t)x_count);
    double* ref = xdoubles((size_t)y_count);
    double* mag = xdoubles((size_t)y_count);
    ref_pool2d(&p, batch, in_h, in_w, xd, ref, mag);
    check_against(y, layout, y_dims, ref, mag, IC_ACTIVATION_NONE);
    free(x), free(y), free(x_nchw), free(xd), free(ref), free(mag);
  } else if (size_status == IC_STATUS_SUCCESS && take(r, 1) % 4 == 0) {
    float tiny[4] = {1, 2, 3, 4};
    float out[4] = {5, 6, 7, 8};
    const ic_status_t run_status =
        ic_pool2d_run(pool, NULL, 0, batch, in_h, in_w, tiny, sizeof tiny, out, sizeof out);
    if (run_status != IC_STATUS_SUCCESS) ORACLE(out[0] == 5 && out[3] == 8);
  }
  ic_pool2d_destroy(pool);
}

/* Conv2d then Pool2d in one pass: where check says it fuses, the bits of the two runs apart;
 * where it says it does not, the run refuses the same way; bad sizes fail without writing. */
static void fuzz_conv2d_pool2d(reader_t* r) {
  const ic_conv2d_params_t cp = take_conv_params(r);
  ic_pool2d_params_t pp = take_pool_params(r);
  if (take(r, 1) % 8 != 0) pp.channels = cp.out_channels;
  if (!conv_rules_hold(&cp) || !pool_rules_hold(&pp)) return;
  const int64_t w_dims[4] = {cp.out_channels, cp.in_channels / cp.groups, cp.kernel_h,
                             cp.kernel_w};
  const int64_t w_count = elements(w_dims, 4);
  if (w_count <= 0 || w_count > MAX_ELEMENTS) return;
  float* w = make_floats(r, w_count);
  ic_conv2d_t* conv = NULL;
  ic_pool2d_t* pool = NULL;
  ORACLE(ic_conv2d_create(&cp, w, (size_t)w_count * sizeof(float), NULL, 0, &conv) ==
         IC_STATUS_SUCCESS);
  ORACLE(ic_pool2d_create(&pp, &pool) == IC_STATUS_SUCCESS);
  free(w);

  const int64_t batch = take_dim(r, 1, 3), in_h = take_dim(r, 1, 24), in_w = take_dim(r, 1, 24);
  const ic_status_t check = ic_conv2d_pool2d_check(conv, pool, in_h, in_w);
  if (check != IC_STATUS_SUCCESS) ORACLE(ic_last_error()[0] != '\0');
  int64_t ch = -1, cw = -1, ph = -1, pw = -1;
  bool fits = ic_conv2d_output_size(conv, in_h, in_w, &ch, &cw) == IC_STATUS_SUCCESS &&
              ic_pool2d_output_size(pool, ch, cw, &ph, &pw) == IC_STATUS_SUCCESS &&
              pp.channels == cp.out_channels;
  ORACLE(fits == (check != IC_STATUS_INVALID_ARGUMENT));
  const int64_t x_dims[4] = {batch, cp.in_channels, in_h, in_w};
  const int64_t c_dims[4] = {batch, cp.out_channels, ch, cw};
  const int64_t y_dims[4] = {batch, cp.out_channels, ph, pw};
  const int64_t x_count = elements(x_dims, 4);
  const int64_t c_count = fits ? elements(c_dims, 4) : -1;
  const int64_t y_count = fits ? elements(y_dims, 4) : -1;
  /* Real runs only where fuzz_conv2d and fuzz_pool2d run them. */
  if (fits && conv_runnable(&cp, in_h, in_w) && pool_runnable(&pp, ch, cw) && x_count > 0 &&
      c_count > 0 && y_count > 0 &&
      c_count * (cp.in_channels / cp.groups) * cp.kernel_h * cp.kernel_w <= MAX_WORK) {
    const int32_t layout = (int32_t)(take(r, 1) % 2);
    float* x = make_floats(r, x_count);
    float* c = xfloats((size_t)c_count);
    float* expected = xfloats((size_t)y_count);
    float* y = xfloats((size_t)y_count);
    ic_context_t* context = pick_context(r);
    ORACLE(ic_conv2d_run(conv, context, layout, batch, in_h, in_w, x,
                         (size_t)x_count * sizeof(float), NULL, 0, c,
                         (size_t)c_count * sizeof(float)) == IC_STATUS_SUCCESS);
    ORACLE(ic_pool2d_run(pool, context, layout, batch, ch, cw, c, (size_t)c_count * sizeof(float),
                         expected, (size_t)y_count * sizeof(float)) == IC_STATUS_SUCCESS);
    const ic_status_t status =
        ic_conv2d_pool2d_run(conv, pool, pick_context(r), layout, batch, in_h, in_w, x,
                             (size_t)x_count * sizeof(float), y, (size_t)y_count * sizeof(float));
    ORACLE(status == check);
    if (status == IC_STATUS_SUCCESS) {
      ORACLE(memcmp(y, expected, (size_t)y_count * sizeof(float)) == 0);
    }
    free(x), free(c), free(expected), free(y);
  } else {
    float tiny[4] = {1, 2, 3, 4};
    float out[4] = {5, 6, 7, 8};
    const ic_status_t status = ic_conv2d_pool2d_run(conv, pool, NULL, 0, batch, in_h, in_w, tiny,
                                                    sizeof tiny, out, sizeof out);
    if (status != IC_STATUS_SUCCESS) ORACLE(out[0] == 5 && out[3] == 8 && ic_last_error()[0]);
  }
  ic_conv2d_destroy(conv);
  ic_pool2d_destroy(pool);
}

static void fuzz_global_average_pool(reader_t* r) {
  const int32_t layout = (int32_t)(take(r, 1) % 16 == 0 ? take(r, 1) % 4 : take(r, 1) % 2);
  const int64_t batch = take_dim(r, 1, 3), channels = take_dim(r, 1, 20);
  const int64_t in_h = take_dim(r, 1, 12), in_w = take_dim(r, 1, 12);
  const int64_t x_dims[4] = {batch, channels, in_h, in_w};
  const int64_t y_dims[4] = {batch, channels, 1, 1};
  const int64_t x_count = elements(x_dims, 4), y_count = elements(y_dims, 4);
  if (x_count > 0 && y_count > 0) {
    float* x = make_floats(r, x_count);
    const bool right = take(r, 1) % 8 != 0;
    float* y = xfloats((size_t)y_count);
    const ic_status_t status = ic_global_average_pool_run(
        pick_context(r), layout, batch, channels, in_h, in_w, x, (size_t)x_count * sizeof(float),
        y, (size_t)(right ? y_count : y_count - 1) * sizeof(float));
    ORACLE((status == IC_STATUS_SUCCESS) == (right && in_range(layout, 0, 1)));
    check_failure(status, NULL);
    if (status == IC_STATUS_SUCCESS) {
      float* x_nchw = nchw_copy(x, layout, x_dims);
      double* xd = to_doubles(x_nchw, (size_t)x_count);
      double* ref = xdoubles((size_t)y_count);
      double* mag = xdoubles((size_t)y_count);
      ref_global_average_pool(batch, channels, in_h, in_w, xd, ref, mag);
      check_against(y, IC_LAYOUT_NCHW, y_dims, ref, mag, IC_ACTIVATION_NONE);
      free(x_nchw), free(xd), free(ref), free(mag);
    }
    free(x), free(y);
  } else {
    /* Wild sizes: refused before any access. */
    float tiny[4] = {1, 2, 3, 4};
    float out[4] = {5, 6, 7, 8};
    const ic_status_t status = ic_global_average_pool_run(NULL, layout, batch, channels, in_h,
                                                          in_w, tiny, sizeof tiny, out, sizeof out);
    if (status != IC_STATUS_SUCCESS) ORACLE(out[0] == 5 && out[3] == 8 && ic_last_error()[0]);
  }
}

static void fuzz_convert_layout(reader_t* r) {
  const int32_t from = (int32_t)(take(r, 1) % 16 == 0 ? take(r, 1) % 4 : take(r, 1) % 2);
  const int32_t to = (int32_t)(take(r, 1) % 16 == 0 ? take(r, 1) % 4 : take(r, 1) % 2);
  const int64_t batch = take_dim(r, 1, 3), channels = take_dim(r, 1, 300);
  const int64_t h = take_dim(r, 1, 20), w = take_dim(r, 1, 20);
  const int64_t dims[4] = {batch, channels, h, w};
  const int64_t count = elements(dims, 4);
  if (count > 0) {
    float* x = make_floats(r, count);
    const bool right = take(r, 1) % 8 != 0;
    float* y = xfloats((size_t)count);
    const ic_status_t status = ic_convert_layout(
        pick_context(r), from, to, batch, channels, h, w, x, (size_t)count * sizeof(float), y,
        (size_t)(right ? count : count - 1) * sizeof(float));
    ORACLE((status == IC_STATUS_SUCCESS) == (right && in_range(from, 0, 1) && in_range(to, 0, 1)));
    check_failure(status, NULL);
    if (status == IC_STATUS_SUCCESS) { /* every element in its place, bit for bit */
      float* x_nchw = nchw_copy(x, from, dims);
      float* y_nchw = nchw_copy(y, to, dims);
      ORACLE(memcmp(x_nchw, y_nchw, (size_t)count * sizeof(float)) == 0);
      free(x_nchw), free(y_nchw);
    }
    free(x), free(y);
  } else {
    /* Wild sizes: refused before any access. */
    float tiny[4] = {1, 2, 3, 4};
    float out[4] = {5, 6, 7, 8};
    const ic_status_t status =
        ic_convert_layout(NULL, from, to, batch, channels, h, w, tiny, sizeof tiny, out, sizeof out);
    if (status != IC_STATUS_SUCCESS) ORACLE(out[0] == 5 && out[3] == 8 && ic_last_error()[0]);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (shared_context == NULL && ic_context_create(3, &shared_context) != IC_STATUS_SUCCESS) {
    __builtin_trap();
  }
  reader_t r = {data, size};
  switch (take(&r, 1) % 8) {
    case 0: fuzz_conv2d(&r); break;
    case 1: fuzz_separable(&r); break;
    case 2: fuzz_aggregate(&r); break;
    case 3: fuzz_involution2d(&r); break;
    case 4: fuzz_pool2d(&r); break;
    case 5: fuzz_convert_layout(&r); break;
    case 6: fuzz_conv2d_pool2d(&r); break;
    default: fuzz_global_average_pool(&r); break;
  }
  return 0;
}
