/*
 * Involution aggregation with caller-supplied kernels (Li et al., CVPR 2021; official
 * d-li14/involution semantics): every output pixel has its own K x K kernel per channel
 * group, shared by the group's group_channels consecutive channels.
 *
 * Kernels: on AVX2/AVX-512 with group_channels a multiple of 8, the channel-blocked path of
 * operators/involution-nchwc.c (f32-invol/ nchwc kernels); otherwise f32-invol/
 * (ic_f32_invol2d_ukernel_*), with tasks of (image, channel block, row block).
 * The hyper-parameter checks here are shared with Involution2d (operators/involution2d.c).
 */
#include <inttypes.h>
#include <stdlib.h>

#include "internal.h"
#include "involution-nchwc.h"
#include "ukernels.h"

static const char ic_op[] = "involution";

struct ic_involution_aggregate {
  ic_involution_shape_t shape;
  ic_ukernel_info_t kernel;
  ic_f32_invol2d_ukernel_fn fn;
  bool nchwc; /* the channel-blocked SIMD path (operators/involution-nchwc.c) */
  ic_invol_nchwc_t nchwc_path;
};

ic_status_t ic_involution_shape_init(const char* op, ic_involution_shape_t* s) {
  ic_status_t status = ic_check_positive(op, "channels", s->channels);
  if (status == IC_STATUS_SUCCESS) status = ic_check_positive(op, "kernel_size", s->kernel_size);
  if (status == IC_STATUS_SUCCESS) status = ic_check_positive(op, "stride", s->stride);
  if (status == IC_STATUS_SUCCESS) status = ic_check_positive(op, "dilation", s->dilation);
  if (status == IC_STATUS_SUCCESS) {
    status = ic_check_positive(op, "group_channels", s->group_channels);
  }
  if (status != IC_STATUS_SUCCESS) return status;
  if (s->kernel_size % 2 == 0) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "%s: kernel_size=%" PRId64 " must be odd (the window is centred)", op,
                    s->kernel_size);
  }
  if (s->channels % s->group_channels != 0) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "%s: channels=%" PRId64 " is not a multiple of group_channels=%" PRId64, op,
                    s->channels, s->group_channels);
  }
  s->groups = s->channels / s->group_channels;
  int64_t taps, extent;
  if (ic_mul_overflow(s->kernel_size, s->kernel_size, &taps) ||
      ic_mul_overflow(taps, s->groups, &s->kernel_count) ||
      ic_mul_overflow(s->kernel_size - 1, s->dilation, &extent) ||
      ic_add_overflow(extent, 1, &extent)) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "%s: kernel_size=%" PRId64 " with dilation=%" PRId64 " and %" PRId64
                    " groups overflows",
                    op, s->kernel_size, s->dilation, s->groups);
  }
  s->padding = (s->kernel_size - 1) / 2 * s->dilation;
  return IC_STATUS_SUCCESS;
}

ic_status_t ic_involution_output(const char* op, const ic_involution_shape_t* s, int64_t in_h,
                                 int64_t in_w, int64_t* out_h, int64_t* out_w) {
  ic_status_t status = ic_check_positive(op, "in_h", in_h);
  if (status == IC_STATUS_SUCCESS) status = ic_check_positive(op, "in_w", in_w);
  if (status != IC_STATUS_SUCCESS) return status;
  /* The padding makes the window fit any input: in + 2p - extent = in - 1 >= 0. */
  const int64_t extent = (s->kernel_size - 1) * s->dilation + 1;
  const int64_t in[2] = {in_h, in_w};
  int64_t* out[2] = {out_h, out_w};
  for (int axis = 0; axis < 2; axis++) {
    int64_t span;
    if (ic_add_overflow(in[axis], 2 * s->padding, &span)) {
      return ic_error(IC_STATUS_INVALID_ARGUMENT,
                      "%s: %s=%" PRId64 " plus padding 2*%" PRId64 " overflows", op,
                      axis == 0 ? "in_h" : "in_w", in[axis], s->padding);
    }
    *out[axis] = (span - extent) / s->stride + 1;
  }
  return IC_STATUS_SUCCESS;
}

ic_status_t ic_involution_aggregate_create(const ic_involution_params_t* params,
                                           ic_involution_aggregate_t** op_out) {
  if (op_out == NULL) return ic_error(IC_STATUS_INVALID_ARGUMENT, "involution: op_out is NULL");
  *op_out = NULL;
  ic_status_t status = ic_check_not_null(ic_op, "params", params);
  if (status == IC_STATUS_SUCCESS) status = ic_check_datatype(ic_op, params->datatype);
  if (status == IC_STATUS_SUCCESS) status = ic_check_reserved(ic_op, params->reserved);
  if (status != IC_STATUS_SUCCESS) return status;
  ic_involution_shape_t shape = {
      .channels = params->channels,
      .kernel_size = params->kernel_size,
      .stride = params->stride,
      .dilation = params->dilation,
      .group_channels = params->group_channels,
  };
  status = ic_involution_shape_init(ic_op, &shape);
  if (status != IC_STATUS_SUCCESS) return status;

  ic_involution_aggregate_t* op = calloc(1, sizeof *op);
  if (op == NULL) return ic_error(IC_STATUS_OUT_OF_MEMORY, "involution: out of memory");
  op->shape = shape;
  const ic_isa_t isa = ic_active_isa();
  op->fn = ic_select_f32_invol2d_ukernel(isa, &op->kernel);
  op->nchwc = ic_invol_nchwc_select(isa, &shape, &op->nchwc_path);
  if (op->nchwc) op->kernel = op->nchwc_path.aggregate_info;
  *op_out = op;
  return IC_STATUS_SUCCESS;
}

ic_status_t ic_involution_aggregate_output_size(const ic_involution_aggregate_t* op, int64_t in_h,
                                                int64_t in_w, int64_t* out_h_out,
                                                int64_t* out_w_out) {
  ic_status_t status = ic_check_size_outputs(ic_op, out_h_out, out_w_out);
  if (status == IC_STATUS_SUCCESS) status = ic_check_not_null(ic_op, "op", op);
  if (status != IC_STATUS_SUCCESS) return status;
  int64_t out_h, out_w;
  status = ic_involution_output(ic_op, &op->shape, in_h, in_w, &out_h, &out_w);
  if (status != IC_STATUS_SUCCESS) return status;
  *out_h_out = out_h;
  *out_w_out = out_w;
  return IC_STATUS_SUCCESS;
}

typedef struct ic_aggregate_job {
  const ic_involution_aggregate_t* op;
  ic_invol2d_geometry_t geometry;
  ic_tiling_t tiling;
  const float* src;
  const float* kernels;
  float* dst;
  ic_strides_t src_strides, kernels_strides, dst_strides;
} ic_aggregate_job_t;

static void ic_aggregate_task(void* arg, size_t task, uint32_t thread_index) {
  (void)thread_index;
  const ic_aggregate_job_t* job = arg;
  const ic_tile_t tile = ic_tiling_tile(&job->tiling, task);
  const ic_strides_t xs = job->src_strides, ks = job->kernels_strides, ys = job->dst_strides;
  const ic_f32_invol2d_args_t args = {
      .geometry = &job->geometry,
      .src = job->src + tile.n * xs.n,
      .src_stride = {xs.c, xs.h, xs.w},
      .kernels = job->kernels + tile.n * ks.n + tile.r0 * ks.h,
      .kernels_stride = {ks.c, ks.h, ks.w},
      .dst = job->dst + tile.n * ys.n + tile.r0 * ys.h,
      .dst_stride = {ys.c, ys.h, ys.w},
      .y0 = tile.r0,
      .y1 = tile.r1,
      .c0 = tile.c0,
      .c1 = tile.c1,
  };
  job->op->fn(&args);
}

ic_status_t ic_involution_aggregate_run(const ic_involution_aggregate_t* op,
                                        ic_context_t* context, int32_t layout, int64_t batch,
                                        int64_t in_h, int64_t in_w, const void* src,
                                        size_t src_bytes, const void* kernels,
                                        size_t kernels_bytes, void* dst, size_t dst_bytes) {
  ic_status_t status = ic_check_not_null(ic_op, "op", op);
  if (status == IC_STATUS_SUCCESS) status = ic_check_layout(ic_op, layout);
  if (status == IC_STATUS_SUCCESS) status = ic_check_positive(ic_op, "batch", batch);
  if (status != IC_STATUS_SUCCESS) return status;
  int64_t out_h, out_w;
  status = ic_involution_output(ic_op, &op->shape, in_h, in_w, &out_h, &out_w);
  if (status != IC_STATUS_SUCCESS) return status;
  /* The stride only multiplies output indices: over a single output it is taken as 1, so that
   * a huge one (valid: the window fits) never enters the kernels' offset arithmetic (as the
   * windows of ic_window_output_t; more than one output along an axis bounds it by in - 1). */
  ic_involution_shape_t run_shape = op->shape;
  if (out_h == 1 && out_w == 1) run_shape.stride = 1;
  const ic_involution_shape_t* s = &run_shape;

  const int64_t src_dims[4] = {batch, s->channels, in_h, in_w};
  const int64_t kernels_dims[4] = {batch, s->kernel_count, out_h, out_w};
  const int64_t dst_dims[4] = {batch, s->channels, out_h, out_w};
  size_t src_needed, kernels_needed, dst_needed;
  status = ic_check_buffer_min(ic_op, "src", src, src_bytes, src_dims, 4, &src_needed);
  if (status == IC_STATUS_SUCCESS) {
    status = ic_check_buffer_min(ic_op, "kernels", kernels, kernels_bytes, kernels_dims, 4,
                                 &kernels_needed);
  }
  if (status == IC_STATUS_SUCCESS) {
    status = ic_check_buffer_min(ic_op, "dst", dst, dst_bytes, dst_dims, 4, &dst_needed);
  }
  if (status != IC_STATUS_SUCCESS) return status;
  if (ic_ranges_overlap(dst, dst_needed, src, src_needed)) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT, "involution: dst overlaps src");
  }
  if (ic_ranges_overlap(dst, dst_needed, kernels, kernels_needed)) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT, "involution: dst overlaps kernels");
  }

  if (op->nchwc) {
    return ic_invol_nchwc_aggregate(&op->nchwc_path, s, context, layout, batch, in_h, in_w,
                                    out_h, out_w, src, kernels, dst);
  }

  ic_aggregate_job_t job = {
      .op = op,
      .geometry = {s->channels, s->group_channels, s->kernel_size, s->stride, s->dilation,
                   s->padding, in_h, in_w, out_h, out_w},
      .src = src,
      .kernels = kernels,
      .dst = dst,
      .src_strides = ic_layout_strides(layout, s->channels, in_h, in_w),
      .kernels_strides = ic_layout_strides(layout, s->kernel_count, out_h, out_w),
      .dst_strides = ic_layout_strides(layout, s->channels, out_h, out_w),
  };
  const int64_t work = ic_mul_saturate(ic_mul_saturate(s->kernel_size, s->kernel_size), out_w);
  ic_tiling_plan(&job.tiling, batch, s->channels, out_h, work, true, 1);
  ic_parallelize(context, job.tiling.task_count, ic_aggregate_task, &job);
  return IC_STATUS_SUCCESS;
}

const char* ic_involution_aggregate_kernel_name(const ic_involution_aggregate_t* op) {
  return op != NULL ? op->kernel.name : "";
}

void ic_involution_aggregate_destroy(ic_involution_aggregate_t* op) { free(op); }
