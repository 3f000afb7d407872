/*
 * ic-bench-resnet50 — a whole ResNet-50 pass (torchvision layout, 224x224, batch 1) in C
 * through the public API, without the JVM: what a layer costs inside a network, where its
 * weights come from memory (the pass streams ~100 MB of them) and its input was just written
 * by another layer, possibly on the other core. `--model rednet50` runs RedNet-50 instead (the
 * official cls/ backbone: its 3-layer stem with an involution, and bottlenecks whose middle
 * layer is a 7x7 involution of 16 channels per group, reduction 4).
 *
 *   ic-bench-resnet50 [--model resnet50|rednet50] [--threads N] [--layout nhwc|nchw]
 *                     [--passes N] [--per-layer] [--winograd] [--unfused-stem]
 *
 * Every conv has its BatchNorm folded (bias) and its ReLU and residual add fused, and every
 * involution its following BatchNorm and ReLU, as the Java Network builds them; weights are
 * seeded random numbers scaled to keep activations bounded. Activations live in a handful of
 * slots reused by every block, cut from one ic_buffer_alloc block like the Java workspace (2 MB
 * pages), and each block's last conv writes its
 * output over its residual (the block's input, or the projection's output), as the Java
 * Network runs its residual blocks. The pass is the stem and max pool, the 16 bottlenecks and
 * the global average pool and fc (a 1x1 conv of the pooled pixel); the layout conversion at
 * the edges is left out. The stem's last conv and the max pool run as one operator
 * (ic_conv2d_pool2d_run) where the library can fuse them (not a conv that takes the Winograd
 * path), as the Java Network runs them; --unfused-stem runs them apart.
 * Reported:
 * the mean and best of --passes timed passes after 5 warm-up ones, and with --per-layer each
 * operator's mean time (timing each call separately). The header gives the core-to-core round
 * trip between CPUs 0 and 1 (two threads bouncing a cache line), which on a VM tells which
 * phase the machine is in: multithreaded times depend on it.
 */
#define _GNU_SOURCE /* pthread_setaffinity_np (core-round-trip.h) */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core-round-trip.h"
#include "invconv.h"

enum { MAX_OPS = 64, SLOT_FLOATS = 64 * 112 * 112 /* the largest activation */ };

typedef enum op_kind { OP_CONV, OP_CONV_MAXPOOL, OP_INVOLUTION, OP_MAXPOOL, OP_AVGPOOL } op_kind_t;

typedef struct op {
  char name[24];
  op_kind_t kind;
  ic_conv2d_t* conv;
  ic_involution2d_t* involution;
  ic_pool2d_t* pool;
  const float* src;
  const float* residual;
  float* dst;
  int64_t in_c, in_h, in_w, out_c, out_h, out_w;
} op_t;

typedef struct net {
  op_t ops[MAX_OPS];
  int count;
  int32_t conv_flags; /* IC_CONV2D_WINOGRAD with --winograd */
  float* slots[4]; /* 0, 1: block outputs (a stage's in one, the next stage's in the other);
                    * 2, 3: conv1, conv2 */
} net_t;

static void fail(const char* what, ic_status_t status) {
  fprintf(stderr, "ic-bench-resnet50: %s: %s (%s)\n", what, ic_status_string(status),
          ic_last_error());
  exit(1);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static float rng_uniform(float lo, float hi) {
  rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
  return lo + (hi - lo) * (float)((rng_state >> 40) * (1.0 / 16777216.0));
}

static float* floats(size_t count) {
  float* p = aligned_alloc(64, (count * sizeof(float) + 63) / 64 * 64);
  if (p == NULL) fail("allocation", IC_STATUS_OUT_OF_MEMORY);
  for (size_t i = 0; i < count; i++) p[i] = rng_uniform(-1.0f, 1.0f);
  return p;
}

/* Seeded random numbers in [-scale, scale): weights that keep the activations bounded. */
static float* scaled_floats(size_t count, float scale) {
  float* p = floats(count);
  for (size_t i = 0; i < count; i++) p[i] *= scale;
  return p;
}

/* The next operator, with what every kind has: name, src and dst, input and output channels and
 * the input size (the output size is the caller's). */
static op_t* append_op(net_t* net, const char* name, op_kind_t kind, const float* src,
                       int64_t in_c, int64_t in_h, int64_t in_w, int64_t out_c, float* dst) {
  op_t* op = &net->ops[net->count++];
  snprintf(op->name, sizeof op->name, "%s", name);
  op->kind = kind;
  op->src = src;
  op->dst = dst;
  op->in_c = in_c, op->in_h = in_h, op->in_w = in_w, op->out_c = out_c;
  return op;
}

/* Appends a k x k conv (padding k / 2) of src into dst; returns the output size. */
static void add_conv(net_t* net, const char* name, const float* src, int64_t in_c, int64_t in_h,
                     int64_t in_w, int64_t out_c, int64_t k, int64_t stride, bool relu,
                     const float* residual, float* dst) {
  op_t* op = append_op(net, name, OP_CONV, src, in_c, in_h, in_w, out_c, dst);
  op->residual = residual;
  ic_conv2d_params_t p = {.datatype = IC_DATATYPE_F32,
                          .padding = IC_PADDING_EXPLICIT,
                          .activation = relu ? IC_ACTIVATION_RELU : IC_ACTIVATION_NONE,
                          .flags = net->conv_flags,
                          .in_channels = in_c,
                          .out_channels = out_c,
                          .groups = 1,
                          .kernel_h = k,
                          .kernel_w = k,
                          .stride_h = stride,
                          .stride_w = stride,
                          .dilation_h = 1,
                          .dilation_w = 1,
                          .pad_top = k / 2,
                          .pad_left = k / 2,
                          .pad_bottom = k / 2,
                          .pad_right = k / 2};
  const size_t weight_count = (size_t)(out_c * in_c * k * k);
  float* weights = scaled_floats(weight_count, 1.0f / (float)(in_c * k * k));
  float* bias = floats((size_t)out_c);
  ic_status_t status = ic_conv2d_create(&p, weights, weight_count * sizeof(float), bias,
                                        (size_t)out_c * sizeof(float), &op->conv);
  if (status != IC_STATUS_SUCCESS) fail(name, status);
  free(weights);
  free(bias);
  status = ic_conv2d_output_size(op->conv, in_h, in_w, &op->out_h, &op->out_w);
  if (status != IC_STATUS_SUCCESS) fail(name, status);
}

/* Appends an involution (16 channels per group, reduction 4, stride 1 or 2) with its reduce
 * BatchNorm and the BatchNorm + ReLU after it folded, of src into dst. */
static void add_involution(net_t* net, const char* name, const float* src, int64_t c, int64_t k,
                           int64_t stride, int64_t in_h, int64_t in_w, float* dst) {
  op_t* op = append_op(net, name, OP_INVOLUTION, src, c, in_h, in_w, c, dst);
  const ic_involution2d_params_t p = {.datatype = IC_DATATYPE_F32,
                                      .activation = IC_ACTIVATION_RELU,
                                      .channels = c,
                                      .kernel_size = k,
                                      .stride = stride,
                                      .dilation = 1,
                                      .group_channels = 16,
                                      .reduction_ratio = 4,
                                      .bn_epsilon = 1e-5};
  const size_t reduced = (size_t)(c / 4), span = (size_t)(k * k * (c / 16));
  float* reduce = scaled_floats(reduced * (size_t)c, 1.0f / (float)c);
  float* span_weight = scaled_floats(span * reduced, 1.0f / (float)reduced);
  float* bn[4] = {floats(reduced), floats(reduced), floats(reduced), floats(reduced)};
  for (size_t i = 0; i < reduced; i++) bn[3][i] = 1.0f + bn[3][i] * bn[3][i]; /* variance > 0 */
  float* span_bias = floats(span);
  float* out_scale = floats((size_t)c);
  float* out_shift = floats((size_t)c);
  const size_t f = sizeof(float);
  ic_status_t status = ic_involution2d_create(
      &p, reduce, reduced * (size_t)c * f, bn[0], reduced * f, bn[1], reduced * f, bn[2],
      reduced * f, bn[3], reduced * f, span_weight, span * reduced * f, span_bias, span * f,
      out_scale, (size_t)c * f, out_shift, (size_t)c * f, &op->involution);
  if (status != IC_STATUS_SUCCESS) fail(name, status);
  free(reduce), free(span_weight), free(span_bias), free(out_scale), free(out_shift);
  for (int i = 0; i < 4; i++) free(bn[i]);
  status = ic_involution2d_output_size(op->involution, in_h, in_w, &op->out_h, &op->out_w);
  if (status != IC_STATUS_SUCCESS) fail(name, status);
}

static void add_pool(net_t* net, const char* name, op_kind_t kind, const float* src, int64_t c,
                     int64_t in_h, int64_t in_w, float* dst) {
  op_t* op = append_op(net, name, kind, src, c, in_h, in_w, c, dst);
  if (kind == OP_AVGPOOL) {
    op->out_h = op->out_w = 1;
    return;
  }
  const ic_pool2d_params_t p = {.datatype = IC_DATATYPE_F32,
                                .pool = IC_POOL_MAX,
                                .padding = IC_PADDING_EXPLICIT,
                                .channels = c,
                                .kernel_h = 3,
                                .kernel_w = 3,
                                .stride_h = 2,
                                .stride_w = 2,
                                .pad_top = 1,
                                .pad_left = 1,
                                .pad_bottom = 1,
                                .pad_right = 1};
  ic_status_t status = ic_pool2d_create(&p, &op->pool);
  if (status == IC_STATUS_SUCCESS) {
    status = ic_pool2d_output_size(op->pool, in_h, in_w, &op->out_h, &op->out_w);
  }
  if (status != IC_STATUS_SUCCESS) fail(name, status);
}

/* The 16 bottlenecks of a 50-layer network (stages of 3, 4, 6, 3), the pool and the fc, from
 * the max pool's output in slot 1: 1x1 reduce, the middle layer (a 3x3 conv, or for RedNet a
 * 7x7 involution) with the stage's stride, 1x1 expand with the residual, written over it;
 * projections where the shape changes, into the slot the stage's blocks then run in. */
static void add_stages(net_t* net, bool involution, float* logits) {
  const int blocks[4] = {3, 4, 6, 3};
  int64_t c = 64, h = 56, w = 56;
  int out_slot = 1;
  for (int layer = 0; layer < 4; layer++) {
    const int64_t width = 64 << layer, out_c = width * 4;
    for (int b = 0; b < blocks[layer]; b++) {
      const int64_t stride = b == 0 && layer > 0 ? 2 : 1, oh = (h - 1) / stride + 1,
                    ow = (w - 1) / stride + 1;
      const float* x = net->slots[out_slot];
      char name[24];
      if (b == 0) {
        out_slot ^= 1;
        snprintf(name, sizeof name, "l%d.%d.down", layer + 1, b);
        add_conv(net, name, x, c, h, w, out_c, 1, stride, false, NULL, net->slots[out_slot]);
      }
      snprintf(name, sizeof name, "l%d.%d.conv1", layer + 1, b);
      add_conv(net, name, x, c, h, w, width, 1, 1, true, NULL, net->slots[2]);
      snprintf(name, sizeof name, "l%d.%d.conv2", layer + 1, b);
      if (involution) {
        add_involution(net, name, net->slots[2], width, 7, stride, h, w, net->slots[3]);
      } else {
        add_conv(net, name, net->slots[2], width, h, w, width, 3, stride, true, NULL,
                 net->slots[3]);
      }
      snprintf(name, sizeof name, "l%d.%d.conv3", layer + 1, b);
      add_conv(net, name, net->slots[3], width, oh, ow, out_c, 1, 1, true,
               net->slots[out_slot], net->slots[out_slot]);
      c = out_c, h = oh, w = ow;
    }
  }
  add_pool(net, "avgpool", OP_AVGPOOL, net->slots[out_slot], c, h, w, net->slots[2]);
  add_conv(net, "fc", net->slots[2], c, 1, 1, 1000, 1, 1, false, NULL, logits);
}

/* The last two operators, a conv and the max pool after it, as one (ic_conv2d_pool2d_run). */
static void fuse_conv_pool(net_t* net) {
  op_t* conv = &net->ops[net->count - 2];
  const op_t* pool = &net->ops[net->count - 1];
  ic_status_t status = ic_conv2d_pool2d_check(conv->conv, pool->pool, conv->in_h, conv->in_w);
  if (status == IC_STATUS_UNSUPPORTED) return; /* e.g. RedNet's stem conv with --winograd */
  if (status != IC_STATUS_SUCCESS) fail(conv->name, status);
  char name[sizeof conv->name];
  snprintf(name, sizeof name, "%s+%s", conv->name, pool->name);
  memcpy(conv->name, name, sizeof name);
  conv->kind = OP_CONV_MAXPOOL;
  conv->pool = pool->pool;
  conv->dst = pool->dst;
  conv->out_h = pool->out_h, conv->out_w = pool->out_w;
  net->count--;
}

static void build(net_t* net, bool rednet, bool fused, const float* input, float* logits) {
  const size_t slots = sizeof net->slots / sizeof net->slots[0];
  void* memory = NULL;
  const ic_status_t status = ic_buffer_alloc(slots * SLOT_FLOATS * sizeof(float), &memory);
  if (status != IC_STATUS_SUCCESS) fail("activations", status);
  for (size_t i = 0; i < slots; i++) {
    net->slots[i] = (float*)memory + i * SLOT_FLOATS;
    for (size_t j = 0; j < SLOT_FLOATS; j++) net->slots[i][j] = rng_uniform(-1.0f, 1.0f);
  }
  if (rednet) {
    add_conv(net, "stem.0", input, 3, 224, 224, 32, 3, 2, true, NULL, net->slots[1]);
    add_involution(net, "stem.1", net->slots[1], 32, 3, 1, 112, 112, net->slots[2]);
    add_conv(net, "stem.4", net->slots[2], 32, 112, 112, 64, 3, 1, true, NULL, net->slots[0]);
  } else {
    add_conv(net, "conv1", input, 3, 224, 224, 64, 7, 2, true, NULL, net->slots[0]);
  }
  add_pool(net, "maxpool", OP_MAXPOOL, net->slots[0], 64, 112, 112, net->slots[1]);
  if (fused) fuse_conv_pool(net);
  add_stages(net, rednet, logits);
}

static void run_op(const op_t* op, ic_context_t* context, int32_t layout) {
  const size_t in_bytes = (size_t)(op->in_c * op->in_h * op->in_w) * sizeof(float);
  const size_t out_bytes = (size_t)(op->out_c * op->out_h * op->out_w) * sizeof(float);
  ic_status_t status;
  switch (op->kind) {
    case OP_CONV:
      status = ic_conv2d_run(op->conv, context, layout, 1, op->in_h, op->in_w, op->src, in_bytes,
                             op->residual, op->residual != NULL ? out_bytes : 0, op->dst,
                             out_bytes);
      break;
    case OP_CONV_MAXPOOL:
      status = ic_conv2d_pool2d_run(op->conv, op->pool, context, layout, 1, op->in_h, op->in_w,
                                    op->src, in_bytes, op->dst, out_bytes);
      break;
    case OP_INVOLUTION:
      status = ic_involution2d_run(op->involution, context, layout, 1, op->in_h, op->in_w,
                                   op->src, in_bytes, op->dst, out_bytes);
      break;
    case OP_MAXPOOL:
      status = ic_pool2d_run(op->pool, context, layout, 1, op->in_h, op->in_w, op->src, in_bytes,
                             op->dst, out_bytes);
      break;
    default:
      status = ic_global_average_pool_run(context, layout, 1, op->in_c, op->in_h, op->in_w,
                                          op->src, in_bytes, op->dst, out_bytes);
      break;
  }
  if (status != IC_STATUS_SUCCESS) fail(op->name, status);
}



int main(int argc, char** argv) {
  int32_t threads = 2, passes = 50;
  int32_t layout = IC_LAYOUT_NHWC;
  bool per_layer = false;
  int32_t conv_flags = 0;
  bool rednet = false;
  bool fused = true;
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : "";
    if (strcmp(a, "--model") == 0 && (strcmp(v, "resnet50") == 0 || strcmp(v, "rednet50") == 0)) {
      rednet = strcmp(v, "rednet50") == 0, i++;
    } else if (strcmp(a, "--threads") == 0) {
      threads = atoi(v), i++;
    } else if (strcmp(a, "--passes") == 0) {
      passes = atoi(v), i++;
    } else if (strcmp(a, "--layout") == 0 && (strcmp(v, "nhwc") == 0 || strcmp(v, "nchw") == 0)) {
      layout = strcmp(v, "nhwc") == 0 ? IC_LAYOUT_NHWC : IC_LAYOUT_NCHW, i++;
    } else if (strcmp(a, "--per-layer") == 0) {
      per_layer = true;
    } else if (strcmp(a, "--winograd") == 0) {
      conv_flags = IC_CONV2D_WINOGRAD;
    } else if (strcmp(a, "--unfused-stem") == 0) {
      fused = false;
    } else {
      fprintf(stderr,
              "usage: %s [--model resnet50|rednet50] [--threads N] [--layout nhwc|nchw] "
              "[--passes N] [--per-layer] [--winograd] [--unfused-stem]\n",
              argv[0]);
      return 2;
    }
  }
  if (threads < 1 || passes < 1) {
    fprintf(stderr, "ic-bench-resnet50: --threads and --passes must be positive\n");
    return 2;
  }
  const double round_trip = core_round_trip_ns();
  ic_context_t* context = NULL;
  ic_status_t status = ic_context_create(threads, &context);
  if (status != IC_STATUS_SUCCESS) fail("context", status);

  static net_t net;
  net.conv_flags = conv_flags;
  float* input = floats(3 * 224 * 224);
  float* logits = floats(1000);
  build(&net, rednet, fused, input, logits);

  double* layer_seconds = calloc((size_t)net.count, sizeof(double));
  double total = 0.0, best = 1e30;
  for (int pass = -5; pass < passes; pass++) {
    const double start = bench_now_seconds();
    for (int i = 0; i < net.count; i++) {
      const double op_start = per_layer ? bench_now_seconds() : 0.0;
      run_op(&net.ops[i], context, layout);
      if (per_layer && pass >= 0) layer_seconds[i] += bench_now_seconds() - op_start;
    }
    const double seconds = bench_now_seconds() - start;
    if (pass >= 0) {
      total += seconds;
      if (seconds < best) best = seconds;
    }
  }

  printf("# invconv %s, ISA %s, %d threads, layout %s, %s 224x224 batch 1, %d operators\n",
         ic_version_string(), ic_isa_name(ic_active_isa()), (int)ic_context_num_threads(context),
         layout == IC_LAYOUT_NHWC ? "nhwc" : "nchw", rednet ? "RedNet-50" : "ResNet-50",
         net.count);
  if (round_trip > 0) {
    printf("# core-to-core round trip (CPUs 0 and 1): %.0f ns\n", round_trip);
  }
  printf("pass  mean %.3f ms  best %.3f ms  (%d passes%s)\n", total / passes * 1e3, best * 1e3,
         passes, per_layer ? ", each operator timed" : "");
  if (per_layer) {
    for (int i = 0; i < net.count; i++) {
      printf("%-14s %8.3f ms\n", net.ops[i].name, layer_seconds[i] / passes * 1e3);
    }
  }
  free(layer_seconds);
  ic_context_destroy(context);
  return 0;
}
