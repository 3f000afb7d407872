/*
 * Pool2d (max and average over K x K windows, with Conv2d's padding modes at dilation 1) and
 * global average pooling.
 *
 *   max      f32-maxpool/  ic_f32_maxpool2d_ukernel_*
 *   average  f32-avgpool/  ic_f32_avgpool2d_ukernel_*   (global average pooling too: one
 *                                                        window covering the whole image)
 *
 * The SIMD kernels (AVX2, AVX-512) vectorise along output x in NCHW and along channels in NHWC
 * and give the scalar kernels' bits, so neither the ISA nor the task cut changes a result.
 *
 * A window must hold at least one input element (a max or mean of nothing has no value).
 * Padding that puts the first window entirely in padding (pad_top >= kernel_h or
 * pad_left >= kernel_w) is refused at create; the last window depends on the input size as
 * well, so output_size and run refuse an input whose last row or column window would lie
 * entirely in the bottom or right padding. VALID, SAME and FULL never produce such a window.
 *
 * Work is split like the convolutions': tasks of (image, channel block, row block), each
 * output element computed by one task in a fixed order, so results do not depend on the
 * thread count.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "internal.h"
#include "pool2d.h"
#include "ukernels.h"

static const char ic_op[] = "pool2d";
static const char ic_gap_op[] = "global_average_pool";

struct ic_pool2d {
  ic_pool2d_params_t params;
  ic_window_t window;
  ic_ukernel_info_t kernel;
  ic_f32_pool2d_ukernel_fn fn;
};

static ic_window_t ic_pool2d_window(const ic_pool2d_params_t* p) {
  return (ic_window_t){
      .padding = p->padding,
      .kernel_h = p->kernel_h,
      .kernel_w = p->kernel_w,
      .stride_h = p->stride_h,
      .stride_w = p->stride_w,
      .dilation_h = 1,
      .dilation_w = 1,
      .pad_top = p->pad_top,
      .pad_left = p->pad_left,
      .pad_bottom = p->pad_bottom,
      .pad_right = p->pad_right,
  };
}

static ic_status_t ic_pool2d_validate(const ic_pool2d_params_t* p) {
  ic_status_t status = ic_check_datatype(ic_op, p->datatype);
  if (status != IC_STATUS_SUCCESS) return status;
  if (p->pool != IC_POOL_MAX && p->pool != IC_POOL_AVERAGE) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "pool2d: pool=%d is not a valid ic_pool_t (0 max, 1 average)", (int)p->pool);
  }
  status = ic_check_positive(ic_op, "channels", p->channels);
  if (status != IC_STATUS_SUCCESS) return status;
  const ic_window_t window = ic_pool2d_window(p);
  status = ic_window_validate(ic_op, &window);
  if (status != IC_STATUS_SUCCESS) return status;
  if (p->count_include_pad != 0 && p->count_include_pad != 1) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT, "pool2d: count_include_pad=%d must be 0 or 1",
                    (int)p->count_include_pad);
  }
  if (p->pool == IC_POOL_MAX && p->count_include_pad != 0) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "pool2d: count_include_pad=%d must be 0 for max pooling (it applies to "
                    "average pooling only)",
                    (int)p->count_include_pad);
  }
  /* The first window starts pad rows/columns before the input and spans kernel of them. */
  if (p->pad_top >= p->kernel_h) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "pool2d: pad_top=%" PRId64 " must be less than kernel_h=%" PRId64
                    " (the first window would lie entirely in padding)",
                    p->pad_top, p->kernel_h);
  }
  if (p->pad_left >= p->kernel_w) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "pool2d: pad_left=%" PRId64 " must be less than kernel_w=%" PRId64
                    " (the first window would lie entirely in padding)",
                    p->pad_left, p->kernel_w);
  }
  return IC_STATUS_SUCCESS;
}

ic_status_t ic_pool2d_create(const ic_pool2d_params_t* params, ic_pool2d_t** pool_out) {
  if (pool_out == NULL) return ic_error(IC_STATUS_INVALID_ARGUMENT, "pool2d: pool_out is NULL");
  *pool_out = NULL;
  ic_status_t status = ic_check_not_null(ic_op, "params", params);
  if (status == IC_STATUS_SUCCESS) status = ic_pool2d_validate(params);
  if (status != IC_STATUS_SUCCESS) return status;

  ic_pool2d_t* pool = calloc(1, sizeof *pool);
  if (pool == NULL) return ic_error(IC_STATUS_OUT_OF_MEMORY, "pool2d: out of memory");
  pool->params = *params;
  pool->window = ic_pool2d_window(params);
  const ic_isa_t isa = ic_active_isa();
  pool->fn = params->pool == IC_POOL_MAX ? ic_select_f32_maxpool2d_ukernel(isa, &pool->kernel)
                                         : ic_select_f32_avgpool2d_ukernel(isa, &pool->kernel);
  *pool_out = pool;
  return IC_STATUS_SUCCESS;
}

/* Output size and resolved padding, plus the rule that the last windows hold an element. */
static ic_status_t ic_pool2d_output(const ic_pool2d_t* pool, int64_t in_h, int64_t in_w,
                                    ic_window_output_t* output) {
  const ic_window_t* w = &pool->window;
  ic_status_t status = ic_window_output(ic_op, w, in_h, in_w, output);
  if (status != IC_STATUS_SUCCESS) return status;
  /* (out - 1) * stride <= in + pads - kernel by construction: no overflow. */
  const int64_t last_row = (output->out_h - 1) * w->stride_h - output->pad_top;
  if (last_row >= in_h) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "pool2d: the window of the last output row (input rows %" PRId64 " to %" PRId64
                    ") lies entirely in padding: in_h=%" PRId64 " with pad_bottom=%" PRId64
                    ", kernel_h=%" PRId64 ", stride_h=%" PRId64,
                    last_row, last_row + w->kernel_h - 1, in_h, w->pad_bottom, w->kernel_h,
                    w->stride_h);
  }
  const int64_t last_column = (output->out_w - 1) * w->stride_w - output->pad_left;
  if (last_column >= in_w) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "pool2d: the window of the last output column (input columns %" PRId64
                    " to %" PRId64 ") lies entirely in padding: in_w=%" PRId64
                    " with pad_right=%" PRId64 ", kernel_w=%" PRId64 ", stride_w=%" PRId64,
                    last_column, last_column + w->kernel_w - 1, in_w, w->pad_right, w->kernel_w,
                    w->stride_w);
  }
  return IC_STATUS_SUCCESS;
}

ic_status_t ic_pool2d_output_size(const ic_pool2d_t* pool, int64_t in_h, int64_t in_w,
                                  int64_t* out_h_out, int64_t* out_w_out) {
  ic_status_t status = ic_check_size_outputs(ic_op, out_h_out, out_w_out);
  if (status == IC_STATUS_SUCCESS) status = ic_check_not_null(ic_op, "pool", pool);
  if (status != IC_STATUS_SUCCESS) return status;
  ic_window_output_t output;
  status = ic_pool2d_output(pool, in_h, in_w, &output);
  if (status != IC_STATUS_SUCCESS) return status;
  *out_h_out = output.out_h;
  *out_w_out = output.out_w;
  return IC_STATUS_SUCCESS;
}

/* Everything a task needs; lives on the stack of the run. */
typedef struct ic_pool2d_job {
  ic_f32_pool2d_ukernel_fn fn;
  ic_pool2d_geometry_t geometry;
  ic_tiling_t tiling;
  const float* src;
  float* dst;
  ic_strides_t src_strides, dst_strides;
} ic_pool2d_job_t;

static void ic_pool2d_task(void* arg, size_t task, uint32_t thread_index) {
  (void)thread_index;
  const ic_pool2d_job_t* job = arg;
  const ic_tile_t tile = ic_tiling_tile(&job->tiling, task);
  const ic_strides_t xs = job->src_strides, ys = job->dst_strides;
  const ic_f32_pool2d_args_t args = {
      .geometry = &job->geometry,
      .src = job->src + tile.n * xs.n,
      .src_stride = {xs.c, xs.h, xs.w},
      .dst = job->dst + tile.n * ys.n + tile.r0 * ys.h,
      .dst_stride = {ys.c, ys.h, ys.w},
      .y0 = tile.r0,
      .y1 = tile.r1,
      .c0 = tile.c0,
      .c1 = tile.c1,
  };
  job->fn(&args);
}

/* Validated buffers, geometry and kernel: splits the output and runs the kernel on each task.
 * work_per_row: the tiling's work estimate of one output row of one channel. */
static void ic_pool2d_execute(ic_context_t* context, ic_f32_pool2d_ukernel_fn fn,
                              const ic_pool2d_geometry_t* geometry, int64_t work_per_row,
                              int32_t layout, int64_t batch, const void* src, void* dst) {
  const ic_pool2d_geometry_t* g = geometry;
  ic_pool2d_job_t job = {
      .fn = fn,
      .geometry = *g,
      .src = src,
      .dst = dst,
      .src_strides = ic_layout_strides(layout, g->channels, g->in_h, g->in_w),
      .dst_strides = ic_layout_strides(layout, g->channels, g->out_h, g->out_w),
  };
  ic_tiling_plan(&job.tiling, batch, g->channels, g->out_h, work_per_row, true, 1);
  job.tiling.rows_outer = true; /* no weights: each thread takes a band of rows (ic_run_tasks) */
  ic_parallelize(context, job.tiling.task_count, ic_pool2d_task, &job);
}

ic_status_t ic_pool2d_prepare(const ic_pool2d_t* pool, int64_t in_h, int64_t in_w,
                              ic_pool2d_geometry_t* geometry, ic_f32_pool2d_ukernel_fn* fn) {
  ic_window_output_t output;
  const ic_status_t status = ic_pool2d_output(pool, in_h, in_w, &output);
  if (status != IC_STATUS_SUCCESS) return status;
  const ic_pool2d_params_t* p = &pool->params;
  *geometry = (ic_pool2d_geometry_t){
      .channels = p->channels,
      .in_h = in_h,
      .in_w = in_w,
      .out_h = output.out_h,
      .out_w = output.out_w,
      .kernel_h = p->kernel_h,
      .kernel_w = p->kernel_w,
      .stride_h = output.stride_h,
      .stride_w = output.stride_w,
      .pad_top = output.pad_top,
      .pad_left = output.pad_left,
      .count_include_pad = p->count_include_pad,
  };
  *fn = pool->fn;
  return IC_STATUS_SUCCESS;
}

ic_status_t ic_pool2d_run(const ic_pool2d_t* pool, ic_context_t* context, int32_t layout,
                          int64_t batch, int64_t in_h, int64_t in_w, const void* src,
                          size_t src_bytes, void* dst, size_t dst_bytes) {
  ic_status_t status = ic_check_not_null(ic_op, "pool", pool);
  if (status == IC_STATUS_SUCCESS) status = ic_check_layout(ic_op, layout);
  if (status == IC_STATUS_SUCCESS) status = ic_check_positive(ic_op, "batch", batch);
  if (status != IC_STATUS_SUCCESS) return status;
  ic_pool2d_geometry_t geometry;
  ic_f32_pool2d_ukernel_fn fn;
  status = ic_pool2d_prepare(pool, in_h, in_w, &geometry, &fn);
  if (status != IC_STATUS_SUCCESS) return status;

  const int64_t src_dims[4] = {batch, geometry.channels, in_h, in_w};
  const int64_t dst_dims[4] = {batch, geometry.channels, geometry.out_h, geometry.out_w};
  status = ic_check_src_dst(ic_op, src_dims, src, src_bytes, dst_dims, dst, dst_bytes);
  if (status != IC_STATUS_SUCCESS) return status;

  /* Half the taps as the work estimate, for tasks of twice the rows: the SIMD max kernels scan
   * a task's input rows for NaN and -0.0 before pooling them (f32-maxpool2d-impl.h), and with
   * one output row per task a stride-1 pool would scan kernel_h input rows per output row.
   * ResNet's stem becomes 14 tasks of 4 rows, an even split on 2 threads. */
  const int64_t taps = ic_mul_saturate(geometry.kernel_h, geometry.kernel_w);
  ic_pool2d_execute(context, fn, &geometry, ic_mul_saturate(taps, geometry.out_w) / 2, layout,
                    batch, src, dst);
  return IC_STATUS_SUCCESS;
}

const char* ic_pool2d_kernel_name(const ic_pool2d_t* pool) {
  return pool != NULL ? pool->kernel.name : "";
}

void ic_pool2d_destroy(ic_pool2d_t* pool) { free(pool); }

/* ---------------------------------------------------------------------------------------------
 * Global average pooling: one in_h x in_w window per channel, i.e. average pooling with the
 * whole image as kernel; the same kernel family, so the same summation order.
 * ------------------------------------------------------------------------------------------- */

ic_status_t ic_global_average_pool_run(ic_context_t* context, int32_t layout, int64_t batch,
                                       int64_t channels, int64_t in_h, int64_t in_w,
                                       const void* src, size_t src_bytes, void* dst,
                                       size_t dst_bytes) {
  ic_status_t status = ic_check_layout(ic_gap_op, layout);
  if (status == IC_STATUS_SUCCESS) status = ic_check_positive(ic_gap_op, "batch", batch);
  if (status == IC_STATUS_SUCCESS) status = ic_check_positive(ic_gap_op, "channels", channels);
  if (status == IC_STATUS_SUCCESS) status = ic_check_positive(ic_gap_op, "in_h", in_h);
  if (status == IC_STATUS_SUCCESS) status = ic_check_positive(ic_gap_op, "in_w", in_w);
  if (status != IC_STATUS_SUCCESS) return status;
  const int64_t src_dims[4] = {batch, channels, in_h, in_w};
  const int64_t dst_dims[4] = {batch, channels, 1, 1};
  /* Checks that batch * channels * in_h * in_w floats fit: every product below does too. */
  status = ic_check_src_dst(ic_gap_op, src_dims, src, src_bytes, dst_dims, dst, dst_bytes);
  if (status != IC_STATUS_SUCCESS) return status;

  ic_ukernel_info_t info;
  const ic_f32_avgpool2d_ukernel_fn fn = ic_select_f32_avgpool2d_ukernel(ic_active_isa(), &info);
  const ic_pool2d_geometry_t geometry = {
      .channels = channels,
      .in_h = in_h,
      .in_w = in_w,
      .out_h = 1,
      .out_w = 1,
      .kernel_h = in_h,
      .kernel_w = in_w,
      .stride_h = 1,
      .stride_w = 1,
      .count_include_pad = 1,
  };
  /* One output row of in_h * in_w taps per channel: blocks of channels, the full estimate
   * (halving it would leave ResNet's 2048 x 7 x 7 head in one task). */
  ic_pool2d_execute(context, fn, &geometry, ic_mul_saturate(in_h, in_w), layout, batch, src,
                    dst);
  return IC_STATUS_SUCCESS;
}
