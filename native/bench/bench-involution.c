/*
 * ic-bench-involution — the C-level benchmark of invconv's involution operators, without the
 * JVM: the Involution2d module (kernel generation included) and the aggregation with
 * caller-supplied kernels, on issue 4's target case and RedNet-50's involution layers.
 *
 *   ic-bench-involution [--threads N] [--isa scalar|avx2|avx512] [--layout nchw|nhwc]
 *                       [--op module|aggregate|both] [--filter TEXT] [--min-runs N]
 *                       [--min-time SECONDS] [--no-check] [--cold]
 *
 * Every case runs through the public API (create once, then run on the same buffers: caches
 * are warm, unless --cold reads 128 MB before each timed run, evict-caches.h), after 3 warm-up
 * runs, at least --min-runs times and --min-time seconds; the table shows the median, the
 * 10th-90th percentile and the fastest of the run times (the machine may be shared: read the
 * spread before the median; under load the minimum is the better estimate of the unshared
 * time) and GFLOP/s from the median (multiply-adds of the reduce and span 1x1 convs and of the
 * aggregation, 2 FLOPs each). Batch 1, fp32, K = 7, r = 4, group_channels 16 unless the case
 * says otherwise.
 *
 * Unless --no-check, each case first compares its output with the same operator created with
 * the ISA limited to scalar (the float64-summing reference kernels): the largest difference
 * must be within 1e-4 * max|y_scalar| + 1e-6 (SPEC §8's module tolerance).
 */
#define _GNU_SOURCE /* pthread_setaffinity_np (core-round-trip.h) */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core-round-trip.h"
#include "evict-caches.h"
#include "invconv.h"

typedef struct bench_case {
  const char* suite;
  const char* name;
  int64_t c, hw, k, stride, group_channels;
} bench_case_t;

static const bench_case_t cases[] = {
    {"target", "invol_k7_56_c64_s1", 64, 56, 7, 1, 16},
    {"rednet50", "l1_invol_56_c64_s1", 64, 56, 7, 1, 16},
    {"rednet50", "l2_invol_56_c128_s2", 128, 56, 7, 2, 16},
    {"rednet50", "l2_invol_28_c128_s1", 128, 28, 7, 1, 16},
    {"rednet50", "l3_invol_28_c256_s2", 256, 28, 7, 2, 16},
    {"rednet50", "l3_invol_14_c256_s1", 256, 14, 7, 1, 16},
    {"rednet50", "l4_invol_14_c512_s2", 512, 14, 7, 2, 16},
    {"rednet50", "l4_invol_7_c512_s1", 512, 7, 7, 1, 16},
    {"stem", "stem_invol_k3_112_c32_s1", 32, 112, 3, 1, 16},
};

typedef struct options {
  int32_t threads, layout, min_runs;
  int isa; /* -1: detected */
  double min_time;
  bool module, aggregate, check, cold;
  const char* filter;
} options_t;

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static float rng_uniform(float lo, float hi) {
  rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
  return lo + (hi - lo) * (float)((rng_state >> 40) * (1.0 / 16777216.0));
}
static float* random_floats(size_t count, float lo, float hi) {
  float* data = aligned_alloc(64, (count * sizeof(float) + 63) / 64 * 64);
  if (data == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  for (size_t i = 0; i < count; i++) data[i] = rng_uniform(lo, hi);
  return data;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int compare_doubles(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

static void fail(const char* what, ic_status_t status) {
  fprintf(stderr, "%s: %s: %s\n", what, ic_status_string(status), ic_last_error());
  exit(2);
}

/* One operator behind a uniform run call. */
typedef struct bench_op {
  bool module;
  ic_involution2d_t* inv;
  ic_involution_aggregate_t* agg;
} bench_op_t;

typedef struct bench_data {
  const bench_case_t* bc;
  int64_t reduced, kernel_count, out_hw;
  float *w0, *gamma, *beta, *mean, *var, *w1, *b1;
  float *src, *kernels, *dst;
  size_t src_count, kernels_count, dst_count;
} bench_data_t;

static bench_op_t create_op(const bench_data_t* d, bool module) {
  const bench_case_t* bc = d->bc;
  bench_op_t op = {module, NULL, NULL};
  const size_t fb = sizeof(float);
  ic_status_t status;
  if (module) {
    const ic_involution2d_params_t p = {IC_DATATYPE_F32, IC_ACTIVATION_NONE, bc->c, bc->k,
                                        bc->stride, 1, bc->group_channels, 4, 1e-5};
    status = ic_involution2d_create(
        &p, d->w0, (size_t)(d->reduced * bc->c) * fb, d->gamma, (size_t)d->reduced * fb, d->beta,
        (size_t)d->reduced * fb, d->mean, (size_t)d->reduced * fb, d->var,
        (size_t)d->reduced * fb, d->w1, (size_t)(d->kernel_count * d->reduced) * fb, d->b1,
        (size_t)d->kernel_count * fb, NULL, 0, NULL, 0, &op.inv);
  } else {
    const ic_involution_params_t p = {IC_DATATYPE_F32, 0, bc->c, bc->k, bc->stride, 1,
                                      bc->group_channels};
    status = ic_involution_aggregate_create(&p, &op.agg);
  }
  if (status != IC_STATUS_SUCCESS) fail("create", status);
  return op;
}

static void run_op(const bench_op_t* op, const bench_data_t* d, ic_context_t* context,
                   int32_t layout, float* dst) {
  const size_t fb = sizeof(float);
  const ic_status_t status =
      op->module ? ic_involution2d_run(op->inv, context, layout, 1, d->bc->hw, d->bc->hw, d->src,
                                       d->src_count * fb, dst, d->dst_count * fb)
                 : ic_involution_aggregate_run(op->agg, context, layout, 1, d->bc->hw, d->bc->hw,
                                               d->src, d->src_count * fb, d->kernels,
                                               d->kernels_count * fb, dst, d->dst_count * fb);
  if (status != IC_STATUS_SUCCESS) fail("run", status);
}

static const char* op_name(const bench_op_t* op) {
  return op->module ? ic_involution2d_kernel_name(op->inv)
                    : ic_involution_aggregate_kernel_name(op->agg);
}

static void destroy_op(bench_op_t* op) {
  ic_involution2d_destroy(op->inv);
  ic_involution_aggregate_destroy(op->agg);
}

static void bench_case(const bench_case_t* bc, bool module, const options_t* o,
                       ic_context_t* context) {
  bench_data_t d;
  memset(&d, 0, sizeof d);
  d.bc = bc;
  d.reduced = bc->c / 4;
  d.kernel_count = bc->c / bc->group_channels * bc->k * bc->k;
  const int64_t out = (bc->hw - 1) / bc->stride + 1;
  d.out_hw = out * out;
  d.src_count = (size_t)(bc->c * bc->hw * bc->hw);
  d.dst_count = (size_t)(bc->c * d.out_hw);
  d.kernels_count = (size_t)(d.kernel_count * d.out_hw);
  const float bound = 1.0f / sqrtf((float)bc->c);
  d.w0 = random_floats((size_t)(d.reduced * bc->c), -bound, bound);
  d.gamma = random_floats((size_t)d.reduced, 0.5f, 1.5f);
  d.beta = random_floats((size_t)d.reduced, -0.5f, 0.5f);
  d.mean = random_floats((size_t)d.reduced, -0.1f, 0.1f);
  d.var = random_floats((size_t)d.reduced, 0.5f, 2.0f);
  d.w1 = random_floats((size_t)(d.kernel_count * d.reduced), -0.25f, 0.25f);
  d.b1 = random_floats((size_t)d.kernel_count, -0.1f, 0.1f);
  d.src = random_floats(d.src_count, -1, 1);
  d.kernels = random_floats(d.kernels_count, -1, 1);
  d.dst = random_floats(d.dst_count, 0, 0);

  bench_op_t op = create_op(&d, module);
  const char* check = "-";
  if (o->check) {
    ic_set_max_isa(IC_ISA_SCALAR);
    bench_op_t reference = create_op(&d, module);
    ic_set_max_isa(o->isa < 0 ? ic_detected_isa() : (ic_isa_t)o->isa);
    float* expected = random_floats(d.dst_count, 0, 0);
    run_op(&reference, &d, NULL, o->layout, expected);
    run_op(&op, &d, context, o->layout, d.dst);
    double max_ref = 0, max_diff = 0;
    for (size_t i = 0; i < d.dst_count; i++) {
      max_ref = fmax(max_ref, fabs((double)expected[i]));
      max_diff = fmax(max_diff, fabs((double)d.dst[i] - (double)expected[i]));
    }
    check = max_diff <= 1e-4 * max_ref + 1e-6 ? "ok" : "FAIL";
    if (max_diff > 1e-4 * max_ref + 1e-6) {
      fprintf(stderr, "%s: max |y - y_scalar| = %g, max |y_scalar| = %g\n", bc->name, max_diff,
              max_ref);
    }
    free(expected);
    destroy_op(&reference);
  }

  for (int i = 0; i < 3; i++) run_op(&op, &d, context, o->layout, d.dst);
  size_t capacity = 1024, runs = 0;
  double* times = malloc(capacity * sizeof *times);
  const double start = now_seconds();
  while (runs < (size_t)o->min_runs || now_seconds() - start < o->min_time) {
    if (o->cold) bench_evict_caches();
    const double t0 = now_seconds();
    run_op(&op, &d, context, o->layout, d.dst);
    const double t1 = now_seconds();
    if (runs == capacity) times = realloc(times, (capacity *= 2) * sizeof *times);
    times[runs++] = t1 - t0;
  }
  qsort(times, runs, sizeof *times, compare_doubles);
  const double median = times[runs / 2], p10 = times[runs / 10], p90 = times[runs * 9 / 10];
  const double fastest = times[0];
  const double pixels = (double)d.out_hw;
  double macs = pixels * (double)bc->c * (double)(bc->k * bc->k);
  if (module) macs += pixels * (double)d.reduced * (double)(bc->c + d.kernel_count);
  printf("%-9s %-26s %-6s %8.4f %8.4f %8.4f %8.4f %8.1f %5zu  %-5s %s\n",
         module ? "module" : "aggregate", bc->name, o->layout == IC_LAYOUT_NHWC ? "nhwc" : "nchw",
         median * 1e3, p10 * 1e3, p90 * 1e3, fastest * 1e3, 2 * macs / median * 1e-9, runs, check,
         op_name(&op));
  fflush(stdout);
  free(times);
  destroy_op(&op);
  free(d.w0), free(d.gamma), free(d.beta), free(d.mean), free(d.var), free(d.w1), free(d.b1);
  free(d.src), free(d.kernels), free(d.dst);
}

int main(int argc, char** argv) {
  options_t o = {2, IC_LAYOUT_NCHW, 200, -1, 0.5, true, true, true, false, NULL};
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : "";
    if (strcmp(a, "--threads") == 0) o.threads = atoi(v), i++;
    else if (strcmp(a, "--min-runs") == 0) o.min_runs = atoi(v), i++;
    else if (strcmp(a, "--min-time") == 0) o.min_time = atof(v), i++;
    else if (strcmp(a, "--filter") == 0) o.filter = v, i++;
    else if (strcmp(a, "--no-check") == 0) o.check = false;
    else if (strcmp(a, "--cold") == 0) o.cold = true;
    else if (strcmp(a, "--layout") == 0) o.layout = strcmp(v, "nhwc") == 0, i++;
    else if (strcmp(a, "--op") == 0) {
      o.module = strcmp(v, "aggregate") != 0;
      o.aggregate = strcmp(v, "module") != 0;
      i++;
    } else if (strcmp(a, "--isa") == 0) {
      o.isa = strcmp(v, "scalar") == 0 ? IC_ISA_SCALAR
              : strcmp(v, "avx2") == 0 ? IC_ISA_AVX2 : IC_ISA_AVX512;
      i++;
    } else {
      fprintf(stderr, "usage: %s [--threads N] [--isa scalar|avx2|avx512] [--layout nchw|nhwc] "
                      "[--op module|aggregate|both] [--filter TEXT] [--min-runs N] "
                      "[--min-time S] [--no-check] [--cold]\n", argv[0]);
      return 2;
    }
  }
  if (o.isa >= 0) ic_set_max_isa((ic_isa_t)o.isa);
  ic_context_t* context = NULL;
  if (ic_context_create(o.threads, &context) != IC_STATUS_SUCCESS) fail("context", IC_STATUS_OUT_OF_MEMORY);
  printf("invconv %s, isa %s, %d threads, batch 1, %s\n", ic_version_string(),
         ic_isa_name(ic_active_isa()), (int)ic_context_num_threads(context),
         o.cold ? "cold caches (--cold)" : "warm caches");
  const double round_trip = core_round_trip_ns();
  if (round_trip > 0) printf("core-to-core round trip (CPUs 0 and 1): %.0f ns\n", round_trip);
  printf("%-9s %-26s %-6s %8s %8s %8s %8s %8s %5s  %-5s %s\n", "op", "case", "layout",
         "median", "p10", "p90", "min", "GFLOP/s", "runs", "check", "kernels");
  printf("%-9s %-26s %-6s %8s %8s %8s %8s\n", "", "", "", "ms", "ms", "ms", "ms");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (o.filter != NULL && strstr(cases[i].name, o.filter) == NULL) continue;
    if (o.module) bench_case(&cases[i], true, &o, context);
    if (o.aggregate) bench_case(&cases[i], false, &o, context);
  }
  ic_context_destroy(context);
  return 0;
}
