/*
 * Threads: every operator gives bit-identical results with no context and with contexts of
 * 1, 2, 3 and 7 threads (more threads than cores included), in both layouts; several pthreads
 * running the same operator objects concurrently on one shared context get exactly their
 * serial results; contexts come and go cleanly.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testing.h"

enum { OPS = 4 };

/* One input and output set for the four operators. */
typedef struct data {
  float* src[OPS];
  size_t src_count[OPS];
  float* kernels; /* aggregation's kernels */
  size_t kernels_count;
  float* residual;
  float* dst[OPS];
  size_t dst_count[OPS];
} data_t;

static ic_conv2d_t* conv;
static ic_separable_conv2d_t* separable;
static ic_involution_aggregate_t* aggregate;
static ic_involution2d_t* involution;

/* Shapes: [batch, channels, h, w] of each operator's input and output. */
static const int64_t in_shape[OPS][4] = {{2, 16, 21, 19}, {2, 24, 33, 29}, {2, 32, 20, 22},
                                         {2, 32, 17, 15}};
static const int64_t out_shape[OPS][4] = {{2, 32, 21, 19}, {2, 20, 17, 15}, {2, 32, 10, 11},
                                          {2, 32, 17, 15}};

static float* random_floats(size_t count) {
  float* data = xfloats(count);
  fill_uniform(data, count, -1, 1);
  return data;
}

static void create_operators(void) {
  ic_conv2d_params_t cp = {IC_DATATYPE_F32, IC_PADDING_SAME, IC_ACTIVATION_RELU, 0, 16, 32, 2,
                           3, 3, 1, 1, 1, 1, 0, 0, 0, 0};
  float* w = random_floats(32 * 8 * 9);
  float* b = random_floats(32);
  CHECK_OK(ic_conv2d_create(&cp, w, 32 * 8 * 9 * 4, b, 32 * 4, &conv));
  free(w), free(b);

  ic_separable_conv2d_params_t sp = {IC_DATATYPE_F32, IC_PADDING_SAME, IC_ACTIVATION_RELU6,
                                     IC_ACTIVATION_NONE, 24, 2, 20, 5, 5, 2, 2, 1, 1, 0, 0, 0, 0};
  float* dw = random_floats(48 * 25);
  float* pw = random_floats(20 * 48);
  CHECK_OK(ic_separable_conv2d_create(&sp, dw, 48 * 25 * 4, NULL, 0, pw, 20 * 48 * 4, NULL, 0,
                                      &separable));
  free(dw), free(pw);

  const ic_involution_params_t ap = {IC_DATATYPE_F32, 0, 32, 7, 2, 1, 8};
  CHECK_OK(ic_involution_aggregate_create(&ap, &aggregate));

  const ic_involution2d_params_t ip = {IC_DATATYPE_F32, 0, 32, 5, 1, 1, 16, 4, 1e-5};
  float* w0 = random_floats(8 * 32);
  float* bn = xfloats(8);
  for (int i = 0; i < 8; i++) bn[i] = 1;
  float* w1 = random_floats(50 * 8);
  float* b1 = random_floats(50);
  CHECK_OK(ic_involution2d_create(&ip, w0, 8 * 32 * 4, bn, 32, bn, 32, bn, 32, bn, 32, w1,
                                  50 * 8 * 4, b1, 50 * 4, NULL, 0, NULL, 0, &involution));
  free(w0), free(bn), free(w1), free(b1);
}

static void data_init(data_t* d) {
  for (int i = 0; i < OPS; i++) {
    d->src_count[i] = (size_t)(in_shape[i][0] * in_shape[i][1] * in_shape[i][2] * in_shape[i][3]);
    d->dst_count[i] =
        (size_t)(out_shape[i][0] * out_shape[i][1] * out_shape[i][2] * out_shape[i][3]);
    d->src[i] = random_floats(d->src_count[i]);
    d->dst[i] = xfloats(d->dst_count[i]);
  }
  d->kernels_count = 2 * 4 * 49 * 10 * 11;
  d->kernels = random_floats(d->kernels_count);
  d->residual = random_floats(d->dst_count[0]);
}

static void data_free(data_t* d) {
  for (int i = 0; i < OPS; i++) free(d->src[i]), free(d->dst[i]);
  free(d->kernels);
  free(d->residual);
}

/* Runs all four operators; returns the number of failed calls (thread-safe: no CHECKs). */
static int run_all(ic_context_t* context, int32_t layout, data_t* d) {
  int failures = 0;
  const size_t f = sizeof(float);
  for (int i = 0; i < OPS; i++) memset(d->dst[i], 0xFF, d->dst_count[i] * f);
  failures += ic_conv2d_run(conv, context, layout, 2, 21, 19, d->src[0], d->src_count[0] * f,
                            d->residual, d->dst_count[0] * f, d->dst[0],
                            d->dst_count[0] * f) != IC_STATUS_SUCCESS;
  failures += ic_separable_conv2d_run(separable, context, layout, 2, 33, 29, d->src[1],
                                      d->src_count[1] * f, d->dst[1],
                                      d->dst_count[1] * f) != IC_STATUS_SUCCESS;
  failures += ic_involution_aggregate_run(aggregate, context, layout, 2, 20, 22, d->src[2],
                                          d->src_count[2] * f, d->kernels, d->kernels_count * f,
                                          d->dst[2], d->dst_count[2] * f) != IC_STATUS_SUCCESS;
  failures += ic_involution2d_run(involution, context, layout, 2, 17, 15, d->src[3],
                                  d->src_count[3] * f, d->dst[3],
                                  d->dst_count[3] * f) != IC_STATUS_SUCCESS;
  return failures;
}

static float* copy_floats(const float* data, size_t count) {
  float* copy = xfloats(count);
  memcpy(copy, data, count * sizeof(float));
  return copy;
}

static bool same_bits(const float* a, const float* b, size_t count) {
  return memcmp(a, b, count * sizeof(float)) == 0;
}

static void test_thread_counts_give_identical_bits(void) {
  static const char* names[OPS] = {"conv2d", "separable_conv2d", "involution_aggregate",
                                   "involution2d"};
  data_t d;
  data_init(&d);
  for (int32_t layout = IC_LAYOUT_NCHW; layout <= IC_LAYOUT_NHWC; layout++) {
    CHECK(run_all(NULL, layout, &d) == 0);
    float* baseline[OPS];
    for (int i = 0; i < OPS; i++) baseline[i] = copy_floats(d.dst[i], d.dst_count[i]);
    const int32_t counts[] = {1, 2, 3, 7, 0};
    for (size_t t = 0; t < sizeof counts / sizeof counts[0]; t++) {
      ic_context_t* context = NULL;
      CHECK_OK(ic_context_create(counts[t], &context));
      for (int repeat = 0; repeat < 2; repeat++) {
        CHECK(run_all(context, layout, &d) == 0);
        for (int i = 0; i < OPS; i++) {
          test_set_problem("%s, %d threads, layout %d", names[i], (int)counts[t], (int)layout);
          check_identical("dst", d.dst[i], baseline[i], d.dst_count[i]);
        }
      }
      ic_context_destroy(context);
    }
    for (int i = 0; i < OPS; i++) free(baseline[i]);
  }
  data_free(&d);
}

enum { RUNNERS = 4, ROUNDS = 6 };

typedef struct runner {
  pthread_t thread;
  ic_context_t* context;
  data_t data;
  float* expected[2][OPS]; /* by layout */
  atomic_int mismatches;
} runner_t;

static void* runner_main(void* arg) {
  runner_t* r = arg;
  for (int round = 0; round < ROUNDS; round++) {
    const int32_t layout = round % 2 == 0 ? IC_LAYOUT_NCHW : IC_LAYOUT_NHWC;
    int bad = run_all(r->context, layout, &r->data);
    for (int i = 0; i < OPS; i++) {
      bad += !same_bits(r->data.dst[i], r->expected[layout][i], r->data.dst_count[i]);
    }
    atomic_fetch_add(&r->mismatches, bad);
  }
  return NULL;
}

/* Several threads share one context and the same operators, each with its own tensors. */
static void test_concurrent_runs_on_one_context(void) {
  ic_context_t* context = NULL;
  CHECK_OK(ic_context_create(3, &context));
  runner_t runners[RUNNERS];
  for (int k = 0; k < RUNNERS; k++) {
    runner_t* r = &runners[k];
    data_init(&r->data);
    for (int32_t layout = IC_LAYOUT_NCHW; layout <= IC_LAYOUT_NHWC; layout++) {
      CHECK(run_all(NULL, layout, &r->data) == 0);
      for (int i = 0; i < OPS; i++) {
        r->expected[layout][i] = copy_floats(r->data.dst[i], r->data.dst_count[i]);
      }
    }
    r->context = context;
    atomic_init(&r->mismatches, 0);
  }
  for (int k = 0; k < RUNNERS; k++) {
    CHECK(pthread_create(&runners[k].thread, NULL, runner_main, &runners[k]) == 0);
  }
  for (int k = 0; k < RUNNERS; k++) {
    pthread_join(runners[k].thread, NULL);
    CHECK_MSG(atomic_load(&runners[k].mismatches) == 0, "runner %d: %d mismatches", k,
              atomic_load(&runners[k].mismatches));
    for (int i = 0; i < OPS; i++) free(runners[k].expected[0][i]), free(runners[k].expected[1][i]);
    data_free(&runners[k].data);
  }
  ic_context_destroy(context);
}

static void test_context_basics(void) {
  CHECK(ic_context_num_threads(NULL) == 1);
  ic_context_destroy(NULL);
  ic_context_t* context = NULL;
  CHECK_OK(ic_context_create(0, &context));
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  CHECK_MSG(ic_context_num_threads(context) == (online < 1 ? 1 : online),
            "num_threads %d, online CPUs %ld", (int)ic_context_num_threads(context), online);
  ic_context_destroy(context);
  for (int i = 1; i <= 16; i++) { /* start and stop cleanly, also with no run in between */
    CHECK_OK(ic_context_create(i % 5 + 1, &context));
    CHECK(ic_context_num_threads(context) == i % 5 + 1);
    ic_context_destroy(context);
  }
  CHECK_OK(ic_context_create(64, &context)); /* many more threads than tasks or cores */
  data_t d;
  data_init(&d);
  CHECK(run_all(context, IC_LAYOUT_NHWC, &d) == 0);
  data_free(&d);
  ic_context_destroy(context);
}

int main(int argc, char** argv) {
  test_init(argc, argv, 99);
  create_operators();
  RUN_TEST(test_thread_counts_give_identical_bits);
  RUN_TEST(test_concurrent_runs_on_one_context);
  RUN_TEST(test_context_basics);
  ic_conv2d_destroy(conv);
  ic_separable_conv2d_destroy(separable);
  ic_involution_aggregate_destroy(aggregate);
  ic_involution2d_destroy(involution);
  return test_finish();
}
