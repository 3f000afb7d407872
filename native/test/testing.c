#include "testing.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Checks and running
 * ------------------------------------------------------------------------------------------- */

static uint64_t seed_value;
static uint64_t rng_state;
static char problem[512];
static int failures_in_test;
static int tests_passed, tests_failed;

void test_set_problem(const char* format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(problem, sizeof problem, format, args);
  va_end(args);
}

void test_fail(const char* file, int line, const char* format, ...) {
  /* Enough detail for the first failures of a test; silence after that. */
  if (++failures_in_test > 20) return;
  fprintf(stderr, "%s:%d: FAILED: ", file, line);
  va_list args;
  va_start(args, format);
  vfprintf(stderr, format, args);
  va_end(args);
  fprintf(stderr, "\n    problem: %s\n    seed: %" PRIu64 " (rerun with INVCONV_TEST_SEED=%" PRIu64
                  ")\n",
          problem[0] ? problem : "-", seed_value, seed_value);
}

void test_check_status(const char* file, int line, const char* call, ic_status_t status,
                       ic_status_t expected, const char* expected_text) {
  if (status != expected) {
    test_fail(file, line, "%s returned %d (%s), expected %d (%s); last error: \"%s\"", call,
              (int)status, ic_status_string(status), (int)expected, ic_status_string(expected),
              ic_last_error());
    return;
  }
  if (expected_text != NULL && strstr(ic_last_error(), expected_text) == NULL) {
    test_fail(file, line, "%s: message \"%s\" does not contain \"%s\"", call, ic_last_error(),
              expected_text);
  }
}

void test_run(const char* name, void (*fn)(void)) {
  failures_in_test = 0;
  problem[0] = '\0';
  fn();
  if (failures_in_test == 0) {
    tests_passed++;
    printf("[ OK ] %s\n", name);
  } else {
    tests_failed++;
    printf("[FAIL] %s (%d failed checks)\n", name, failures_in_test);
  }
  fflush(stdout);
}

int test_finish(void) {
  printf("%d passed, %d failed\n", tests_passed, tests_failed);
  return tests_failed == 0 ? 0 : 1;
}

void test_init(int argc, char** argv, uint64_t default_seed) {
  (void)argc;
  (void)argv;
  const char* text = getenv("INVCONV_TEST_SEED");
  seed_value = text != NULL ? strtoull(text, NULL, 10) : default_seed;
  rng_state = seed_value;
  printf("seed %" PRIu64 "\n", seed_value);
}

uint64_t test_seed(void) { return seed_value; }

/* ---------------------------------------------------------------------------------------------
 * Random data
 * ------------------------------------------------------------------------------------------- */

uint64_t rng_next(void) {
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

int64_t rng_int(int64_t lo, int64_t hi) {
  return lo + (int64_t)(rng_next() % (uint64_t)(hi - lo + 1));
}

bool rng_bool(double p_true) { return (double)(rng_next() >> 11) * 0x1.0p-53 < p_true; }

float rng_float(float lo, float hi) {
  const double unit = (double)(rng_next() >> 11) * 0x1.0p-53;
  return (float)(lo + (hi - lo) * unit);
}

void fill_uniform(float* data, size_t count, float lo, float hi) {
  for (size_t i = 0; i < count; i++) data[i] = rng_float(lo, hi);
}

void fill_int(float* data, size_t count, int lo, int hi) {
  for (size_t i = 0; i < count; i++) data[i] = (float)rng_int(lo, hi);
}

void* xmalloc(size_t bytes) {
  void* p = malloc(bytes == 0 ? 1 : bytes);
  if (p == NULL) {
    fprintf(stderr, "test: out of memory (%zu bytes)\n", bytes);
    exit(2);
  }
  return p;
}

float* xfloats(size_t count) { return xmalloc(count * sizeof(float)); }
double* xdoubles(size_t count) { return xmalloc(count * sizeof(double)); }

double* to_doubles(const float* data, size_t count) {
  if (data == NULL) return NULL;
  double* out = xdoubles(count);
  for (size_t i = 0; i < count; i++) out[i] = (double)data[i];
  return out;
}

/* ---------------------------------------------------------------------------------------------
 * Layouts
 * ------------------------------------------------------------------------------------------- */

void nchw_to_nhwc(float* dst, const float* src, int64_t n, int64_t c, int64_t h, int64_t w) {
  for (int64_t b = 0; b < n; b++)
    for (int64_t k = 0; k < c; k++)
      for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++)
          dst[((b * h + y) * w + x) * c + k] = src[((b * c + k) * h + y) * w + x];
}

void nhwc_to_nchw(float* dst, const float* src, int64_t n, int64_t c, int64_t h, int64_t w) {
  for (int64_t b = 0; b < n; b++)
    for (int64_t k = 0; k < c; k++)
      for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++)
          dst[((b * c + k) * h + y) * w + x] = src[((b * h + y) * w + x) * c + k];
}

/* ---------------------------------------------------------------------------------------------
 * References
 * ------------------------------------------------------------------------------------------- */

double ref_activate(double value, int32_t activation) {
  if (activation == IC_ACTIVATION_NONE) return value;
  if (value < 0) return 0;
  if (activation == IC_ACTIVATION_RELU6 && value > 6) return 6;
  return value;
}

/* One axis of SPEC §3.1. */
static bool ref_axis(int32_t padding, int64_t in, int64_t k, int64_t s, int64_t d,
                     int64_t given_before, int64_t given_after, int64_t* out, int64_t* before) {
  const int64_t eff = (k - 1) * d + 1;
  int64_t b = given_before, a = given_after;
  if (padding == IC_PADDING_VALID) {
    b = a = 0;
  } else if (padding == IC_PADDING_FULL) {
    b = a = eff - 1;
  } else if (padding == IC_PADDING_SAME) {
    const int64_t o = (in + s - 1) / s; /* ceil(in / s) */
    int64_t total = (o - 1) * s + eff - in;
    if (total < 0) total = 0;
    b = total / 2;
    a = total - b;
  }
  /* floor((in + b + a - eff) / s) + 1 in integers: doubles round spans near 2^60. */
  const int64_t n = in + b + a - eff;
  const int64_t o = (n >= 0 ? n / s : -((-n + s - 1) / s)) + 1;
  *out = o;
  *before = b;
  return o > 0;
}

bool ref_conv2d_window(const ic_conv2d_params_t* p, int64_t in_h, int64_t in_w,
                       ref_window_t* window) {
  const bool h = ref_axis(p->padding, in_h, p->kernel_h, p->stride_h, p->dilation_h, p->pad_top,
                          p->pad_bottom, &window->out_h, &window->pad_top);
  const bool w = ref_axis(p->padding, in_w, p->kernel_w, p->stride_w, p->dilation_w,
                          p->pad_left, p->pad_right, &window->out_w, &window->pad_left);
  return h && w;
}

void ref_conv2d(const ic_conv2d_params_t* p, int64_t batch, int64_t in_h, int64_t in_w,
                const double* x, const double* w, const double* bias, const double* residual,
                double* y, double* m) {
  ref_window_t win;
  ref_conv2d_window(p, in_h, in_w, &win);
  const int64_t gin = p->in_channels / p->groups, gout = p->out_channels / p->groups;
  for (int64_t n = 0; n < batch; n++)
    for (int64_t o = 0; o < p->out_channels; o++)
      for (int64_t i = 0; i < win.out_h; i++)
        for (int64_t j = 0; j < win.out_w; j++) {
          const int64_t yi = ((n * p->out_channels + o) * win.out_h + i) * win.out_w + j;
          double sum = bias ? bias[o] : 0, mag = bias ? fabs(bias[o]) : 0;
          if (residual) {
            sum += residual[yi];
            mag += fabs(residual[yi]);
          }
          for (int64_t c = 0; c < gin; c++) {
            const int64_t ic = (o / gout) * gin + c;
            for (int64_t kh = 0; kh < p->kernel_h; kh++)
              for (int64_t kw = 0; kw < p->kernel_w; kw++) {
                const int64_t iy = i * p->stride_h - win.pad_top + kh * p->dilation_h;
                const int64_t ix = j * p->stride_w - win.pad_left + kw * p->dilation_w;
                if (iy < 0 || iy >= in_h || ix < 0 || ix >= in_w) continue;
                const double prod = w[((o * gin + c) * p->kernel_h + kh) * p->kernel_w + kw] *
                                    x[((n * p->in_channels + ic) * in_h + iy) * in_w + ix];
                sum += prod;
                mag += fabs(prod);
              }
          }
          y[yi] = sum;
          if (m) m[yi] = mag;
        }
}

void ref_involution_output(const ic_involution_params_t* p, int64_t in_h, int64_t in_w,
                           int64_t* out_h, int64_t* out_w) {
  const int64_t pad = (p->kernel_size - 1) / 2 * p->dilation;
  const int64_t eff = (p->kernel_size - 1) * p->dilation + 1;
  *out_h = (in_h + 2 * pad - eff) / p->stride + 1;
  *out_w = (in_w + 2 * pad - eff) / p->stride + 1;
}

void ref_involution_aggregate(const ic_involution_params_t* p, int64_t batch, int64_t in_h,
                              int64_t in_w, const double* x, const double* kernels, double* y,
                              double* m) {
  int64_t oh, ow;
  ref_involution_output(p, in_h, in_w, &oh, &ow);
  const int64_t k = p->kernel_size, c_count = p->channels;
  const int64_t groups = c_count / p->group_channels;
  const int64_t pad = (k - 1) / 2 * p->dilation;
  for (int64_t n = 0; n < batch; n++)
    for (int64_t c = 0; c < c_count; c++)
      for (int64_t i = 0; i < oh; i++)
        for (int64_t j = 0; j < ow; j++) {
          double sum = 0, mag = 0;
          const int64_t g = c / p->group_channels;
          for (int64_t kh = 0; kh < k; kh++)
            for (int64_t kw = 0; kw < k; kw++) {
              const int64_t iy = i * p->stride - pad + kh * p->dilation;
              const int64_t ix = j * p->stride - pad + kw * p->dilation;
              if (iy < 0 || iy >= in_h || ix < 0 || ix >= in_w) continue;
              const double kv = kernels[((n * groups * k * k + g * k * k + kh * k + kw) * oh + i) *
                                            ow +
                                        j];
              const double prod = kv * x[((n * c_count + c) * in_h + iy) * in_w + ix];
              sum += prod;
              mag += fabs(prod);
            }
          const int64_t yi = ((n * c_count + c) * oh + i) * ow + j;
          y[yi] = sum;
          if (m) m[yi] = mag;
        }
}

void ref_involution2d(const ic_involution2d_params_t* p, const ref_involution2d_weights_t* wt,
                      int64_t batch, int64_t in_h, int64_t in_w, const float* x, double* y) {
  const int64_t c_count = p->channels, k = p->kernel_size, s = p->stride;
  const int64_t groups = c_count / p->group_channels;
  const int64_t reduced = c_count / p->reduction_ratio;
  const int64_t kk = k * k * groups;
  const ic_involution_params_t agg = {IC_DATATYPE_F32, 0, c_count, k, s, p->dilation,
                                      p->group_channels};
  int64_t oh, ow;
  ref_involution_output(&agg, in_h, in_w, &oh, &ow);

  double* xd = to_doubles(x, (size_t)(batch * c_count * in_h * in_w));
  double* kernels = xdoubles((size_t)(batch * kk * oh * ow));
  double* t = xdoubles((size_t)reduced);
  double* pooled = xdoubles((size_t)c_count);
  for (int64_t n = 0; n < batch; n++)
    for (int64_t i = 0; i < oh; i++)
      for (int64_t j = 0; j < ow; j++) {
        for (int64_t c = 0; c < c_count; c++) {
          double sum = 0;
          for (int64_t a = 0; a < s; a++)
            for (int64_t b = 0; b < s; b++)
              sum += xd[((n * c_count + c) * in_h + i * s + a) * in_w + j * s + b];
          pooled[c] = sum / (double)(s * s);
        }
        for (int64_t r = 0; r < reduced; r++) {
          double z = 0;
          for (int64_t c = 0; c < c_count; c++) z += (double)wt->reduce_weight[r * c_count + c] * pooled[c];
          z = (z - wt->bn_mean[r]) / sqrt((double)wt->bn_var[r] + p->bn_epsilon) * wt->bn_weight[r] +
              wt->bn_bias[r];
          t[r] = z > 0 ? z : 0;
        }
        for (int64_t q = 0; q < kk; q++) {
          double z = wt->span_bias[q];
          for (int64_t r = 0; r < reduced; r++) z += (double)wt->span_weight[q * reduced + r] * t[r];
          kernels[((n * kk + q) * oh + i) * ow + j] = z;
        }
      }
  ref_involution_aggregate(&agg, batch, in_h, in_w, xd, kernels, y, NULL);
  free(xd);
  free(kernels);
  free(t);
  free(pooled);
}

bool ref_pool2d_window(const ic_pool2d_params_t* p, int64_t in_h, int64_t in_w,
                       ref_window_t* window) {
  const bool h = ref_axis(p->padding, in_h, p->kernel_h, p->stride_h, 1, p->pad_top,
                          p->pad_bottom, &window->out_h, &window->pad_top);
  const bool w = ref_axis(p->padding, in_w, p->kernel_w, p->stride_w, 1, p->pad_left,
                          p->pad_right, &window->out_w, &window->pad_left);
  if (!h || !w) return false;
  /* Every window must overlap the input: look at each one. */
  for (int64_t i = 0; i < window->out_h; i++) {
    const int64_t first = i * p->stride_h - window->pad_top, last = first + p->kernel_h - 1;
    if (first > in_h - 1 || last < 0) return false;
  }
  for (int64_t j = 0; j < window->out_w; j++) {
    const int64_t first = j * p->stride_w - window->pad_left, last = first + p->kernel_w - 1;
    if (first > in_w - 1 || last < 0) return false;
  }
  return true;
}

void ref_pool2d(const ic_pool2d_params_t* p, int64_t batch, int64_t in_h, int64_t in_w,
                const double* x, double* y, double* m) {
  ref_window_t win;
  ref_pool2d_window(p, in_h, in_w, &win);
  for (int64_t n = 0; n < batch; n++)
    for (int64_t c = 0; c < p->channels; c++)
      for (int64_t i = 0; i < win.out_h; i++)
        for (int64_t j = 0; j < win.out_w; j++) {
          double best = -INFINITY, sum = 0, mag = 0;
          int64_t count = 0;
          for (int64_t kh = 0; kh < p->kernel_h; kh++)
            for (int64_t kw = 0; kw < p->kernel_w; kw++) {
              const int64_t iy = i * p->stride_h - win.pad_top + kh;
              const int64_t ix = j * p->stride_w - win.pad_left + kw;
              if (iy < 0 || iy >= in_h || ix < 0 || ix >= in_w) continue;
              const double v = x[((n * p->channels + c) * in_h + iy) * in_w + ix];
              if (v > best || isnan(v)) best = v;
              sum += v;
              mag += fabs(v);
              count++;
            }
          const int64_t yi = ((n * p->channels + c) * win.out_h + i) * win.out_w + j;
          if (p->pool == IC_POOL_MAX) {
            y[yi] = best;
            if (m) m[yi] = fabs(best);
          } else {
            const double divisor =
                p->count_include_pad ? (double)(p->kernel_h * p->kernel_w) : (double)count;
            y[yi] = sum / divisor;
            if (m) m[yi] = mag / divisor;
          }
        }
}

void ref_global_average_pool(int64_t batch, int64_t channels, int64_t in_h, int64_t in_w,
                             const double* x, double* y, double* m) {
  const int64_t pixels = in_h * in_w;
  for (int64_t plane = 0; plane < batch * channels; plane++) {
    double sum = 0, mag = 0;
    for (int64_t i = 0; i < pixels; i++) {
      sum += x[plane * pixels + i];
      mag += fabs(x[plane * pixels + i]);
    }
    y[plane] = sum / (double)pixels;
    if (m) m[plane] = mag / (double)pixels;
  }
}

/* ---------------------------------------------------------------------------------------------
 * Comparisons and problem strings
 * ------------------------------------------------------------------------------------------- */

bool check_close(const char* what, const float* y, const double* ref, const double* m,
                 size_t count, int32_t activation) {
  int reported = 0;
  for (size_t i = 0; i < count; i++) {
    const double expected = ref_activate(ref[i], activation);
    const double tolerance = 1e-5 * m[i] + 1e-6;
    const double error = fabs((double)y[i] - expected);
    if (!(error <= tolerance)) {
      if (reported++ < 5) {
        test_fail(__FILE__, __LINE__, "%s[%zu] = %.9g, expected %.9g (error %.3g > %.3g)", what,
                  i, (double)y[i], expected, error, tolerance);
      }
    }
  }
  return reported == 0;
}

bool check_identical(const char* what, const float* a, const float* b, size_t count) {
  for (size_t i = 0; i < count; i++) {
    if (memcmp(&a[i], &b[i], sizeof(float)) != 0) {
      test_fail(__FILE__, __LINE__, "%s[%zu]: %.9g and %.9g differ in bits", what, i,
                (double)a[i], (double)b[i]);
      return false;
    }
  }
  return true;
}

void conv2d_problem(char* text, size_t size, const ic_conv2d_params_t* p, int64_t batch,
                    int64_t in_h, int64_t in_w, int32_t layout) {
  static const char* paddings[] = {"valid", "same", "full", "explicit"};
  static const char* activations[] = {"none", "relu", "relu6"};
  snprintf(text, size,
           "mb%" PRId64 "ic%" PRId64 "ih%" PRId64 "iw%" PRId64 "oc%" PRId64 "kh%" PRId64
           "kw%" PRId64 "sh%" PRId64 "sw%" PRId64 "dh%" PRId64 "dw%" PRId64 "g%" PRId64
           "_%s(%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ")_%s_%s",
           batch, p->in_channels, in_h, in_w, p->out_channels, p->kernel_h, p->kernel_w,
           p->stride_h, p->stride_w, p->dilation_h, p->dilation_w, p->groups,
           (unsigned)p->padding < 4 ? paddings[p->padding] : "?", p->pad_top, p->pad_left,
           p->pad_bottom, p->pad_right,
           (unsigned)p->activation < 3 ? activations[p->activation] : "?",
           layout == IC_LAYOUT_NHWC ? "nhwc" : "nchw");
}

void pool2d_problem(char* text, size_t size, const ic_pool2d_params_t* p, int64_t batch,
                    int64_t in_h, int64_t in_w, int32_t layout) {
  static const char* paddings[] = {"valid", "same", "full", "explicit"};
  const char* kind = p->pool == IC_POOL_MAX ? "max"
                     : p->count_include_pad ? "avg_incl"
                                            : "avg_excl";
  snprintf(text, size,
           "pool2d mb%" PRId64 "c%" PRId64 "ih%" PRId64 "iw%" PRId64 "kh%" PRId64 "kw%" PRId64
           "sh%" PRId64 "sw%" PRId64 "_%s(%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ")_%s_%s",
           batch, p->channels, in_h, in_w, p->kernel_h, p->kernel_w, p->stride_h, p->stride_w,
           (unsigned)p->padding < 4 ? paddings[p->padding] : "?", p->pad_top, p->pad_left,
           p->pad_bottom, p->pad_right, kind, layout == IC_LAYOUT_NHWC ? "nhwc" : "nchw");
}
