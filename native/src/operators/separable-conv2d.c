/*
 * Depthwise-separable Conv2d: a depthwise conv (channel multiplier, own bias and activation)
 * followed by a pointwise 1x1 conv (own bias and activation).
 *
 * Fused by rows: a task takes a block of output rows, computes the depthwise result for those
 * rows and all its channels into a small per-thread tile (f32-dwconv/), and immediately feeds
 * the tile to the pointwise kernel (f32-pwconv/), which writes the final rows. The
 * intermediate tensor never exists in full; a tile holds about IC_TILE_FLOATS floats, so it
 * stays in cache between the two kernels. The tile takes the layout of the source (channel
 * planes for NCHW, channel-interleaved pixels for NHWC), which is the one both SIMD kernels
 * run natively in; the tiles come from the run's scratch (ic_run_scratch), so steady-state
 * runs do not allocate.
 *
 * NCHW images with many channels get thin row blocks (14x14x384: 3 rows, 42 pixels), on which
 * both kernels run their slow paths: the depthwise kernel's planes cut into rows, the pointwise
 * kernel's tiles half empty, its weights read again per block. Where that costs more than the
 * unfused run (ic_separable_unfused), they run unfused, an image at a time: the depthwise conv
 * of whole planes into an intermediate image in the scratch, then the pointwise conv of it in
 * blocks of pixels and channels. Each output is the same sum either way (the kernels' sums do
 * not depend on the slice they are called on).
 *
 * Weights: depthwise in PyTorch order (pixel-contiguous path) and packed per tap (channel-
 * contiguous path); pointwise packed for SIMD kernels, in PyTorch order for the scalar one.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"
#include "ukernels.h"

static const char ic_op[] = "separable_conv2d";

/* Target size of the per-thread depthwise tile: 64 KiB, a comfortable fit in L2. NCHW tiles of
 * fewer pixels than IC_FUSED_MIN_PIXELS run unfused at stride 1, when the planes are wider than
 * a vector (the fused blocks cut them into rows) or the pointwise weights pass
 * IC_UNFUSED_WEIGHT_FLOATS (each block reads them all again); see ic_separable_unfused. */
enum { IC_TILE_FLOATS = 16384, IC_FUSED_MIN_PIXELS = 128, IC_UNFUSED_WEIGHT_FLOATS = 1 << 16 };

/* Unfused NCHW: depthwise tasks of whole planes, about IC_UNFUSED_TASKS of them in multiples of
 * 16 channels (small planes are transposed 16 at a time); pointwise tasks of about
 * IC_UNFUSED_TASK_WORK multiply-adds, in blocks of 48 pixels (the kernel's tile) and of 64
 * output channels. */
enum { IC_UNFUSED_TASKS = 8, IC_UNFUSED_TASK_WORK = 1 << 20 };

struct ic_separable_conv2d {
  ic_separable_conv2d_params_t params;
  ic_window_t window;
  int64_t depthwise_channels; /* in_channels * depth_multiplier */
  ic_f32_dwconv2d_ukernel_fn depthwise_fn;
  ic_f32_pwconv2d_ukernel_fn pointwise_fn;
  char kernel_name[96];
  float* depthwise_weights;
  float* depthwise_packed; /* NULL for the scalar kernels */
  float* depthwise_bias;   /* NULL if none */
  float* pointwise_weights; /* NULL for SIMD kernels, which read only the packed copy */
  float* pointwise_packed;  /* NULL for the scalar kernel */
  float* pointwise_bias;    /* NULL if none */
};

static ic_window_t ic_separable_window(const ic_separable_conv2d_params_t* p) {
  return (ic_window_t){p->padding,    p->kernel_h,   p->kernel_w,  p->stride_h,
                       p->stride_w,   p->dilation_h, p->dilation_w, p->pad_top,
                       p->pad_left,   p->pad_bottom, p->pad_right};
}

static ic_status_t ic_separable_validate(const ic_separable_conv2d_params_t* p,
                                         int64_t* depthwise_channels) {
  ic_status_t status = ic_check_datatype(ic_op, p->datatype);
  if (status == IC_STATUS_SUCCESS) status = ic_check_positive(ic_op, "in_channels", p->in_channels);
  if (status == IC_STATUS_SUCCESS) {
    status = ic_check_positive(ic_op, "depth_multiplier", p->depth_multiplier);
  }
  if (status == IC_STATUS_SUCCESS) {
    status = ic_check_positive(ic_op, "out_channels", p->out_channels);
  }
  if (status != IC_STATUS_SUCCESS) return status;
  if (ic_mul_overflow(p->in_channels, p->depth_multiplier, depthwise_channels)) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "separable_conv2d: in_channels=%" PRId64 " times depth_multiplier=%" PRId64
                    " overflows",
                    p->in_channels, p->depth_multiplier);
  }
  const ic_window_t window = ic_separable_window(p);
  status = ic_window_validate(ic_op, &window);
  if (status == IC_STATUS_SUCCESS) {
    status = ic_check_activation(ic_op, "depthwise_activation", p->depthwise_activation);
  }
  if (status == IC_STATUS_SUCCESS) status = ic_check_activation(ic_op, "activation", p->activation);
  return status;
}

ic_status_t ic_separable_conv2d_create(const ic_separable_conv2d_params_t* params,
                                       const void* depthwise_weights,
                                       size_t depthwise_weights_bytes, const void* depthwise_bias,
                                       size_t depthwise_bias_bytes, const void* pointwise_weights,
                                       size_t pointwise_weights_bytes, const void* pointwise_bias,
                                       size_t pointwise_bias_bytes,
                                       ic_separable_conv2d_t** conv_out) {
  if (conv_out == NULL) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT, "separable_conv2d: conv_out is NULL");
  }
  *conv_out = NULL;
  int64_t dw_channels = 0;
  ic_status_t status = ic_check_not_null(ic_op, "params", params);
  if (status == IC_STATUS_SUCCESS) status = ic_separable_validate(params, &dw_channels);
  if (status != IC_STATUS_SUCCESS) return status;

  const int64_t dw_dims[4] = {dw_channels, 1, params->kernel_h, params->kernel_w};
  const int64_t pw_dims[4] = {params->out_channels, dw_channels, 1, 1};
  status = ic_check_buffer_exact(ic_op, "depthwise_weights", depthwise_weights,
                                 depthwise_weights_bytes, dw_dims, 4);
  if (status == IC_STATUS_SUCCESS) {
    status = ic_check_optional_exact(ic_op, "depthwise_bias", depthwise_bias,
                                     depthwise_bias_bytes, &dw_channels, 1);
  }
  if (status == IC_STATUS_SUCCESS) {
    status = ic_check_buffer_exact(ic_op, "pointwise_weights", pointwise_weights,
                                   pointwise_weights_bytes, pw_dims, 4);
  }
  if (status == IC_STATUS_SUCCESS) {
    status = ic_check_optional_exact(ic_op, "pointwise_bias", pointwise_bias,
                                     pointwise_bias_bytes, &params->out_channels, 1);
  }
  if (status != IC_STATUS_SUCCESS) return status;

  ic_separable_conv2d_t* conv = calloc(1, sizeof *conv);
  if (conv == NULL) goto out_of_memory;
  conv->params = *params;
  conv->window = ic_separable_window(params);
  conv->depthwise_channels = dw_channels;
  conv->depthwise_weights =
      ic_weights_copy(depthwise_weights, depthwise_weights_bytes / sizeof(float));
  if (conv->depthwise_weights == NULL) goto out_of_memory;
  if (depthwise_bias != NULL) {
    conv->depthwise_bias = ic_weights_copy(depthwise_bias, depthwise_bias_bytes / sizeof(float));
    if (conv->depthwise_bias == NULL) goto out_of_memory;
  }
  if (pointwise_bias != NULL) {
    conv->pointwise_bias = ic_weights_copy(pointwise_bias, pointwise_bias_bytes / sizeof(float));
    if (conv->pointwise_bias == NULL) goto out_of_memory;
  }

  const ic_isa_t isa = ic_active_isa();
  ic_ukernel_info_t depthwise_info, pointwise_info;
  conv->depthwise_fn = ic_select_f32_dwconv2d_ukernel(isa, &depthwise_info);
  conv->pointwise_fn = ic_select_f32_pwconv2d_ukernel(isa, &pointwise_info);
  snprintf(conv->kernel_name, sizeof conv->kernel_name, "%s+%s", depthwise_info.name,
           pointwise_info.name);
  if (depthwise_info.isa != IC_ISA_SCALAR) {
    const int64_t taps = params->kernel_h * params->kernel_w;
    conv->depthwise_packed =
        ic_weights_alloc((size_t)ic_f32_dwconv2d_packed_floats(dw_channels, taps) * sizeof(float));
    if (conv->depthwise_packed == NULL) goto out_of_memory;
    ic_f32_dwconv2d_pack_weights(dw_channels, taps, depthwise_weights, conv->depthwise_packed);
  }
  if (pointwise_info.isa != IC_ISA_SCALAR) {
    const int64_t count = ic_f32_pwconv2d_packed_floats(dw_channels, params->out_channels);
    conv->pointwise_packed = ic_weights_alloc((size_t)count * sizeof(float));
    if (conv->pointwise_packed == NULL) goto out_of_memory;
    ic_f32_pwconv2d_pack_weights(dw_channels, params->out_channels, pointwise_weights,
                                 conv->pointwise_packed);
  } else {
    conv->pointwise_weights =
        ic_weights_copy(pointwise_weights, pointwise_weights_bytes / sizeof(float));
    if (conv->pointwise_weights == NULL) goto out_of_memory;
  }
  *conv_out = conv;
  return IC_STATUS_SUCCESS;

out_of_memory:
  ic_separable_conv2d_destroy(conv);
  return ic_error(IC_STATUS_OUT_OF_MEMORY, "separable_conv2d: out of memory copying the weights");
}

ic_status_t ic_separable_conv2d_output_size(const ic_separable_conv2d_t* conv, int64_t in_h,
                                            int64_t in_w, int64_t* out_h_out,
                                            int64_t* out_w_out) {
  ic_status_t status = ic_check_size_outputs(ic_op, out_h_out, out_w_out);
  if (status == IC_STATUS_SUCCESS) status = ic_check_not_null(ic_op, "conv", conv);
  if (status != IC_STATUS_SUCCESS) return status;
  ic_window_output_t output;
  status = ic_window_output(ic_op, &conv->window, in_h, in_w, &output);
  if (status != IC_STATUS_SUCCESS) return status;
  *out_h_out = output.out_h;
  *out_w_out = output.out_w;
  return IC_STATUS_SUCCESS;
}

typedef struct ic_separable_job {
  const ic_separable_conv2d_t* conv;
  ic_conv2d_geometry_t geometry; /* of the depthwise part */
  ic_tiling_t tiling;
  const float* src;
  float* dst;
  ic_strides_t src_strides, dst_strides;
  ic_f32_dwconv2d_ukernel_fn depthwise_fn; /* the operator's, or scalar for far windows */
  float* scratch;       /* one tile per thread; unfused: the intermediate image */
  int64_t tile_floats;  /* a thread's slice: depthwise_channels * row_block * out_w, guarded */
  int32_t layout;
  int64_t image;        /* unfused: the image of the current phase */
} ic_separable_job_t;

/* Unfused, first phase: depthwise channels [c0, c1) of one image, whole planes, into the
 * intermediate image (NCHW). */
static void ic_separable_depthwise_task(void* arg, size_t task, uint32_t thread_index) {
  (void)thread_index;
  const ic_separable_job_t* job = arg;
  const ic_separable_conv2d_t* conv = job->conv;
  const ic_tile_t tile = ic_tiling_tile(&job->tiling, task);
  const ic_conv2d_geometry_t* g = &job->geometry;
  const ic_strides_t xs = job->src_strides;
  const ic_f32_dwconv2d_args_t depthwise = {
      .geometry = g,
      .weights = conv->depthwise_weights,
      .bias = conv->depthwise_bias,
      .activation = conv->params.depthwise_activation,
      .src = job->src + job->image * xs.n,
      .src_stride = {xs.c, xs.h, xs.w},
      .dst = job->scratch,
      .residual = NULL,
      .dst_stride = {g->out_h * g->out_w, g->out_w, 1},
      .y0 = 0,
      .y1 = g->out_h,
      .c0 = tile.c0,
      .c1 = tile.c1,
      .packed_weights = conv->depthwise_packed,
  };
  job->depthwise_fn(&depthwise);
}

/* Unfused, second phase: output channels [c0, c1) of pixels [r0, r1) of one image from the
 * intermediate image. */
static void ic_separable_pointwise_task(void* arg, size_t task, uint32_t thread_index) {
  (void)thread_index;
  const ic_separable_job_t* job = arg;
  const ic_separable_conv2d_t* conv = job->conv;
  const ic_tile_t tile = ic_tiling_tile(&job->tiling, task); /* rows: pixels */
  const int64_t pixels = job->geometry.out_h * job->geometry.out_w;
  const ic_f32_pwconv2d_args_t pointwise = {
      .in_channels = conv->depthwise_channels,
      .weights = conv->pointwise_weights,
      .bias = conv->pointwise_bias,
      .activation = conv->params.activation,
      .pixels = tile.r1 - tile.r0,
      .src = job->scratch + tile.r0,
      .src_stride_c = pixels,
      .src_stride_p = 1,
      .dst = job->dst + job->image * job->dst_strides.n + tile.r0,
      .residual = NULL,
      .dst_stride_c = job->dst_strides.c,
      .dst_stride_p = 1,
      .c0 = tile.c0,
      .c1 = tile.c1,
      .out_channels = conv->params.out_channels,
      .packed_weights = conv->pointwise_packed,
  };
  conv->pointwise_fn(&pointwise);
}

/* Whether an NCHW run goes unfused. Measured on MobileNetV2's blocks (Intel Xeon, 2 threads):
 * unfused 6-29 % faster at 56x56 144->24, 28x28 192->32 and 7x7 960->160/320, 18-30 % on
 * 28x28 256->256 and 14x14 512->512; slower (8-17 %) on 14x14 384->64 and 384->96, whose
 * fused blocks transpose small planes and read small weights, and at stride 2 (7-30 %): there
 * the two phases' exchange of the intermediate image between the cores costs more. */
static bool ic_separable_unfused(const ic_separable_conv2d_t* conv, int32_t layout,
                                 const ic_window_output_t* output, int64_t row_block) {
  const ic_separable_conv2d_params_t* p = &conv->params;
  if (layout != IC_LAYOUT_NCHW || p->stride_h != 1 || p->stride_w != 1 ||
      ic_mul_saturate(row_block, output->out_w) >= IC_FUSED_MIN_PIXELS) {
    return false;
  }
  return output->out_w > 16 ||
         ic_mul_saturate(conv->depthwise_channels, p->out_channels) >= IC_UNFUSED_WEIGHT_FLOATS;
}

/* The unfused run (NCHW): per image, the depthwise phase, then the pointwise one. */
static void ic_separable_run_unfused(ic_separable_job_t* job, ic_run_t* run, int64_t batch) {
  const ic_separable_conv2d_t* conv = job->conv;
  const int64_t channels = conv->depthwise_channels, out_channels = conv->params.out_channels;
  const int64_t pixels = job->geometry.out_h * job->geometry.out_w;
  const int64_t depthwise_block =
      ic_divide_round_up(ic_divide_round_up(channels, IC_UNFUSED_TASKS), 16) * 16;
  const int64_t channel_block = ic_min_i64(64, out_channels);
  const int64_t pixel_block =
      ic_block_for_work(IC_UNFUSED_TASK_WORK, ic_mul_saturate(channels, channel_block), 48);
  for (job->image = 0; job->image < batch; job->image++) {
    ic_tiling_blocks(&job->tiling, 1, channels, depthwise_block, 1, 1, false);
    ic_run_parallelize(run, job->tiling.task_count, ic_separable_depthwise_task, job);
    ic_tiling_blocks(&job->tiling, 1, out_channels, channel_block, pixels, pixel_block, true);
    ic_run_parallelize(run, job->tiling.task_count, ic_separable_pointwise_task, job);
  }
}

static void ic_separable_task(void* arg, size_t task, uint32_t thread_index) {
  const ic_separable_job_t* job = arg;
  const ic_separable_conv2d_t* conv = job->conv;
  const ic_tile_t rows = ic_tiling_tile(&job->tiling, task);
  const int64_t out_w = job->geometry.out_w;
  const int64_t pixels = (rows.r1 - rows.r0) * out_w;
  float* tile = job->scratch + (int64_t)thread_index * job->tile_floats;
  const ic_strides_t xs = job->src_strides, ys = job->dst_strides;

  /* The tile holds the rows in the source's layout: [channels][pixels] for NCHW,
   * [pixels][channels] for NHWC. */
  const int64_t channels = conv->depthwise_channels;
  const bool planar = job->layout == IC_LAYOUT_NCHW;
  const ic_view_strides_t tile_stride = planar ? (ic_view_strides_t){pixels, out_w, 1}
                                               : (ic_view_strides_t){1, out_w * channels, channels};
  const ic_f32_dwconv2d_args_t depthwise = {
      .geometry = &job->geometry,
      .weights = conv->depthwise_weights,
      .bias = conv->depthwise_bias,
      .activation = conv->params.depthwise_activation,
      .src = job->src + rows.n * xs.n,
      .src_stride = {xs.c, xs.h, xs.w},
      .dst = tile,
      .residual = NULL,
      .dst_stride = tile_stride,
      .y0 = rows.r0,
      .y1 = rows.r1,
      .c0 = 0,
      .c1 = channels,
      .packed_weights = conv->depthwise_packed,
  };
  job->depthwise_fn(&depthwise);

  const ic_f32_pwconv2d_args_t pointwise = {
      .in_channels = channels,
      .weights = conv->pointwise_weights,
      .bias = conv->pointwise_bias,
      .activation = conv->params.activation,
      .pixels = pixels,
      .src = tile,
      .src_stride_c = tile_stride.c,
      .src_stride_p = tile_stride.w,
      .dst = job->dst + rows.n * ys.n + rows.r0 * ys.h,
      .residual = NULL,
      .dst_stride_c = ys.c,
      .dst_stride_p = ys.w,
      .c0 = 0,
      .c1 = conv->params.out_channels,
      .packed_weights = conv->pointwise_packed,
  };
  conv->pointwise_fn(&pointwise);
}

ic_status_t ic_separable_conv2d_run(const ic_separable_conv2d_t* conv, ic_context_t* context,
                                    int32_t layout, int64_t batch, int64_t in_h, int64_t in_w,
                                    const void* src, size_t src_bytes, void* dst,
                                    size_t dst_bytes) {
  ic_status_t status = ic_check_not_null(ic_op, "conv", conv);
  if (status == IC_STATUS_SUCCESS) status = ic_check_layout(ic_op, layout);
  if (status == IC_STATUS_SUCCESS) status = ic_check_positive(ic_op, "batch", batch);
  if (status != IC_STATUS_SUCCESS) return status;
  ic_window_output_t output;
  status = ic_window_output(ic_op, &conv->window, in_h, in_w, &output);
  if (status != IC_STATUS_SUCCESS) return status;

  const ic_separable_conv2d_params_t* p = &conv->params;
  const int64_t src_dims[4] = {batch, p->in_channels, in_h, in_w};
  const int64_t dst_dims[4] = {batch, p->out_channels, output.out_h, output.out_w};
  size_t src_needed, dst_needed;
  status = ic_check_buffer_min(ic_op, "src", src, src_bytes, src_dims, 4, &src_needed);
  if (status == IC_STATUS_SUCCESS) {
    status = ic_check_buffer_min(ic_op, "dst", dst, dst_bytes, dst_dims, 4, &dst_needed);
  }
  if (status != IC_STATUS_SUCCESS) return status;
  if (ic_ranges_overlap(dst, dst_needed, src, src_needed)) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT, "separable_conv2d: dst overlaps src");
  }

  /* Rows per task: as many as fit the tile budget, at least one. */
  const int64_t dw_channels = conv->depthwise_channels;
  const int64_t row_floats = ic_mul_saturate(dw_channels, output.out_w);
  const int64_t row_block =
      ic_min_i64(ic_max_i64(IC_TILE_FLOATS / row_floats, 1), output.out_h);
  const bool unfused = ic_separable_unfused(conv, layout, &output, row_block);
  ic_run_t run;
  ic_run_begin(&run, context);
  const int64_t threads = run.threads;
  int64_t tile_floats, scratch_floats;
  bool overflow;
  if (unfused) { /* the intermediate image */
    overflow = ic_mul_overflow(row_floats, output.out_h, &scratch_floats);
    tile_floats = 0;
  } else {
    overflow = ic_mul_overflow(row_floats, row_block, &tile_floats) ||
               !ic_thread_slice_floats(tile_floats, &tile_floats) ||
               ic_mul_overflow(tile_floats, threads, &scratch_floats);
  }
  if (overflow || (uint64_t)scratch_floats > SIZE_MAX / sizeof(float)) {
    ic_run_end(&run);
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "separable_conv2d: the depthwise tile of %" PRId64 " channels x %" PRId64
                    " columns for %" PRId64 " threads overflows",
                    dw_channels, output.out_w, threads);
  }
  float* scratch = ic_run_scratch(&run, (size_t)scratch_floats * sizeof(float));
  if (scratch == NULL) {
    ic_run_end(&run);
    return ic_error(IC_STATUS_OUT_OF_MEMORY,
                    "separable_conv2d: out of memory allocating %" PRId64
                    " bytes of depthwise tiles",
                    scratch_floats * (int64_t)sizeof(float));
  }

  ic_separable_job_t job = {
      .conv = conv,
      .geometry = {p->in_channels, dw_channels, p->in_channels, in_h, in_w, output.out_h,
                   output.out_w, p->kernel_h, p->kernel_w, output.stride_h, output.stride_w,
                   p->dilation_h, p->dilation_w, output.pad_top, output.pad_left},
      .src = src,
      .dst = dst,
      .src_strides = ic_layout_strides(layout, p->in_channels, in_h, in_w),
      .dst_strides = ic_layout_strides(layout, p->out_channels, output.out_h, output.out_w),
      .scratch = scratch,
      .tile_floats = tile_floats,
      .layout = layout,
  };
  job.depthwise_fn = ic_f32_dwconv2d_far_window(&job.geometry)
                         ? ic_f32_dwconv2d_ukernel_direct__scalar
                         : conv->depthwise_fn;
  if (unfused) {
    ic_separable_run_unfused(&job, &run, batch);
  } else {
    ic_tiling_rows(&job.tiling, batch, output.out_h, row_block);
    ic_run_parallelize(&run, job.tiling.task_count, ic_separable_task, &job);
  }
  ic_run_end(&run);
  return IC_STATUS_SUCCESS;
}

const char* ic_separable_conv2d_kernel_name(const ic_separable_conv2d_t* conv) {
  return conv != NULL ? conv->kernel_name : "";
}

void ic_separable_conv2d_destroy(ic_separable_conv2d_t* conv) {
  if (conv == NULL) return;
  ic_weights_free(conv->depthwise_weights);
  ic_weights_free(conv->depthwise_packed);
  ic_weights_free(conv->depthwise_bias);
  ic_weights_free(conv->pointwise_weights);
  ic_weights_free(conv->pointwise_packed);
  ic_weights_free(conv->pointwise_bias);
  free(conv);
}
