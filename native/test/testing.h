/*
 * testing.h — the small test kit of the C tests: checks that report and continue, a seeded
 * random source, float64 references of every operator, tolerance checks and problem strings.
 *
 * A failed check prints file:line, the condition, the current problem string (see
 * test_set_problem) and the seed to rerun with (INVCONV_TEST_SEED=<seed>).
 */
#ifndef IC_TESTING_H
#define IC_TESTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "invconv.h"

/* ---------------------------------------------------------------------------------------------
 * Checks
 * ------------------------------------------------------------------------------------------- */

void test_fail(const char* file, int line, const char* format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#define CHECK(condition)                                                    \
  do {                                                                      \
    if (!(condition)) test_fail(__FILE__, __LINE__, "%s", #condition);      \
  } while (0)

#define CHECK_MSG(condition, ...)                                           \
  do {                                                                      \
    if (!(condition)) test_fail(__FILE__, __LINE__, __VA_ARGS__);           \
  } while (0)

/* Status and (for failures) a substring of ic_last_error(). */
#define CHECK_STATUS(call, expected_status, expected_text)                                   \
  test_check_status(__FILE__, __LINE__, #call, (call), (expected_status), (expected_text))

#define CHECK_OK(call) CHECK_STATUS(call, IC_STATUS_SUCCESS, NULL)

void test_check_status(const char* file, int line, const char* call, ic_status_t status,
                       ic_status_t expected, const char* expected_text);

/* The one-line description of the case under test, printed with any failure. */
void test_set_problem(const char* format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Run one test function; prints its name and result. */
#define RUN_TEST(fn) test_run(#fn, fn)
void test_run(const char* name, void (*fn)(void));

/* Prints "N passed, M failed" and returns the process exit code. */
int test_finish(void);

/* Initialises the random source from INVCONV_TEST_SEED or the given default. */
void test_init(int argc, char** argv, uint64_t default_seed);

/* ---------------------------------------------------------------------------------------------
 * Random data (splitmix64; never depends on thread count or timing)
 * ------------------------------------------------------------------------------------------- */

uint64_t rng_next(void);
int64_t rng_int(int64_t lo, int64_t hi); /* inclusive */
bool rng_bool(double p_true);
float rng_float(float lo, float hi);
void fill_uniform(float* data, size_t count, float lo, float hi);
void fill_int(float* data, size_t count, int lo, int hi); /* small integers: exact arithmetic */
uint64_t test_seed(void);

/* Checked allocation: aborts the test binary on OOM (tests may). */
void* xmalloc(size_t bytes);
float* xfloats(size_t count);
double* xdoubles(size_t count);

/* ---------------------------------------------------------------------------------------------
 * Layouts: tests generate NCHW data and transpose for NHWC runs.
 * ------------------------------------------------------------------------------------------- */

void nchw_to_nhwc(float* dst, const float* src, int64_t n, int64_t c, int64_t h, int64_t w);
void nhwc_to_nchw(float* dst, const float* src, int64_t n, int64_t c, int64_t h, int64_t w);

/* ---------------------------------------------------------------------------------------------
 * float64 references, NCHW. y receives the pre-activation value and m the magnitude (sum of
 * the absolute values of every term: products, bias, residual) that bounds the rounding.
 * ------------------------------------------------------------------------------------------- */

typedef struct ref_window {
  int64_t out_h, out_w, pad_top, pad_left;
} ref_window_t;

/* SPEC §3.1 padding and output size, written independently of the library. False when the
 * output would be empty. */
bool ref_conv2d_window(const ic_conv2d_params_t* p, int64_t in_h, int64_t in_w,
                       ref_window_t* window);

void ref_conv2d(const ic_conv2d_params_t* p, int64_t batch, int64_t in_h, int64_t in_w,
                const double* x, const double* w, const double* bias, const double* residual,
                double* y, double* m);

double ref_activate(double value, int32_t activation);

/* Involution aggregation; out = floor((in + 2p - ((K-1)d + 1)) / s) + 1. */
void ref_involution_output(const ic_involution_params_t* p, int64_t in_h, int64_t in_w,
                           int64_t* out_h, int64_t* out_w);
void ref_involution_aggregate(const ic_involution_params_t* p, int64_t batch, int64_t in_h,
                              int64_t in_w, const double* x, const double* kernels, double* y,
                              double* m);

/* The whole Involution2d module in float64, exactly as the official code computes it (BN not
 * folded). y is the output. */
typedef struct ref_involution2d_weights {
  const float *reduce_weight, *bn_weight, *bn_bias, *bn_mean, *bn_var, *span_weight, *span_bias;
} ref_involution2d_weights_t;

void ref_involution2d(const ic_involution2d_params_t* p, const ref_involution2d_weights_t* wts,
                      int64_t batch, int64_t in_h, int64_t in_w, const float* x, double* y);

/* Pool2d: conv2d's padding rules at dilation 1. False when the output would be empty or some
 * window would lie entirely in padding (both are errors of the library). */
bool ref_pool2d_window(const ic_pool2d_params_t* p, int64_t in_h, int64_t in_w,
                       ref_window_t* window);

/* Max (m = |y|) or average (m = sum of |x| over the window / divisor); NaN propagates in max. */
void ref_pool2d(const ic_pool2d_params_t* p, int64_t batch, int64_t in_h, int64_t in_w,
                const double* x, double* y, double* m);

/* Mean over H x W of each (n, c); y and m are [batch * channels]. */
void ref_global_average_pool(int64_t batch, int64_t channels, int64_t in_h, int64_t in_w,
                             const double* x, double* y, double* m);

double* to_doubles(const float* data, size_t count);

/* |y - act(ref)| <= 1e-5 * m + 1e-6 for every element (y in NCHW); reports the first few
 * failures. Returns true if all pass. */
bool check_close(const char* what, const float* y, const double* ref, const double* m,
                 size_t count, int32_t activation);

/* Bit equality of two float arrays. */
bool check_identical(const char* what, const float* a, const float* b, size_t count);

/* Problem strings, oneDNN style: "mb2ic8ih10iw12oc16kh3kw3sh1sw1dh1dw1g2_same_relu". */
void conv2d_problem(char* text, size_t size, const ic_conv2d_params_t* p, int64_t batch,
                    int64_t in_h, int64_t in_w, int32_t layout);

/* "pool2d mb1c3ih7iw7kh3kw3sh2sw2_explicit(1,1,1,1)_avg_incl_nchw" (max, avg_incl, avg_excl). */
void pool2d_problem(char* text, size_t size, const ic_pool2d_params_t* p, int64_t batch,
                    int64_t in_h, int64_t in_w, int32_t layout);

#endif /* IC_TESTING_H */
