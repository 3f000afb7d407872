/*
 * ic-bench — the C-level benchmark of invconv's convolution operators, without the JVM.
 *
 *   ic-bench [--suite targets|resnet50|rednet50|mobilenetv2|separable|pool|all] [--threads N]
 *            [--isa scalar|avx2|avx512] [--layout nchw|nhwc] [--filter TEXT]
 *            [--min-time SECONDS] [--min-runs N] [--peak-seconds SECONDS] [--no-check]
 *            [--cold] [--winograd] [--padding same|torch] [--residual]
 *
 * Every case runs through the public API (create, then run on the same buffers: caches are
 * warm, as in a network whose activations fit the L3), at least --min-runs times and for at
 * least --min-time seconds after two warm-up runs; the table shows the median, the best run
 * and the 10th to 90th percentile spread of the run times (the machine may be shared: read the
 * spread before the median), GFLOP/s from the median, % of the peak that ic_measure_peak_gflops measures
 * on the same threads and ISA, and GB/s of compulsory traffic (src, dst and weights once) with
 * its % of the bandwidth ic_measure_bandwidth_gbps measures (the yardstick of memory-bound
 * layers; warm caches can put a small layer above 100 %).
 *
 * Each case checks its own result on the first run against the scalar kernels (the operator
 * created again with the ISA limited to scalar; those sum in double): |y - y_scalar| must be
 * within the SPEC §3 bound 1e-5 * m + 1e-6, plus the scalar result's own rounding, where m
 * (the sum of the absolute values of the products) is the operator run on |x| and |w|; column
 * err/m gives the largest |y - y_scalar| / m. --winograd creates the convs with
 * IC_CONV2D_WINOGRAD (the check's scalar and magnitude operators stay direct); GFLOP/s and
 * % of peak then count the direct conv's multiply-adds, 4x what Winograd executes.
 * Batch 1, fp32, SAME padding (TensorFlow's: a stride-2 layer pads only after, when the size is
 * even), or with --padding torch (k - 1) / 2 on every side as the PyTorch models have, and the
 * Java suites (invconv bench) use. The cases are the suites: ResNet-50's conv layers at
 * 224x224, RedNet-50's stem convs, MobileNetV2's depthwise and pointwise layers, and the three
 * target cases; and the pooling layers of those networks (suite pool: padding (k - 1) / 2 as
 * in PyTorch, no FLOPs, checked bit for bit against the scalar kernels, which the SIMD ones
 * match exactly). --residual gives the convolutions a residual tensor of the output's shape,
 * added before the activation (ResNet's last conv of each block), in the timed runs and the
 * check; GB/s then counts it too.
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

typedef enum { OP_CONV, OP_SEPARABLE, OP_MAXPOOL, OP_AVGPOOL, OP_GLOBAL_AVGPOOL } op_kind_t;

typedef struct bench_case {
  const char* suite;
  const char* name;
  op_kind_t op;
  int64_t in_c, out_c, h, w, k, stride, groups; /* groups == in_c: depthwise */
  int64_t multiplier;                           /* separable: depthwise multiplier */
} bench_case_t;

#define CONV(suite, name, ic, oc, hw, k, s) {suite, name, OP_CONV, ic, oc, hw, hw, k, s, 1, 1}
#define DW(suite, name, c, hw, s) {suite, name, OP_CONV, c, c, hw, hw, 3, s, c, 1}
#define SEP(suite, name, ic, oc, hw, s) {suite, name, OP_SEPARABLE, ic, oc, hw, hw, 3, s, ic, 1}
#define POOL(suite, name, op, c, hw, k, s) {suite, name, op, c, c, hw, hw, k, s, 1, 1}

/* Pooling cases: no weights, no FLOPs. */
static bool is_pool(op_kind_t op) {
  return op == OP_MAXPOOL || op == OP_AVGPOOL || op == OP_GLOBAL_AVGPOOL;
}

static const bench_case_t cases[] = {
    /* The targets of issue 4. */
    CONV("targets", "conv3x3_56_64-64", 64, 64, 56, 3, 1),
    CONV("targets", "conv1x1_56_256-64", 256, 64, 56, 1, 1),
    DW("targets", "dw3x3_112_32", 32, 112, 1),
    /* ResNet-50 (torchvision v1.5: stride on the 3x3) conv layers at 224x224. */
    CONV("resnet50", "conv1_7x7s2_224_3-64", 3, 64, 224, 7, 2),
    CONV("resnet50", "l1_1x1_56_64-64", 64, 64, 56, 1, 1),
    CONV("resnet50", "l1_3x3_56_64-64", 64, 64, 56, 3, 1),
    CONV("resnet50", "l1_1x1_56_64-256", 64, 256, 56, 1, 1),
    CONV("resnet50", "l1_1x1_56_256-64", 256, 64, 56, 1, 1),
    CONV("resnet50", "l2_1x1_56_256-128", 256, 128, 56, 1, 1),
    CONV("resnet50", "l2_3x3s2_56_128-128", 128, 128, 56, 3, 2),
    CONV("resnet50", "l2_down_1x1s2_56_256-512", 256, 512, 56, 1, 2),
    CONV("resnet50", "l2_1x1_28_128-512", 128, 512, 28, 1, 1),
    CONV("resnet50", "l2_1x1_28_512-128", 512, 128, 28, 1, 1),
    CONV("resnet50", "l2_3x3_28_128-128", 128, 128, 28, 3, 1),
    CONV("resnet50", "l3_1x1_28_512-256", 512, 256, 28, 1, 1),
    CONV("resnet50", "l3_3x3s2_28_256-256", 256, 256, 28, 3, 2),
    CONV("resnet50", "l3_down_1x1s2_28_512-1024", 512, 1024, 28, 1, 2),
    CONV("resnet50", "l3_1x1_14_256-1024", 256, 1024, 14, 1, 1),
    CONV("resnet50", "l3_1x1_14_1024-256", 1024, 256, 14, 1, 1),
    CONV("resnet50", "l3_3x3_14_256-256", 256, 256, 14, 3, 1),
    CONV("resnet50", "l4_1x1_14_1024-512", 1024, 512, 14, 1, 1),
    CONV("resnet50", "l4_3x3s2_14_512-512", 512, 512, 14, 3, 2),
    CONV("resnet50", "l4_down_1x1s2_14_1024-2048", 1024, 2048, 14, 1, 2),
    CONV("resnet50", "l4_1x1_7_512-2048", 512, 2048, 7, 1, 1),
    CONV("resnet50", "l4_1x1_7_2048-512", 2048, 512, 7, 1, 1),
    CONV("resnet50", "l4_3x3_7_512-512", 512, 512, 7, 3, 1),
    CONV("resnet50", "fc_1_2048-1000", 2048, 1000, 1, 1, 1),
    /* RedNet-50's stem convs (its other layers are involutions, ic-bench-involution, and the
     * 1x1 convs ResNet-50 has too). */
    CONV("rednet50", "stem0_3x3s2_224_3-32", 3, 32, 224, 3, 2),
    CONV("rednet50", "stem4_3x3_112_32-64", 32, 64, 112, 3, 1),
    /* MobileNetV2 depthwise 3x3 layers (channels, size, stride) and pointwise layers. */
    DW("mobilenetv2", "dw_112_32", 32, 112, 1),
    DW("mobilenetv2", "dw_112_96_s2", 96, 112, 2),
    DW("mobilenetv2", "dw_56_144", 144, 56, 1),
    DW("mobilenetv2", "dw_56_144_s2", 144, 56, 2),
    DW("mobilenetv2", "dw_28_192", 192, 28, 1),
    DW("mobilenetv2", "dw_28_192_s2", 192, 28, 2),
    DW("mobilenetv2", "dw_14_384", 384, 14, 1),
    DW("mobilenetv2", "dw_14_576", 576, 14, 1),
    DW("mobilenetv2", "dw_14_576_s2", 576, 14, 2),
    DW("mobilenetv2", "dw_7_960", 960, 7, 1),
    CONV("mobilenetv2", "pw_112_32-16", 32, 16, 112, 1, 1),
    CONV("mobilenetv2", "pw_112_16-96", 16, 96, 112, 1, 1),
    CONV("mobilenetv2", "pw_56_96-24", 96, 24, 56, 1, 1),
    CONV("mobilenetv2", "pw_56_24-144", 24, 144, 56, 1, 1),
    CONV("mobilenetv2", "pw_56_144-24", 144, 24, 56, 1, 1),
    CONV("mobilenetv2", "pw_28_144-32", 144, 32, 28, 1, 1),
    CONV("mobilenetv2", "pw_28_32-192", 32, 192, 28, 1, 1),
    CONV("mobilenetv2", "pw_28_192-32", 192, 32, 28, 1, 1),
    CONV("mobilenetv2", "pw_14_192-64", 192, 64, 14, 1, 1),
    CONV("mobilenetv2", "pw_14_64-384", 64, 384, 14, 1, 1),
    CONV("mobilenetv2", "pw_14_384-64", 384, 64, 14, 1, 1),
    CONV("mobilenetv2", "pw_14_384-96", 384, 96, 14, 1, 1),
    CONV("mobilenetv2", "pw_14_96-576", 96, 576, 14, 1, 1),
    CONV("mobilenetv2", "pw_7_576-160", 576, 160, 7, 1, 1),
    CONV("mobilenetv2", "pw_7_160-960", 160, 960, 7, 1, 1),
    CONV("mobilenetv2", "pw_7_960-320", 960, 320, 7, 1, 1),
    CONV("mobilenetv2", "pw_7_320-1280", 320, 1280, 7, 1, 1),
    /* Depthwise-separable (MobileNetV1-style blocks). */
    SEP("separable", "sep_112_32-64", 32, 64, 112, 1),
    SEP("separable", "sep_56_128-128", 128, 128, 56, 1),
    SEP("separable", "sep_28_256-256", 256, 256, 28, 1),
    SEP("separable", "sep_14_512-512", 512, 512, 14, 1),
    /* MobileNetV2-style blocks (narrow outputs): in NCHW, unfused and fused each win some. */
    SEP("separable", "sep_56_144-24", 144, 24, 56, 1),
    SEP("separable", "sep_28_192-32", 192, 32, 28, 1),
    SEP("separable", "sep_14_384-64", 384, 64, 14, 1),
    SEP("separable", "sep_7_960-320", 960, 320, 7, 1),
    /* Pooling: ResNet's stem max pool and global average pool, a 3x3 stride-1 average pool
     * (Inception-style branches) and a 2x2 stride-2 one (DenseNet transitions). */
    POOL("pool", "maxpool3x3s2_112_64", OP_MAXPOOL, 64, 112, 3, 2),
    POOL("pool", "avgpool3x3s1_28_256", OP_AVGPOOL, 256, 28, 3, 1),
    POOL("pool", "avgpool2x2s2_56_256", OP_AVGPOOL, 256, 56, 2, 2),
    POOL("pool", "gap_7_2048", OP_GLOBAL_AVGPOOL, 2048, 7, 7, 1),
};

typedef struct options {
  const char* suite;
  const char* filter;
  int32_t threads;
  int isa; /* -1: detected */
  int32_t layout;
  double min_time, peak_seconds;
  int min_runs;
  bool check;
  bool cold;
  int32_t conv_flags; /* IC_CONV2D_WINOGRAD with --winograd */
  bool torch_padding; /* --padding torch: (k - 1) / 2 on every side instead of SAME */
  bool residual;      /* --residual: convolutions add a residual tensor */
} options_t;

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float* alloc_floats(size_t count) {
  const size_t bytes = (count * sizeof(float) + 63) / 64 * 64;
  float* data = aligned_alloc(64, bytes > 0 ? bytes : 64);
  if (data == NULL) {
    fprintf(stderr, "ic-bench: out of memory for %zu floats\n", count);
    exit(2);
  }
  return data;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static float random_float(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (float)((double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static float* random_floats(size_t count) {
  float* data = alloc_floats(count);
  for (size_t i = 0; i < count; i++) data[i] = random_float();
  return data;
}

static float* absolute(const float* data, size_t count) {
  float* copy = alloc_floats(count);
  for (size_t i = 0; i < count; i++) copy[i] = fabsf(data[i]);
  return copy;
}

static int compare_doubles(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static void fail_status(ic_status_t status, const char* what) {
  fprintf(stderr, "ic-bench: %s failed: %s: %s\n", what, ic_status_string(status), ic_last_error());
  exit(1);
}

/* The operator of a case, created at the current ISA limit. */
typedef struct op {
  const bench_case_t* c;
  ic_conv2d_t* conv;
  ic_separable_conv2d_t* separable;
  ic_pool2d_t* pool;
} op_t;

typedef struct tensors {
  float *w, *bias, *dw, *dw_bias; /* weights of the case */
  size_t w_count, dw_count;
} tensors_t;

static op_t op_create(const bench_case_t* c, const tensors_t* t, bool with_bias, int32_t activation,
                      int32_t depthwise_activation, int32_t conv_flags, bool torch_padding) {
  op_t op = {c, NULL, NULL, NULL};
  const int32_t padding = torch_padding ? IC_PADDING_EXPLICIT : IC_PADDING_SAME;
  const int64_t half = torch_padding ? (c->k - 1) / 2 : 0;
  ic_status_t status = IC_STATUS_SUCCESS;
  if (c->op == OP_MAXPOOL || c->op == OP_AVGPOOL) {
    const int64_t pad = (c->k - 1) / 2;
    ic_pool2d_params_t p = {IC_DATATYPE_F32, c->op == OP_MAXPOOL ? IC_POOL_MAX : IC_POOL_AVERAGE,
                            IC_PADDING_EXPLICIT, 0, c->in_c, c->k, c->k, c->stride, c->stride,
                            pad, pad, pad, pad};
    status = ic_pool2d_create(&p, &op.pool);
  } else if (c->op == OP_GLOBAL_AVGPOOL) {
    /* Stateless: nothing to create. */
  } else if (c->op == OP_CONV) {
    ic_conv2d_params_t p = {IC_DATATYPE_F32, padding, activation, conv_flags,
                            c->in_c, c->out_c, c->groups, c->k, c->k, c->stride, c->stride,
                            1, 1, half, half, half, half};
    status = ic_conv2d_create(&p, t->w, t->w_count * sizeof(float), with_bias ? t->bias : NULL,
                              with_bias ? (size_t)c->out_c * sizeof(float) : 0, &op.conv);
  } else {
    const int64_t mid = c->in_c * c->multiplier;
    ic_separable_conv2d_params_t p = {IC_DATATYPE_F32, padding, depthwise_activation,
                                      activation, c->in_c, c->multiplier, c->out_c, c->k, c->k,
                                      c->stride, c->stride, 1, 1, half, half, half, half};
    status = ic_separable_conv2d_create(
        &p, t->dw, t->dw_count * sizeof(float), with_bias ? t->dw_bias : NULL,
        with_bias ? (size_t)mid * sizeof(float) : 0, t->w, t->w_count * sizeof(float),
        with_bias ? t->bias : NULL, with_bias ? (size_t)c->out_c * sizeof(float) : 0,
        &op.separable);
  }
  if (status != IC_STATUS_SUCCESS) fail_status(status, "create");
  return op;
}

/* residual: NULL, or y_count floats added before the activation (convolutions only). */
static void op_run(const op_t* op, ic_context_t* context, int32_t layout, const float* x,
                   size_t x_count, const float* residual, float* y, size_t y_count) {
  const bench_case_t* c = op->c;
  ic_status_t status = IC_STATUS_SUCCESS;
  if (c->op == OP_MAXPOOL || c->op == OP_AVGPOOL) {
    status = ic_pool2d_run(op->pool, context, layout, 1, c->h, c->w, x, x_count * sizeof(float), y,
                           y_count * sizeof(float));
  } else if (c->op == OP_GLOBAL_AVGPOOL) {
    status = ic_global_average_pool_run(context, layout, 1, c->in_c, c->h, c->w, x,
                                        x_count * sizeof(float), y, y_count * sizeof(float));
  } else if (c->op == OP_CONV) {
    status = ic_conv2d_run(op->conv, context, layout, 1, c->h, c->w, x, x_count * sizeof(float),
                           residual, residual != NULL ? y_count * sizeof(float) : 0, y,
                           y_count * sizeof(float));
  } else {
    status = ic_separable_conv2d_run(op->separable, context, layout, 1, c->h, c->w, x,
                                     x_count * sizeof(float), y, y_count * sizeof(float));
  }
  if (status != IC_STATUS_SUCCESS) fail_status(status, "run");
}

static const char* op_kernel(const op_t* op) {
  if (op->c->op == OP_GLOBAL_AVGPOOL) return "(global_average_pool)";
  if (op->pool != NULL) return ic_pool2d_kernel_name(op->pool);
  return op->conv != NULL ? ic_conv2d_kernel_name(op->conv)
                          : ic_separable_conv2d_kernel_name(op->separable);
}

static void op_destroy(op_t* op) {
  ic_conv2d_destroy(op->conv);
  ic_separable_conv2d_destroy(op->separable);
  ic_pool2d_destroy(op->pool);
}

/* Returns the number of elements out of tolerance; *worst_out receives the largest
 * |error| / magnitude (SPEC 3 allows 1e-5 plus an absolute term), 0 for pools. */
static size_t check_case(const bench_case_t* c, const tensors_t* t, ic_context_t* context,
                         int32_t layout, const float* x, size_t x_count, const float* residual,
                         const float* y, size_t y_count, ic_isa_t isa, bool torch_padding,
                         double* worst_out) {
  *worst_out = 0.0;
  /* The scalar result. */
  ic_set_max_isa(IC_ISA_SCALAR);
  op_t scalar = op_create(c, t, true, IC_ACTIVATION_RELU, IC_ACTIVATION_RELU, 0, torch_padding);
  ic_set_max_isa(isa);
  float* expected = alloc_floats(y_count);
  op_run(&scalar, context, layout, x, x_count, residual, expected, y_count);
  op_destroy(&scalar);
  if (is_pool(c->op)) {
    /* The SIMD pooling kernels give the scalar kernels' bits. */
    size_t bad = 0;
    for (size_t i = 0; i < y_count; i++) {
      if (memcmp(&y[i], &expected[i], sizeof(float)) == 0) continue;
      if (bad < 3) {
        fprintf(stderr, "  %s: y[%zu] = %.9g, scalar %.9g (bits differ)\n", c->name, i,
                (double)y[i], (double)expected[i]);
      }
      bad++;
    }
    free(expected);
    return bad;
  }
  /* The magnitudes: the same operator on |x| and |w| with |bias|, no activation. */
  tensors_t abs_t = *t;
  abs_t.w = absolute(t->w, t->w_count);
  abs_t.bias = absolute(t->bias, (size_t)c->out_c);
  abs_t.dw = t->dw != NULL ? absolute(t->dw, t->dw_count) : NULL;
  abs_t.dw_bias = t->dw_bias != NULL ? absolute(t->dw_bias, (size_t)(c->in_c * c->multiplier)) : NULL;
  float* abs_x = absolute(x, x_count);
  float* abs_residual = residual != NULL ? absolute(residual, y_count) : NULL;
  float* magnitude = alloc_floats(y_count);
  op_t abs_op =
      op_create(c, &abs_t, true, IC_ACTIVATION_NONE, IC_ACTIVATION_NONE, 0, torch_padding);
  op_run(&abs_op, context, layout, abs_x, x_count, abs_residual, magnitude, y_count);
  op_destroy(&abs_op);
  size_t bad = 0;
  double worst = 0.0;
  for (size_t i = 0; i < y_count; i++) {
    const double m = magnitude[i];
    const double error = fabs((double)y[i] - (double)expected[i]);
    const double bound = 1e-5 * m + 1e-6 + 1.2e-7 * fabs((double)expected[i]);
    if (!(error <= bound)) {
      if (bad < 3) {
        fprintf(stderr, "  %s: y[%zu] = %.9g, scalar %.9g, |diff| %.3g > bound %.3g\n", c->name,
                i, (double)y[i], (double)expected[i], error, bound);
      }
      bad++;
    }
    if (m > 0 && error / m > worst) worst = error / m;
  }
  *worst_out = worst;
  free(expected), free(magnitude), free(abs_x), free(abs_residual);
  free(abs_t.w), free(abs_t.bias), free(abs_t.dw), free(abs_t.dw_bias);
  return bad;
}

static void usage(void) {
  fprintf(stderr,
          "usage: ic-bench [--suite targets|resnet50|rednet50|mobilenetv2|separable|pool|all]\n"
          "                [--threads N]\n"
          "                [--isa scalar|avx2|avx512] [--layout nchw|nhwc] [--filter TEXT]\n"
          "                [--min-time SECONDS] [--min-runs N] [--peak-seconds SECONDS]\n"
          "                [--no-check] [--cold] [--winograd] [--padding same|torch]\n"
          "                [--residual]\n"
          "--cold reads 128 MB before each timed run (caches cold, as inside a network); run it\n"
          "with INVCONV_SPIN_US=10000 so that the workers stay awake through that read\n"
          "--winograd creates the convs with IC_CONV2D_WINOGRAD (3x3 stride 1)\n"
          "--padding torch pads (k - 1) / 2 on every side (PyTorch's models) instead of SAME\n"
          "--residual adds a residual tensor to the convolutions' output (ResNet's block ends)\n");
  exit(2);
}

static options_t parse(int argc, char** argv) {
  options_t o = {"all", NULL, 2, -1, IC_LAYOUT_NCHW, 0.3, 0.5, 30, true, false, 0, false, false};
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--no-check") == 0) {
      o.check = false;
      continue;
    }
    if (strcmp(a, "--cold") == 0) {
      o.cold = true;
      continue;
    }
    if (strcmp(a, "--winograd") == 0) {
      o.conv_flags |= IC_CONV2D_WINOGRAD;
      continue;
    }
    if (strcmp(a, "--residual") == 0) {
      o.residual = true;
      continue;
    }
    if (v == NULL) usage();
    i++;
    if (strcmp(a, "--suite") == 0) {
      o.suite = v;
    } else if (strcmp(a, "--filter") == 0) {
      o.filter = v;
    } else if (strcmp(a, "--threads") == 0) {
      o.threads = atoi(v);
    } else if (strcmp(a, "--isa") == 0) {
      if (strcmp(v, "scalar") == 0) o.isa = IC_ISA_SCALAR;
      else if (strcmp(v, "avx2") == 0) o.isa = IC_ISA_AVX2;
      else if (strcmp(v, "avx512") == 0) o.isa = IC_ISA_AVX512;
      else usage();
    } else if (strcmp(a, "--padding") == 0) {
      if (strcmp(v, "same") == 0) o.torch_padding = false;
      else if (strcmp(v, "torch") == 0) o.torch_padding = true;
      else usage();
    } else if (strcmp(a, "--layout") == 0) {
      if (strcmp(v, "nchw") == 0) o.layout = IC_LAYOUT_NCHW;
      else if (strcmp(v, "nhwc") == 0) o.layout = IC_LAYOUT_NHWC;
      else usage();
    } else if (strcmp(a, "--min-time") == 0) {
      o.min_time = atof(v);
    } else if (strcmp(a, "--min-runs") == 0) {
      o.min_runs = atoi(v);
    } else if (strcmp(a, "--peak-seconds") == 0) {
      o.peak_seconds = atof(v);
    } else {
      usage();
    }
  }
  if (o.threads < 1 || o.min_runs < 1) usage();
  return o;
}

int main(int argc, char** argv) {
  const options_t o = parse(argc, argv);
  if (o.isa >= 0) ic_set_max_isa((ic_isa_t)o.isa);
  const ic_isa_t isa = ic_active_isa();
  ic_context_t* context = NULL;
  ic_status_t status = ic_context_create(o.threads, &context);
  if (status != IC_STATUS_SUCCESS) fail_status(status, "context");
  double peak = 0.0;
  status = ic_measure_peak_gflops(context, o.peak_seconds, &peak);
  if (status != IC_STATUS_SUCCESS) {
    fprintf(stderr, "ic-bench: no peak (%s); %% of peak left out\n", ic_last_error());
    peak = 0.0;
  }
  double bandwidth = 0.0;
  status = ic_measure_bandwidth_gbps(context, 0.3, &bandwidth);
  if (status != IC_STATUS_SUCCESS) {
    fprintf(stderr, "ic-bench: no bandwidth (%s); %% of bandwidth left out\n", ic_last_error());
    bandwidth = 0.0;
  }
  printf("# invconv %s, ISA %s (detected %s), %d threads, layout %s, batch 1, fp32, %s caches%s\n",
         ic_version_string(), ic_isa_name(isa), ic_isa_name(ic_detected_isa()), (int)o.threads,
         o.layout == IC_LAYOUT_NHWC ? "nhwc" : "nchw", o.cold ? "cold (--cold)" : "warm",
         o.residual ? ", convolutions with a residual" : "");
  printf("# measured peak %.1f GFLOP/s (ic_measure_peak_gflops, %.2f s), memory bandwidth %.1f "
         "GB/s (ic_measure_bandwidth_gbps: copy, read + written); times: median of >= %d runs "
         "and >= %.2f s\n", peak, o.peak_seconds, bandwidth, o.min_runs, o.min_time);
  const double round_trip = core_round_trip_ns();
  if (round_trip > 0) printf("# core-to-core round trip (CPUs 0 and 1): %.0f ns\n", round_trip);
  printf("%-28s %-24s %9s %8s %15s %8s %7s %7s %5s %9s  %s\n", "case", "shape", "median_ms",
         "best_ms", "p10-p90_ms", "GFLOP/s", "%peak", "GB/s", "%bw", "err/m", "kernel");

  int failures = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const bench_case_t* c = &cases[i];
    if (strcmp(o.suite, "all") != 0 && strcmp(o.suite, c->suite) != 0) continue;
    if (o.filter != NULL && strstr(c->name, o.filter) == NULL) continue;
    const bool global = c->op == OP_GLOBAL_AVGPOOL;
    const int64_t out_h = global ? 1 : (c->h + c->stride - 1) / c->stride;
    const int64_t out_w = global ? 1 : (c->w + c->stride - 1) / c->stride;
    const size_t x_count = (size_t)(c->in_c * c->h * c->w);
    const size_t y_count = (size_t)(c->out_c * out_h * out_w);
    tensors_t t = {0};
    double flops, weight_floats;
    if (is_pool(c->op)) {
      flops = 0.0; /* comparisons and additions, not multiply-adds: no GFLOP/s */
      weight_floats = 0.0;
    } else if (c->op == OP_CONV) {
      t.w_count = (size_t)(c->out_c * (c->in_c / c->groups) * c->k * c->k);
      flops = 2.0 * (double)y_count * (double)(c->in_c / c->groups * c->k * c->k);
      weight_floats = (double)t.w_count;
    } else {
      const int64_t mid = c->in_c * c->multiplier;
      t.dw_count = (size_t)(mid * c->k * c->k);
      t.w_count = (size_t)(c->out_c * mid);
      t.dw = random_floats(t.dw_count);
      t.dw_bias = random_floats((size_t)mid);
      flops = 2.0 * (double)(mid * out_h * out_w) * (double)(c->k * c->k) +
              2.0 * (double)y_count * (double)mid;
      weight_floats = (double)(t.w_count + t.dw_count);
    }
    t.w = random_floats(t.w_count);
    t.bias = random_floats((size_t)c->out_c);
    float* x = random_floats(x_count);
    float* y = alloc_floats(y_count);
    float* residual = o.residual && c->op == OP_CONV ? random_floats(y_count) : NULL;

    op_t op = op_create(c, &t, true, IC_ACTIVATION_RELU, IC_ACTIVATION_RELU, o.conv_flags,
                        o.torch_padding);
    op_run(&op, context, o.layout, x, x_count, residual, y, y_count);
    size_t bad = 0;
    double worst = 0.0;
    if (o.check) {
      bad = check_case(c, &t, context, o.layout, x, x_count, residual, y, y_count, isa,
                       o.torch_padding, &worst);
    }
    op_run(&op, context, o.layout, x, x_count, residual, y, y_count); /* second warm-up */

    size_t capacity = 1024, runs = 0;
    double* times = malloc(capacity * sizeof(double));
    const double start = now_seconds();
    while (runs < (size_t)o.min_runs || now_seconds() - start < o.min_time) {
      if (o.cold) bench_evict_caches();
      const double t0 = now_seconds();
      op_run(&op, context, o.layout, x, x_count, residual, y, y_count);
      const double elapsed = now_seconds() - t0;
      if (runs == capacity) {
        capacity *= 2;
        times = realloc(times, capacity * sizeof(double));
      }
      times[runs++] = elapsed;
    }
    qsort(times, runs, sizeof(double), compare_doubles);
    const double median = times[runs / 2], p10 = times[runs / 10], p90 = times[runs * 9 / 10];
    const double gflops = flops / median * 1e-9;
    const double residual_floats = residual != NULL ? (double)y_count : 0.0;
    const double gbytes =
        4.0 * ((double)x_count + (double)y_count + residual_floats + weight_floats) / median * 1e-9;
    char shape[64], spread[32], percent[16], rate[16];
    snprintf(shape, sizeof shape, "%lldx%lldx%lld>%lld k%lld s%lld%s", (long long)c->in_c,
             (long long)c->h, (long long)c->w, (long long)c->out_c, (long long)c->k,
             (long long)c->stride, c->groups > 1 ? " dw" : "");
    snprintf(spread, sizeof spread, "%.3f-%.3f", p10 * 1e3, p90 * 1e3);
    if (peak > 0 && flops > 0) {
      snprintf(percent, sizeof percent, "%.1f", 100.0 * gflops / peak);
    } else {
      snprintf(percent, sizeof percent, "-");
    }
    if (flops > 0) {
      snprintf(rate, sizeof rate, "%.1f", gflops);
    } else {
      snprintf(rate, sizeof rate, "-");
    }
    char bandwidth_percent[16];
    if (bandwidth > 0) {
      snprintf(bandwidth_percent, sizeof bandwidth_percent, "%.0f", 100.0 * gbytes / bandwidth);
    } else {
      snprintf(bandwidth_percent, sizeof bandwidth_percent, "-");
    }
    char error_ratio[16];
    if (o.check) {
      snprintf(error_ratio, sizeof error_ratio, "%.1e", worst);
    } else {
      snprintf(error_ratio, sizeof error_ratio, "-");
    }
    printf("%-28s %-24s %9.4f %8.4f %15s %8s %7s %7.1f %5s %9s  %s%s\n", c->name, shape,
           median * 1e3, times[0] * 1e3, spread, rate, percent, gbytes, bandwidth_percent,
           error_ratio, op_kernel(&op), bad ? "  CHECK FAILED" : "");
    fflush(stdout);
    if (bad) failures++;
    op_destroy(&op);
    free(times), free(x), free(y), free(residual);
    free(t.w), free(t.bias), free(t.dw), free(t.dw_bias);
  }
  ic_context_destroy(context);
  if (failures) fprintf(stderr, "ic-bench: %d case(s) failed their check\n", failures);
  return failures ? 1 : 0;
}
