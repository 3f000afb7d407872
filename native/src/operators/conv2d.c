/*
 * Conv2d: standard, grouped, depthwise and pointwise 2-D convolution.
 *
 * create validates, copies the weights into the chosen kernel's packed layout and picks one
 * of three paths by shape; run validates the tensors, cuts the output into tasks and runs the
 * path's microkernel on each:
 *
 *   pointwise  1x1, stride 1, no padding, groups 1     f32-pwconv/  ic_f32_pwconv2d_ukernel_*
 *   depthwise  groups == in_channels (any multiplier)  f32-dwconv/  ic_f32_dwconv2d_ukernel_*
 *   direct     everything else                         f32-conv/    ic_f32_conv2d_ukernel_*
 *
 * All scalar kernels read weights in PyTorch order, so packing is a copy for now; a blocked
 * SIMD kernel brings its own packing here, keyed on the kernel chosen.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "internal.h"
#include "ukernels.h"

static const char ic_op[] = "conv2d";

typedef enum ic_conv2d_path {
  IC_CONV2D_DIRECT,
  IC_CONV2D_DEPTHWISE,
  IC_CONV2D_POINTWISE
} ic_conv2d_path_t;

struct ic_conv2d {
  ic_conv2d_params_t params;
  ic_window_t window;
  ic_conv2d_path_t path;
  ic_ukernel_info_t kernel;
  ic_f32_conv2d_ukernel_fn conv_fn; /* direct or depthwise */
  ic_f32_pwconv2d_ukernel_fn pointwise_fn;
  float* weights; /* packed, aligned */
  float* bias;    /* NULL when the operator has none */
};

static ic_window_t ic_conv2d_window(const ic_conv2d_params_t* p) {
  return (ic_window_t){p->padding,    p->kernel_h,   p->kernel_w,  p->stride_h,
                       p->stride_w,   p->dilation_h, p->dilation_w, p->pad_top,
                       p->pad_left,   p->pad_bottom, p->pad_right};
}

static ic_status_t ic_conv2d_validate(const ic_conv2d_params_t* p) {
  ic_status_t status = ic_check_datatype(ic_op, p->datatype);
  if (status == IC_STATUS_SUCCESS) status = ic_check_reserved(ic_op, p->reserved);
  if (status == IC_STATUS_SUCCESS) status = ic_check_positive(ic_op, "in_channels", p->in_channels);
  if (status == IC_STATUS_SUCCESS) {
    status = ic_check_positive(ic_op, "out_channels", p->out_channels);
  }
  if (status == IC_STATUS_SUCCESS) status = ic_check_positive(ic_op, "groups", p->groups);
  if (status != IC_STATUS_SUCCESS) return status;
  if (p->in_channels % p->groups != 0) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "conv2d: groups=%" PRId64 " does not divide in_channels=%" PRId64, p->groups,
                    p->in_channels);
  }
  if (p->out_channels % p->groups != 0) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "conv2d: groups=%" PRId64 " does not divide out_channels=%" PRId64, p->groups,
                    p->out_channels);
  }
  const ic_window_t window = ic_conv2d_window(p);
  status = ic_window_validate(ic_op, &window);
  if (status == IC_STATUS_SUCCESS) status = ic_check_activation(ic_op, "activation", p->activation);
  return status;
}

static bool ic_conv2d_is_pointwise(const ic_conv2d_params_t* p) {
  /* 1x1 kernels get no padding from VALID, SAME (stride 1) or FULL; EXPLICIT pads are given. */
  return p->kernel_h == 1 && p->kernel_w == 1 && p->stride_h == 1 && p->stride_w == 1 &&
         p->groups == 1 && p->pad_top == 0 && p->pad_left == 0 && p->pad_bottom == 0 &&
         p->pad_right == 0;
}

ic_status_t ic_conv2d_create(const ic_conv2d_params_t* params, const void* weights,
                             size_t weights_bytes, const void* bias, size_t bias_bytes,
                             ic_conv2d_t** conv_out) {
  if (conv_out == NULL) return ic_error(IC_STATUS_INVALID_ARGUMENT, "conv2d: conv_out is NULL");
  *conv_out = NULL;
  ic_status_t status = ic_check_not_null(ic_op, "params", params);
  if (status == IC_STATUS_SUCCESS) status = ic_conv2d_validate(params);
  if (status != IC_STATUS_SUCCESS) return status;

  const int64_t weight_dims[4] = {params->out_channels, params->in_channels / params->groups,
                                  params->kernel_h, params->kernel_w};
  status = ic_check_buffer_exact(ic_op, "weights", weights, weights_bytes, weight_dims, 4);
  if (status == IC_STATUS_SUCCESS) {
    status = ic_check_optional_exact(ic_op, "bias", bias, bias_bytes, &params->out_channels, 1);
  }
  if (status != IC_STATUS_SUCCESS) return status;

  ic_conv2d_t* conv = calloc(1, sizeof *conv);
  if (conv == NULL) goto out_of_memory;
  conv->params = *params;
  conv->window = ic_conv2d_window(params);
  conv->weights = ic_copy_floats(weights, weights_bytes / sizeof(float));
  if (conv->weights == NULL) goto out_of_memory;
  if (bias != NULL) {
    conv->bias = ic_copy_floats(bias, bias_bytes / sizeof(float));
    if (conv->bias == NULL) goto out_of_memory;
  }

  const ic_isa_t isa = ic_active_isa();
  if (ic_conv2d_is_pointwise(params)) {
    conv->path = IC_CONV2D_POINTWISE;
    conv->pointwise_fn = ic_select_f32_pwconv2d_ukernel(isa, &conv->kernel);
  } else if (params->groups == params->in_channels) {
    conv->path = IC_CONV2D_DEPTHWISE;
    conv->conv_fn = ic_select_f32_dwconv2d_ukernel(isa, &conv->kernel);
  } else {
    conv->path = IC_CONV2D_DIRECT;
    conv->conv_fn = ic_select_f32_conv2d_ukernel(isa, &conv->kernel);
  }
  *conv_out = conv;
  return IC_STATUS_SUCCESS;

out_of_memory:
  ic_conv2d_destroy(conv);
  return ic_error(IC_STATUS_OUT_OF_MEMORY, "conv2d: out of memory copying %zu bytes of weights",
                  weights_bytes);
}

ic_status_t ic_conv2d_output_size(const ic_conv2d_t* conv, int64_t in_h, int64_t in_w,
                                  int64_t* out_h_out, int64_t* out_w_out) {
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

/* Everything a task needs; lives on the stack of ic_conv2d_run. */
typedef struct ic_conv2d_job {
  const ic_conv2d_t* conv;
  ic_conv2d_geometry_t geometry;
  ic_tiling_t tiling;
  const float* src;
  const float* residual;
  float* dst;
  ic_strides_t src_strides, dst_strides;
} ic_conv2d_job_t;

static void ic_conv2d_task(void* arg, size_t task, uint32_t thread_index) {
  (void)thread_index;
  const ic_conv2d_job_t* job = arg;
  const ic_conv2d_t* conv = job->conv;
  const ic_tile_t tile = ic_tiling_tile(&job->tiling, task);
  const ic_strides_t xs = job->src_strides, ys = job->dst_strides;

  if (conv->path == IC_CONV2D_POINTWISE) {
    /* Rows of the tiling are pixels here: a pixel run has one stride in either layout. */
    const int64_t y_offset = tile.n * ys.n + tile.r0 * ys.w;
    const ic_f32_pwconv2d_args_t args = {
        .in_channels = conv->params.in_channels,
        .weights = conv->weights,
        .bias = conv->bias,
        .activation = conv->params.activation,
        .pixels = tile.r1 - tile.r0,
        .src = job->src + tile.n * xs.n + tile.r0 * xs.w,
        .src_stride_c = xs.c,
        .src_stride_p = xs.w,
        .dst = job->dst + y_offset,
        .residual = job->residual != NULL ? job->residual + y_offset : NULL,
        .dst_stride_c = ys.c,
        .dst_stride_p = ys.w,
        .c0 = tile.c0,
        .c1 = tile.c1,
    };
    conv->pointwise_fn(&args);
    return;
  }

  const int64_t y_offset = tile.n * ys.n + tile.r0 * ys.h;
  const ic_f32_conv2d_args_t args = {
      .geometry = &job->geometry,
      .weights = conv->weights,
      .bias = conv->bias,
      .activation = conv->params.activation,
      .src = job->src + tile.n * xs.n,
      .src_stride = {xs.c, xs.h, xs.w},
      .dst = job->dst + y_offset,
      .residual = job->residual != NULL ? job->residual + y_offset : NULL,
      .dst_stride = {ys.c, ys.h, ys.w},
      .y0 = tile.r0,
      .y1 = tile.r1,
      .c0 = tile.c0,
      .c1 = tile.c1,
  };
  conv->conv_fn(&args);
}

ic_status_t ic_conv2d_run(const ic_conv2d_t* conv, ic_context_t* context, int32_t layout,
                          int64_t batch, int64_t in_h, int64_t in_w, const void* src,
                          size_t src_bytes, const void* residual, size_t residual_bytes,
                          void* dst, size_t dst_bytes) {
  ic_status_t status = ic_check_not_null(ic_op, "conv", conv);
  if (status == IC_STATUS_SUCCESS) status = ic_check_layout(ic_op, layout);
  if (status == IC_STATUS_SUCCESS) status = ic_check_positive(ic_op, "batch", batch);
  if (status != IC_STATUS_SUCCESS) return status;
  ic_window_output_t output;
  status = ic_window_output(ic_op, &conv->window, in_h, in_w, &output);
  if (status != IC_STATUS_SUCCESS) return status;

  const ic_conv2d_params_t* p = &conv->params;
  const int64_t src_dims[4] = {batch, p->in_channels, in_h, in_w};
  const int64_t dst_dims[4] = {batch, p->out_channels, output.out_h, output.out_w};
  size_t src_needed, dst_needed, residual_needed = 0;
  status = ic_check_buffer_min(ic_op, "src", src, src_bytes, src_dims, 4, &src_needed);
  if (status == IC_STATUS_SUCCESS) {
    status = ic_check_buffer_min(ic_op, "dst", dst, dst_bytes, dst_dims, 4, &dst_needed);
  }
  if (status == IC_STATUS_SUCCESS) {
    if (residual == NULL && residual_bytes != 0) {
      status = ic_error(IC_STATUS_INVALID_ARGUMENT,
                        "conv2d: residual is NULL but residual_bytes=%zu (must be 0)",
                        residual_bytes);
    } else if (residual != NULL) {
      status = ic_check_buffer_min(ic_op, "residual", residual, residual_bytes, dst_dims, 4,
                                   &residual_needed);
    }
  }
  if (status != IC_STATUS_SUCCESS) return status;
  if (ic_ranges_overlap(dst, dst_needed, src, src_needed)) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT, "conv2d: dst overlaps src");
  }
  if (residual != NULL && residual != dst &&
      ic_ranges_overlap(dst, dst_needed, residual, residual_needed)) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "conv2d: residual overlaps dst without being dst (it may only alias it "
                    "exactly)");
  }

  ic_conv2d_job_t job = {
      .conv = conv,
      .geometry = {p->in_channels, p->out_channels, p->groups, in_h, in_w, output.out_h,
                   output.out_w, p->kernel_h, p->kernel_w, p->stride_h, p->stride_w,
                   p->dilation_h, p->dilation_w, output.pad_top, output.pad_left},
      .src = src,
      .residual = residual,
      .dst = dst,
      .src_strides = ic_layout_strides(layout, p->in_channels, in_h, in_w),
      .dst_strides = ic_layout_strides(layout, p->out_channels, output.out_h, output.out_w),
  };
  if (conv->path == IC_CONV2D_POINTWISE) {
    ic_tiling_plan(&job.tiling, batch, p->out_channels, output.out_h * output.out_w,
                   p->in_channels, true, 32);
  } else {
    const int64_t taps = ic_mul_saturate(p->kernel_h, p->kernel_w);
    const int64_t work = ic_mul_saturate(ic_mul_saturate(taps, p->in_channels / p->groups),
                                         output.out_w);
    ic_tiling_plan(&job.tiling, batch, p->out_channels, output.out_h, work, true, 1);
  }
  ic_parallelize(context, job.tiling.task_count, ic_conv2d_task, &job);
  return IC_STATUS_SUCCESS;
}

const char* ic_conv2d_kernel_name(const ic_conv2d_t* conv) {
  return conv != NULL ? conv->kernel.name : "";
}

void ic_conv2d_destroy(ic_conv2d_t* conv) {
  if (conv == NULL) return;
  ic_aligned_free(conv->weights);
  ic_aligned_free(conv->bias);
  free(conv);
}
