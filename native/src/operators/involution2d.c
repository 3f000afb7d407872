/*
 * Involution2d: the full module of the official code (d-li14/involution), kernel generation
 * included:
 *
 *   X' = stride > 1 ? AvgPool(stride, stride)(X) : X        f32-avgpool/
 *   T  = ReLU(W0' * X' + b0')   (BN folded into W0 at create) f32-pwconv/
 *   Wk = W1 * T + b1                                          f32-pwconv/
 *   Y  = aggregate(X, Wk)                                     f32-invol/
 *
 * Fused by rows: the kernel of an output pixel depends only on the input block under it, so a
 * task takes a block of output rows, generates their kernels into a per-thread tile and
 * aggregates those rows at once. The kernels tensor, which is (K*K / group_channels) times the
 * size of the input, never exists in full.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "involution-nchwc.h"
#include "ukernels.h"

static const char ic_op[] = "involution2d";

/* Target size of the per-thread tile (pooled rows, reduced features, kernels): 64 KiB. */
enum { IC_TILE_FLOATS = 16384 };

struct ic_involution2d {
  ic_involution_shape_t shape;
  int64_t reduced_channels;
  float* reduce_weight; /* [reduced][channels], BN scale folded in */
  float* reduce_bias;   /* [reduced], BN shift */
  float* span_weight;   /* [kernel_count][reduced] */
  float* span_bias;     /* [kernel_count] */
  float* out_scale;     /* [channels] or NULL: the folded BatchNorm after the module */
  float* out_shift;     /* [channels] or NULL */
  int32_t activation;   /* after out_scale/out_shift */
  ic_f32_avgpool2d_ukernel_fn avgpool_fn;
  ic_f32_pwconv2d_ukernel_fn pointwise_fn;
  ic_f32_invol2d_ukernel_fn aggregate_fn;
  bool nchwc;               /* the channel-blocked SIMD path (operators/involution-nchwc.c) */
  ic_invol_nchwc_t nchwc_path;
  char kernel_name[128];
};

static ic_status_t ic_involution2d_validate(const ic_involution2d_params_t* p,
                                            ic_involution_shape_t* shape, int64_t* reduced) {
  ic_status_t status = ic_check_datatype(ic_op, p->datatype);
  if (status == IC_STATUS_SUCCESS) status = ic_check_activation(ic_op, "activation", p->activation);
  if (status != IC_STATUS_SUCCESS) return status;
  *shape = (ic_involution_shape_t){
      .channels = p->channels,
      .kernel_size = p->kernel_size,
      .stride = p->stride,
      .dilation = p->dilation,
      .group_channels = p->group_channels,
  };
  status = ic_involution_shape_init(ic_op, shape);
  if (status == IC_STATUS_SUCCESS) {
    status = ic_check_positive(ic_op, "reduction_ratio", p->reduction_ratio);
  }
  if (status != IC_STATUS_SUCCESS) return status;
  *reduced = p->channels / p->reduction_ratio; /* floor, like the official code */
  if (*reduced == 0) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "involution2d: reduction_ratio=%" PRId64 " leaves no reduced channels "
                    "(channels=%" PRId64 " / %" PRId64 " = 0)",
                    p->reduction_ratio, p->channels, p->reduction_ratio);
  }
  /* Zero is valid, as in PyTorch: each running variance plus epsilon must then be positive,
   * which create checks per channel. */
  if (!(p->bn_epsilon >= 0.0) || !isfinite(p->bn_epsilon)) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "involution2d: bn_epsilon=%g must be finite and >= 0", p->bn_epsilon);
  }
  return IC_STATUS_SUCCESS;
}

/* Element i of a float array the caller passed as bytes, with no alignment assumption. */
static double ic_load_float(const void* array, int64_t i) {
  float value;
  memcpy(&value, (const char*)array + i * (int64_t)sizeof(float), sizeof value);
  return (double)value;
}

ic_status_t ic_involution2d_create(const ic_involution2d_params_t* params,
                                   const void* reduce_weight, size_t reduce_weight_bytes,
                                   const void* bn_weight, size_t bn_weight_bytes,
                                   const void* bn_bias, size_t bn_bias_bytes,
                                   const void* bn_running_mean, size_t bn_running_mean_bytes,
                                   const void* bn_running_var, size_t bn_running_var_bytes,
                                   const void* span_weight, size_t span_weight_bytes,
                                   const void* span_bias, size_t span_bias_bytes,
                                   const void* out_scale, size_t out_scale_bytes,
                                   const void* out_shift, size_t out_shift_bytes,
                                   ic_involution2d_t** op_out) {
  if (op_out == NULL) return ic_error(IC_STATUS_INVALID_ARGUMENT, "involution2d: op_out is NULL");
  *op_out = NULL;
  ic_involution_shape_t shape;
  int64_t reduced = 0;
  ic_status_t status = ic_check_not_null(ic_op, "params", params);
  if (status == IC_STATUS_SUCCESS) status = ic_involution2d_validate(params, &shape, &reduced);
  if (status != IC_STATUS_SUCCESS) return status;

  const int64_t channels = shape.channels, kernel_count = shape.kernel_count;
  const int64_t reduce_dims[4] = {reduced, channels, 1, 1};
  const int64_t span_dims[4] = {kernel_count, reduced, 1, 1};
  const struct {
    const char* name;
    const void* buffer;
    size_t bytes;
    const int64_t* dims;
    int rank;
  } buffers[] = {
      {"reduce_weight", reduce_weight, reduce_weight_bytes, reduce_dims, 4},
      {"bn_weight", bn_weight, bn_weight_bytes, &reduced, 1},
      {"bn_bias", bn_bias, bn_bias_bytes, &reduced, 1},
      {"bn_running_mean", bn_running_mean, bn_running_mean_bytes, &reduced, 1},
      {"bn_running_var", bn_running_var, bn_running_var_bytes, &reduced, 1},
      {"span_weight", span_weight, span_weight_bytes, span_dims, 4},
      {"span_bias", span_bias, span_bias_bytes, &kernel_count, 1},
  };
  for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; i++) {
    status = ic_check_buffer_exact(ic_op, buffers[i].name, buffers[i].buffer, buffers[i].bytes,
                                   buffers[i].dims, buffers[i].rank);
    if (status != IC_STATUS_SUCCESS) return status;
  }
  if ((out_scale == NULL) != (out_shift == NULL)) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "involution2d: out_scale and out_shift must be given together (out_scale is "
                    "%s, out_shift is %s)",
                    out_scale == NULL ? "NULL" : "set", out_shift == NULL ? "NULL" : "set");
  }
  /* Optional like a bias: NULL needs 0 bytes, otherwise exactly [channels]. */
  status = ic_check_optional_exact(ic_op, "out_scale", out_scale, out_scale_bytes, &channels, 1);
  if (status == IC_STATUS_SUCCESS) {
    status = ic_check_optional_exact(ic_op, "out_shift", out_shift, out_shift_bytes, &channels, 1);
  }
  if (status != IC_STATUS_SUCCESS) return status;
  const double epsilon = params->bn_epsilon;
  for (int64_t r = 0; r < reduced; r++) {
    const double variance = ic_load_float(bn_running_var, r);
    if (!(variance + epsilon > 0.0)) {
      return ic_error(IC_STATUS_INVALID_ARGUMENT,
                      "involution2d: bn_running_var[%" PRId64 "]=%g plus bn_epsilon=%g is not "
                      "positive",
                      r, variance, epsilon);
    }
  }

  ic_involution2d_t* op = calloc(1, sizeof *op);
  if (op == NULL) goto out_of_memory;
  op->shape = shape;
  op->reduced_channels = reduced;
  op->reduce_weight = ic_weights_copy(reduce_weight, reduce_weight_bytes / sizeof(float));
  op->reduce_bias = ic_weights_alloc((size_t)reduced * sizeof(float));
  op->span_weight = ic_weights_copy(span_weight, span_weight_bytes / sizeof(float));
  op->span_bias = ic_weights_copy(span_bias, span_bias_bytes / sizeof(float));
  if (op->reduce_weight == NULL || op->reduce_bias == NULL || op->span_weight == NULL ||
      op->span_bias == NULL) {
    goto out_of_memory;
  }
  op->activation = params->activation;
  if (out_scale != NULL) {
    op->out_scale = ic_weights_copy(out_scale, out_scale_bytes / sizeof(float));
    op->out_shift = ic_weights_copy(out_shift, out_shift_bytes / sizeof(float));
    if (op->out_scale == NULL || op->out_shift == NULL) goto out_of_memory;
  }
  /* BN(z) = (z - mean) * scale + beta with scale = gamma / sqrt(var + eps), folded in double:
   * W0' = W0 * scale, b0' = beta - mean * scale. */
  for (int64_t r = 0; r < reduced; r++) {
    const double scale =
        ic_load_float(bn_weight, r) / sqrt(ic_load_float(bn_running_var, r) + epsilon);
    float* row = op->reduce_weight + r * channels;
    for (int64_t c = 0; c < channels; c++) row[c] = (float)((double)row[c] * scale);
    op->reduce_bias[r] =
        (float)(ic_load_float(bn_bias, r) - ic_load_float(bn_running_mean, r) * scale);
  }

  const ic_isa_t isa = ic_active_isa();
  ic_ukernel_info_t avgpool_info, pointwise_info, aggregate_info;
  op->avgpool_fn = ic_select_f32_avgpool2d_ukernel(isa, &avgpool_info);
  op->pointwise_fn = ic_select_f32_pwconv2d_ukernel(isa, &pointwise_info);
  op->aggregate_fn = ic_select_f32_invol2d_ukernel(isa, &aggregate_info);
  op->nchwc = ic_invol_nchwc_select(isa, &shape, &op->nchwc_path);
  if (op->nchwc) {
    snprintf(op->kernel_name, sizeof op->kernel_name, "%s+%s",
             op->nchwc_path.generate_info.name, op->nchwc_path.aggregate_info.name);
  } else if (shape.stride > 1) {
    snprintf(op->kernel_name, sizeof op->kernel_name, "%s+%s+%s", avgpool_info.name,
             pointwise_info.name, aggregate_info.name);
  } else {
    snprintf(op->kernel_name, sizeof op->kernel_name, "%s+%s", pointwise_info.name,
             aggregate_info.name);
  }
  *op_out = op;
  return IC_STATUS_SUCCESS;

out_of_memory:
  ic_involution2d_destroy(op);
  return ic_error(IC_STATUS_OUT_OF_MEMORY, "involution2d: out of memory copying the weights");
}

/* Output size, plus the module's extra rule: pooled and output sizes must agree. */
static ic_status_t ic_involution2d_output(const ic_involution2d_t* op, int64_t in_h,
                                          int64_t in_w, int64_t* out_h, int64_t* out_w) {
  const ic_involution_shape_t* s = &op->shape;
  ic_status_t status = ic_involution_output(ic_op, s, in_h, in_w, out_h, out_w);
  if (status != IC_STATUS_SUCCESS || s->stride == 1) return status;
  const int64_t in[2] = {in_h, in_w};
  const int64_t out[2] = {*out_h, *out_w};
  for (int axis = 0; axis < 2; axis++) {
    if (in[axis] % s->stride != 0) {
      return ic_error(IC_STATUS_INVALID_ARGUMENT,
                      "involution2d: %s=%" PRId64 " is not a multiple of stride=%" PRId64
                      " (the pooled size %" PRId64 " would differ from the output size %" PRId64
                      ")",
                      axis == 0 ? "in_h" : "in_w", in[axis], s->stride, in[axis] / s->stride,
                      out[axis]);
    }
  }
  return IC_STATUS_SUCCESS;
}

ic_status_t ic_involution2d_output_size(const ic_involution2d_t* op, int64_t in_h, int64_t in_w,
                                        int64_t* out_h_out, int64_t* out_w_out) {
  ic_status_t status = ic_check_size_outputs(ic_op, out_h_out, out_w_out);
  if (status == IC_STATUS_SUCCESS) status = ic_check_not_null(ic_op, "op", op);
  if (status != IC_STATUS_SUCCESS) return status;
  int64_t out_h, out_w;
  status = ic_involution2d_output(op, in_h, in_w, &out_h, &out_w);
  if (status != IC_STATUS_SUCCESS) return status;
  *out_h_out = out_h;
  *out_w_out = out_w;
  return IC_STATUS_SUCCESS;
}

typedef struct ic_involution2d_job {
  const ic_involution2d_t* op;
  ic_invol2d_geometry_t geometry;
  ic_tiling_t tiling;
  const float* src;
  float* dst;
  ic_strides_t src_strides, dst_strides;
  float* scratch;
  int64_t tile_floats;
} ic_involution2d_job_t;

/* y = act(out_scale[c] * y + out_shift[c]): the affine in double, rounded once (what a fused
 * multiply-add gives), then the activation. */
static inline void ic_involution2d_epilogue(const ic_involution2d_t* op, float* value,
                                            int64_t c) {
  float v = *value;
  if (op->out_scale != NULL) {
    v = (float)((double)op->out_scale[c] * (double)v + (double)op->out_shift[c]);
  }
  *value = ic_activate(v, op->activation);
}

static void ic_involution2d_task(void* arg, size_t task, uint32_t thread_index) {
  const ic_involution2d_job_t* job = arg;
  const ic_involution2d_t* op = job->op;
  const ic_invol2d_geometry_t* g = &job->geometry;
  const ic_tile_t rows = ic_tiling_tile(&job->tiling, task);
  const int64_t pixels = (rows.r1 - rows.r0) * g->out_w;
  const ic_strides_t xs = job->src_strides, ys = job->dst_strides;
  const float* image = job->src + rows.n * xs.n;

  /* Tile: [pooled: channels][reduced][kernels: kernel_count], each [rows][out_w]. */
  float* pooled = job->scratch + (int64_t)thread_index * job->tile_floats;
  float* reduced = g->stride > 1 ? pooled + g->channels * pixels : pooled;
  float* kernels = reduced + op->reduced_channels * pixels;

  ic_f32_pwconv2d_args_t reduce = {
      .in_channels = g->channels,
      .weights = op->reduce_weight,
      .bias = op->reduce_bias,
      .activation = IC_ACTIVATION_RELU,
      .pixels = pixels,
      .dst = reduced,
      .dst_stride_c = pixels,
      .dst_stride_p = 1,
      .c0 = 0,
      .c1 = op->reduced_channels,
  };
  if (g->stride > 1) {
    /* AvgPool(s, s): window = stride, no padding; in_h, in_w are multiples of s. */
    const ic_pool2d_geometry_t pool_geometry = {
        .channels = g->channels,
        .in_h = g->in_h,
        .in_w = g->in_w,
        .out_h = g->out_h,
        .out_w = g->out_w,
        .kernel_h = g->stride,
        .kernel_w = g->stride,
        .stride_h = g->stride,
        .stride_w = g->stride,
        .count_include_pad = 1,
    };
    const ic_f32_avgpool2d_args_t pool = {
        .geometry = &pool_geometry,
        .src = image,
        .src_stride = {xs.c, xs.h, xs.w},
        .dst = pooled,
        .dst_stride = {pixels, g->out_w, 1},
        .y0 = rows.r0,
        .y1 = rows.r1,
        .c0 = 0,
        .c1 = g->channels,
    };
    op->avgpool_fn(&pool);
    reduce.src = pooled;
    reduce.src_stride_c = pixels;
    reduce.src_stride_p = 1;
  } else {
    /* Stride 1: X' is X, and output rows are input rows — read them in place. */
    reduce.src = image + rows.r0 * xs.h;
    reduce.src_stride_c = xs.c;
    reduce.src_stride_p = xs.w;
  }
  op->pointwise_fn(&reduce);

  const ic_f32_pwconv2d_args_t span = {
      .in_channels = op->reduced_channels,
      .weights = op->span_weight,
      .bias = op->span_bias,
      .activation = IC_ACTIVATION_NONE,
      .pixels = pixels,
      .src = reduced,
      .src_stride_c = pixels,
      .src_stride_p = 1,
      .dst = kernels,
      .dst_stride_c = pixels,
      .dst_stride_p = 1,
      .c0 = 0,
      .c1 = g->channels / g->group_channels * g->kernel_size * g->kernel_size,
  };
  op->pointwise_fn(&span);

  const ic_f32_invol2d_args_t aggregate = {
      .geometry = g,
      .src = image,
      .src_stride = {xs.c, xs.h, xs.w},
      .kernels = kernels,
      .kernels_stride = {pixels, g->out_w, 1},
      .dst = job->dst + rows.n * ys.n + rows.r0 * ys.h,
      .dst_stride = {ys.c, ys.h, ys.w},
      .y0 = rows.r0,
      .y1 = rows.r1,
      .c0 = 0,
      .c1 = g->channels,
  };
  op->aggregate_fn(&aggregate);

  /* The output epilogue, while the tile's rows are still in cache. */
  if (op->out_scale == NULL && op->activation == IC_ACTIVATION_NONE) return;
  float* out = job->dst + rows.n * ys.n;
  for (int64_t y = rows.r0; y < rows.r1; y++) {
    float* row = out + y * ys.h;
    if (ys.w == 1) { /* NCHW: a row of one channel is contiguous */
      for (int64_t c = 0; c < g->channels; c++) {
        for (int64_t x = 0; x < g->out_w; x++) {
          ic_involution2d_epilogue(op, row + c * ys.c + x, c);
        }
      }
    } else { /* NHWC: the channels of a pixel are */
      for (int64_t x = 0; x < g->out_w; x++) {
        for (int64_t c = 0; c < g->channels; c++) {
          ic_involution2d_epilogue(op, row + x * ys.w + c, c);
        }
      }
    }
  }
}

ic_status_t ic_involution2d_run(const ic_involution2d_t* op, ic_context_t* context,
                                int32_t layout, int64_t batch, int64_t in_h, int64_t in_w,
                                const void* src, size_t src_bytes, void* dst, size_t dst_bytes) {
  ic_status_t status = ic_check_not_null(ic_op, "op", op);
  if (status == IC_STATUS_SUCCESS) status = ic_check_layout(ic_op, layout);
  if (status == IC_STATUS_SUCCESS) status = ic_check_positive(ic_op, "batch", batch);
  if (status != IC_STATUS_SUCCESS) return status;
  const ic_involution_shape_t* s = &op->shape;
  int64_t out_h, out_w;
  status = ic_involution2d_output(op, in_h, in_w, &out_h, &out_w);
  if (status != IC_STATUS_SUCCESS) return status;

  const int64_t src_dims[4] = {batch, s->channels, in_h, in_w};
  const int64_t dst_dims[4] = {batch, s->channels, out_h, out_w};
  size_t src_needed, dst_needed;
  status = ic_check_buffer_min(ic_op, "src", src, src_bytes, src_dims, 4, &src_needed);
  if (status == IC_STATUS_SUCCESS) {
    status = ic_check_buffer_min(ic_op, "dst", dst, dst_bytes, dst_dims, 4, &dst_needed);
  }
  if (status != IC_STATUS_SUCCESS) return status;
  if (ic_ranges_overlap(dst, dst_needed, src, src_needed)) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT, "involution2d: dst overlaps src");
  }

  if (op->nchwc) {
    const ic_invol_nchwc_weights_t weights = {
        .reduced = op->reduced_channels,
        .reduce_weight = op->reduce_weight,
        .reduce_bias = op->reduce_bias,
        .span_weight = op->span_weight,
        .span_bias = op->span_bias,
        .out_scale = op->out_scale,
        .out_shift = op->out_shift,
        .activation = op->activation,
    };
    return ic_invol_nchwc_module(&op->nchwc_path, s, &weights, context, layout, batch, in_h,
                                 in_w, out_h, out_w, src, dst);
  }

  /* Per output row: pooled channels (stride > 1), reduced features and kernels. */
  int64_t per_pixel = op->reduced_channels + s->kernel_count + (s->stride > 1 ? s->channels : 0);
  const int64_t row_floats = ic_mul_saturate(per_pixel, out_w);
  const int64_t row_block = ic_min_i64(ic_max_i64(IC_TILE_FLOATS / row_floats, 1), out_h);
  const int64_t threads = ic_context_num_threads(context);
  int64_t tile_floats, scratch_floats;
  if (ic_mul_overflow(row_floats, row_block, &tile_floats) ||
      !ic_thread_slice_floats(tile_floats, &tile_floats) ||
      ic_mul_overflow(tile_floats, threads, &scratch_floats) ||
      (uint64_t)scratch_floats > SIZE_MAX / sizeof(float)) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "involution2d: the kernel-generation tile of %" PRId64 " x %" PRId64
                    " floats for %" PRId64 " threads overflows",
                    per_pixel, out_w, threads);
  }
  float* scratch = ic_invol_scratch((size_t)scratch_floats * sizeof(float));
  if (scratch == NULL) {
    return ic_error(IC_STATUS_OUT_OF_MEMORY,
                    "involution2d: out of memory allocating %" PRId64
                    " bytes of kernel-generation tiles",
                    scratch_floats * (int64_t)sizeof(float));
  }

  ic_involution2d_job_t job = {
      .op = op,
      .geometry = {s->channels, s->group_channels, s->kernel_size, s->stride, s->dilation,
                   s->padding, in_h, in_w, out_h, out_w},
      .src = src,
      .dst = dst,
      .src_strides = ic_layout_strides(layout, s->channels, in_h, in_w),
      .dst_strides = ic_layout_strides(layout, s->channels, out_h, out_w),
      .scratch = scratch,
      .tile_floats = tile_floats,
  };
  ic_tiling_rows(&job.tiling, batch, out_h, row_block);
  ic_parallelize(context, job.tiling.task_count, ic_involution2d_task, &job);
  return IC_STATUS_SUCCESS;
}

const char* ic_involution2d_kernel_name(const ic_involution2d_t* op) {
  return op != NULL ? op->kernel_name : "";
}

void ic_involution2d_destroy(ic_involution2d_t* op) {
  if (op == NULL) return;
  ic_weights_free(op->reduce_weight);
  ic_weights_free(op->reduce_bias);
  ic_weights_free(op->span_weight);
  ic_weights_free(op->span_bias);
  ic_weights_free(op->out_scale);
  ic_weights_free(op->out_shift);
  free(op);
}
