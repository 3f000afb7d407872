/*
 * Conv2d: standard, grouped, depthwise and pointwise 2-D convolution.
 *
 * create validates, picks one of three paths by shape and the best kernel of the path's family
 * for ic_active_isa(), and copies the weights into that kernel's layout; run validates the
 * tensors, cuts the output into tasks and runs the kernel on each:
 *
 *   pointwise  1x1, no padding, groups 1               f32-pwconv/  ic_f32_pwconv2d_ukernel_*
 *   depthwise  groups == in_channels (any multiplier)  f32-dwconv/  ic_f32_dwconv2d_ukernel_*
 *   direct     everything else                         f32-conv/    ic_f32_conv2d_ukernel_*
 *
 * and with IC_CONV2D_WINOGRAD, for 3x3 stride-1 convs, a second path that runs of large enough
 * images take instead of the direct one (NCHW ones through NHWC copies):
 *
 *   Winograd   F(4x4, 3x3)                             f32-winograd/ ic_f32_winograd_ukernel_*
 *
 * Layouts: both NCHW and NHWC tensors go straight into the pointwise and depthwise kernels,
 * which handle pixel-contiguous and channel-contiguous images natively. The direct SIMD kernels
 * read a packed, zero-padded, channel-blocked copy of the image (ic_f32_conv2d_pack_src) and
 * transpose their output back to the caller's layout in their epilogue (an NHWC stem with fewer
 * than 16 channels is read in place but for the columns at its edges). Each task first packs
 * the rows it reads that no task has packed yet (a claim flag per row): packing and computing
 * are one parallel phase, and a thread mostly reads rows it packed itself a moment before
 * (conv 3x3 64->64 at 56x56, NHWC, 2 threads: 8 of 8 alternations faster than a packing phase
 * first, medians 0.628-0.662 -> 0.620-0.646 ms). A 1x1 kernel's
 * packed image is one long row of pixels to the kernels (no neighbourhood to keep), so small
 * images still fill the 14-pixel tiles; and NCHW pointwise convs whose channel planes are not
 * a multiple of 16 pixels (14x14, 7x7: every vector load of a plane would straddle cache
 * lines) and whose weights exceed IC_PACKED_POINTWISE_FLOATS run through that packed path too,
 * with the same packed weights (for 1x1 and one group the two layouts coincide). Below that
 * the pointwise kernel reads the planes as they are: packing the image cost more than the
 * straddling loads (MobileNetV2's 14x14 layers, 192->64 to 384->96, 14-52 % faster so on the
 * Intel Xeon of docs/BENCHMARKS.md; ResNet's 14x14 and 7x7 layers, 1 MB of weights and up,
 * 8-50 % slower without the packing).
 *
 * A strided pointwise conv (ResNet's projection shortcuts) reads every stride-th pixel: run
 * first gathers those pixels into a compact image of the caller's layout (a copy of a quarter
 * of the input or less), so that the pointwise kernels get the long pixel runs they are fast
 * on instead of the direct kernel's rows.
 *
 * ic_conv2d_pool2d_run runs a conv of the direct path and a Pool2d after it in one pass: each
 * task takes a band of pooled rows, computes the conv rows their windows read into a band of its
 * thread's scratch (rows a thread's previous band also read stay there: nothing is computed
 * twice but where a thread starts a new run of bands) and pools them from there into dst. The
 * conv's output is never stored: in ResNet-50's C pass (2 threads, NHWC) conv1 + max pool took
 * 0.97-0.99 ms apart and 0.86-0.87 as one; RedNet-50's stem.4 + max pool 1.56-1.61 and 1.51-1.52.
 *
 * Weights: the scalar kernels read PyTorch order; SIMD pointwise and direct kernels only their
 * packed layout (so only that is kept), depthwise both (tiny).
 *
 * Scratch (packed image, per-thread row buffers) comes from ic_run_scratch: no allocation on the
 * hot path once the context or thread has run the layer.
 *
 * Tasks are (image, output-channel block, output-row block) and their cut depends only on the
 * problem, so results are bit-identical for any number of threads.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "pool2d.h"
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
  ic_f32_conv2d_ukernel_fn conv_fn; /* direct or depthwise; pointwise: the direct kernel */
  ic_f32_pwconv2d_ukernel_fn pointwise_fn;
  ic_f32_winograd_ukernel_fn winograd_fn; /* with IC_CONV2D_WINOGRAD on an eligible conv */
  bool weights_to_l2; /* the direct kernel's weight prefetch (ic_nta_prefetch_skips_l2) */
  char kernel_names[96];  /* direct + Winograd, when both */
  float* weights;        /* PyTorch order; NULL when only the packed copy is needed */
  float* packed_weights; /* the SIMD kernels' layout, or NULL */
  float* winograd_weights; /* the Winograd kernel's, or NULL */
  float* bias;           /* NULL when the operator has none */
};

/* Multiply-adds per task: enough that handing tasks out costs nothing, few enough to balance
 * two to a few dozen threads. */
enum {
  IC_CONV2D_TASK_WORK = 1 << 20,
  IC_PACK_TASK_FLOATS = 1 << 15,
  IC_PRIVATE_PACK_FLOATS = 1 << 18, /* 1 MB: a packed image each thread may copy for itself */
  IC_PACKED_POINTWISE_FLOATS = 1 << 16, /* 256 KB of weights: NCHW 14x14 1x1 convs packed */
  IC_BAND_TASKS = 8, /* pooled runs: consecutive tasks a thread's band holds before a move */
  /* Winograd: images of fewer output tiles take the direct conv. Its weights are 4x the
   * direct conv's; a 7x7 image (4 tiles) reads all of them for 49 pixels, and in a network
   * (weights in memory: ic-bench --cold) 512->512 at 7x7 took 1.15 ms there against 0.77 ms
   * direct; at 14x14 (16 tiles) 256->256 takes 0.61 against 0.74 (0.32 against 0.60 warm). */
  IC_CONV2D_WINOGRAD_MIN_TILES = 16,
  /* A task's share (ic_conv2d_run_winograd): whole 64-channel blocks of output channels whose
   * transformed weights take about IC_WINOGRAD_WEIGHT_FLOATS; tiles by the L2 (1 MB here, 3/4
   * of it for a task) and by the scratch a task may take, at least the GEMM's 6-pixel tile. In
   * ResNet-50 (ic-bench-resnet50 --winograd, cycles per layer and thread, 3 alternations): 3x3
   * 256->256 at 14x14 0.67 -> 0.54-0.59 ms against tiles by scratch size alone (128 K), 64->64
   * at 56x56 0.32-0.33 -> 0.30-0.32, 128->128 at 28x28 the same within noise. */
  IC_WINOGRAD_MIN_TASK_TILES = 6,
  IC_WINOGRAD_WEIGHT_FLOATS = 1 << 18,
  IC_WINOGRAD_L2_FLOATS = 192 << 10,
  IC_WINOGRAD_SCRATCH_FLOATS = 1 << 18
};

static ic_window_t ic_conv2d_window(const ic_conv2d_params_t* p) {
  return (ic_window_t){p->padding,    p->kernel_h,   p->kernel_w,  p->stride_h,
                       p->stride_w,   p->dilation_h, p->dilation_w, p->pad_top,
                       p->pad_left,   p->pad_bottom, p->pad_right};
}

static ic_status_t ic_conv2d_validate(const ic_conv2d_params_t* p) {
  ic_status_t status = ic_check_datatype(ic_op, p->datatype);
  if (status == IC_STATUS_SUCCESS && (p->flags & ~IC_CONV2D_WINOGRAD) != 0) {
    status = ic_error(IC_STATUS_INVALID_ARGUMENT,
                      "conv2d: flags=%d has bits no IC_CONV2D_* flag defines (known: "
                      "IC_CONV2D_WINOGRAD = 1)", (int)p->flags);
  }
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
  /* 1x1 kernels get no padding from VALID, SAME (any stride: ceil(in / stride) outputs reach
   * no further than the input) or FULL; EXPLICIT pads are given. Without padding every
   * output pixel is an input pixel. */
  return p->kernel_h == 1 && p->kernel_w == 1 && p->groups == 1 && p->pad_top == 0 &&
         p->pad_left == 0 && p->pad_bottom == 0 && p->pad_right == 0;
}

/* Direct-path convs the Winograd kernels compute, when asked to (a single input channel is a
 * depthwise conv, whose kernels do 9 multiply-adds per output anyway). Padding of at most 1
 * (VALID and SAME): Winograd's rounding error follows the magnitude of the whole tile, and
 * SPEC 3 bounds each output's by its own products; an output that sees a corner of the image
 * through 2 of padding has 1 input pixel of 9 (FULL padding) and its error exceeded the bound
 * (1.1e-4 against 7.2e-5, NativeConvolutionTest), one that sees only padding (3) gets noise
 * instead of exactly 0. With 1, every output has 4 input pixels or more. */
static bool ic_conv2d_is_winograd(const ic_conv2d_params_t* p) {
  const bool narrow_padding = p->padding == IC_PADDING_VALID || p->padding == IC_PADDING_SAME ||
                              (p->padding == IC_PADDING_EXPLICIT && p->pad_top <= 1 &&
                               p->pad_left <= 1 && p->pad_bottom <= 1 && p->pad_right <= 1);
  return (p->flags & IC_CONV2D_WINOGRAD) != 0 && p->kernel_h == 3 && p->kernel_w == 3 &&
         p->stride_h == 1 && p->stride_w == 1 && p->dilation_h == 1 && p->dilation_w == 1 &&
         p->groups == 1 && narrow_padding;
}

/* The geometry of a 1x1 output of this operator: enough for the weight packing, whose layout
 * does not depend on the dilation — left at 1, so that a valid but huge dilation cannot
 * overflow the packed-image sizes computed alongside (they are recomputed per run). */
static ic_conv2d_geometry_t ic_conv2d_unit_geometry(const ic_conv2d_params_t* p) {
  return (ic_conv2d_geometry_t){p->in_channels, p->out_channels, p->groups, 1, 1, 1, 1,
                                p->kernel_h,    p->kernel_w,     p->stride_h, p->stride_w,
                                1,              1,               0,           0};
}

/* Packs the weights for the chosen SIMD kernel; false on out of memory. */
static bool ic_conv2d_pack(ic_conv2d_t* conv, const float* weights, size_t weight_count) {
  const ic_conv2d_params_t* p = &conv->params;
  if (conv->kernel.isa == IC_ISA_SCALAR) {
    conv->weights = ic_weights_copy(weights, weight_count);
    return conv->weights != NULL;
  }
  if (conv->path == IC_CONV2D_POINTWISE) {
    const int64_t count = ic_f32_pwconv2d_packed_floats(p->in_channels, p->out_channels);
    conv->packed_weights = ic_weights_alloc((size_t)count * sizeof(float));
    if (conv->packed_weights == NULL) return false;
    ic_f32_pwconv2d_pack_weights(p->in_channels, p->out_channels, weights, conv->packed_weights);
    return true;
  }
  if (conv->path == IC_CONV2D_DEPTHWISE) {
    const int64_t taps = p->kernel_h * p->kernel_w;
    const int64_t count = ic_f32_dwconv2d_packed_floats(p->out_channels, taps);
    conv->weights = ic_weights_copy(weights, weight_count);
    conv->packed_weights = ic_weights_alloc((size_t)count * sizeof(float));
    if (conv->weights == NULL || conv->packed_weights == NULL) return false;
    ic_f32_dwconv2d_pack_weights(p->out_channels, taps, weights, conv->packed_weights);
    return true;
  }
  const ic_conv2d_geometry_t unit = ic_conv2d_unit_geometry(p);
  ic_f32_conv2d_packing_t pk;
  if (!ic_f32_conv2d_packing(&unit, &pk)) return false;
  conv->packed_weights = ic_weights_alloc((size_t)pk.weights_floats * sizeof(float));
  if (conv->packed_weights == NULL) return false;
  ic_f32_conv2d_pack_weights(&unit, &pk, weights, conv->packed_weights);
  return true;
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
  if (bias != NULL) {
    conv->bias = ic_weights_copy(bias, bias_bytes / sizeof(float));
    if (conv->bias == NULL) goto out_of_memory;
  }

  const ic_isa_t isa = ic_active_isa();
  conv->weights_to_l2 = ic_nta_prefetch_skips_l2();
  if (ic_conv2d_is_pointwise(params)) {
    conv->path = IC_CONV2D_POINTWISE;
    conv->pointwise_fn = ic_select_f32_pwconv2d_ukernel(isa, &conv->kernel);
    ic_ukernel_info_t direct;
    conv->conv_fn = ic_select_f32_conv2d_ukernel(isa, &direct);
  } else if (params->groups == params->in_channels) {
    conv->path = IC_CONV2D_DEPTHWISE;
    conv->conv_fn = ic_select_f32_dwconv2d_ukernel(isa, &conv->kernel);
  } else {
    conv->path = IC_CONV2D_DIRECT;
    conv->conv_fn = ic_select_f32_conv2d_ukernel(isa, &conv->kernel);
  }
  if (!ic_conv2d_pack(conv, weights, weights_bytes / sizeof(float))) goto out_of_memory;
  if (conv->path == IC_CONV2D_DIRECT && ic_conv2d_is_winograd(params)) {
    ic_ukernel_info_t winograd;
    conv->winograd_fn = ic_select_f32_winograd_ukernel(isa, &winograd);
    const int64_t count = ic_f32_winograd_packed_floats(params->in_channels, params->out_channels);
    if (count > INT64_MAX / (int64_t)sizeof(float)) goto out_of_memory;
    conv->winograd_weights = ic_weights_alloc((size_t)count * sizeof(float));
    if (conv->winograd_weights == NULL ||
        !ic_f32_winograd_pack_weights(params->in_channels, params->out_channels, weights,
                                      conv->winograd_weights)) {
      goto out_of_memory;
    }
    snprintf(conv->kernel_names, sizeof conv->kernel_names, "%s+%s", conv->kernel.name,
             winograd.name);
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
  ic_conv2d_geometry_t compute; /* what the packed-path kernel sees (a 1x1 image as one row) */
  ic_f32_conv2d_packing_t packing;
  ic_tiling_t tiling;
  const float* src; /* the image (direct path) or the batch */
  const float* residual;
  float* dst;
  ic_strides_t src_strides, dst_strides;
  ic_f32_conv2d_ukernel_fn fn;  /* the direct/depthwise kernel this run calls */
  const float* weights;         /* PyTorch order for fn, if it is scalar */
  float* packed_src;            /* direct SIMD path: the packed image (shared packing) */
  atomic_int* row_flags;        /* shared packing: per packed row, free / busy / done */
  bool private_packing;         /* each thread packs its own copy after its row buffer */
  int64_t* packed_image;        /* private packing: per thread (a cache line apart), the
                                 * image + 1 its copy holds, 0 for none yet */
  int64_t row_floats;           /* private packing: the row buffer before the copy */
  float* decimated;             /* strided pointwise: the compact image of its pixels */
  ic_strides_t decimated_strides;
  float* scratch;               /* per-thread buffers of scratch_floats */
  int64_t scratch_floats;
  int64_t image;                /* direct SIMD path: the image being computed */
  int32_t layout;               /* the run's (ic_layout_t) */
  int64_t row_quantum;          /* row blocks are multiples of this (whole cache lines) */
  int64_t pack_rows;            /* shared packing: the most packed rows one claim takes */
  int64_t tiles, task_tiles;    /* Winograd: 4x4 output tiles per image, per task */
  int64_t task_channels;        /* Winograd: output channels per task */
  int64_t tile_blocks, channel_blocks; /* Winograd: tasks per image = their product */
  int32_t winograd_activation;  /* Winograd: the activation its output transform applies */
  /* Pooled (ic_conv2d_pool2d_run): tasks of pooled rows; each computes the conv rows they read
   * into its thread's band of conv rows and pools them from there into dst. */
  bool pooled;
  ic_pool2d_geometry_t pool;    /* the pool on the whole conv output */
  ic_f32_pool2d_ukernel_fn pool_fn;
  ic_strides_t band_strides;    /* a band of band_rows conv rows, in the run's layout */
  int64_t band_rows, band_offset; /* its rows; its floats from the start of a thread's slice */
  int64_t* band_state;          /* per thread (a cache line apart): its last task + 1 (0: none)
                                 * and the conv row at the top of its band */
} ic_conv2d_job_t;

/* Bands of rows per thread when `image_factor` times the image outweighs the weights (early
 * layers: a thread then reads the rows it packed or the previous layer wrote), channel ranges
 * otherwise (late layers: each thread streams only its half of the weights). */
static bool ic_conv2d_rows_outer(const ic_conv2d_params_t* p, int64_t in_h, int64_t in_w,
                                 int64_t image_factor) {
  const int64_t image = ic_mul_saturate(ic_mul_saturate(p->in_channels, in_h), in_w);
  const int64_t weights =
      ic_mul_saturate(ic_mul_saturate(p->out_channels, p->in_channels / p->groups),
                      ic_mul_saturate(p->kernel_h, p->kernel_w));
  return ic_mul_saturate(image, image_factor) >= weights;
}

/* Rows [r0, r1) of image n's compact copy of every stride-th pixel (strided pointwise). */
static void ic_conv2d_decimate_task(void* arg, size_t task, uint32_t thread_index) {
  (void)thread_index;
  const ic_conv2d_job_t* job = arg;
  const ic_conv2d_geometry_t* g = &job->geometry;
  const ic_tile_t tile = ic_tiling_tile(&job->tiling, task);
  const ic_strides_t xs = job->src_strides, ds = job->decimated_strides;
  /* Pixel (r * stride_h, x * stride_w) is in the image, so these products fit; the stride times
   * a row's floats alone need not (a huge stride over a one-pixel output). */
  for (int64_t r = tile.r0; r < tile.r1; r++) {
    const float* in = job->src + tile.n * xs.n + r * g->stride_h * xs.h;
    float* out = job->decimated + tile.n * ds.n + r * ds.h;
    if (xs.c == 1) { /* NHWC: whole pixels */
      for (int64_t x = 0; x < g->out_w; x++) {
        memcpy(out + x * ds.w, in + x * g->stride_w * xs.w,
               (size_t)g->in_channels * sizeof(float));
      }
    } else {
      for (int64_t c = 0; c < g->in_channels; c++) {
        for (int64_t x = 0; x < g->out_w; x++) {
          out[c * ds.c + x] = in[c * xs.c + x * g->stride_w * xs.w];
        }
      }
    }
  }
}

/* Gathers every stride-th pixel of the batch into a compact image of the same layout, which
 * becomes the job's source. */
static ic_status_t ic_conv2d_decimate(ic_conv2d_job_t* job, ic_run_t* run, int32_t layout,
                                      int64_t batch) {
  ic_conv2d_geometry_t* g = &job->geometry;
  const size_t floats = (size_t)(batch * g->in_channels * g->out_h * g->out_w); /* <= src */
  job->decimated = ic_run_scratch(run, floats * sizeof(float));
  if (job->decimated == NULL) {
    return ic_error(IC_STATUS_OUT_OF_MEMORY,
                    "conv2d: out of memory for %zu bytes of scratch (strided 1x1 input)",
                    floats * sizeof(float));
  }
  job->decimated_strides = ic_layout_strides(layout, g->in_channels, g->out_h, g->out_w);
  const int64_t row_floats = ic_max_i64(1, g->in_channels * g->out_w);
  ic_tiling_rows(&job->tiling, batch, g->out_h,
                 ic_divide_round_up(IC_PACK_TASK_FLOATS, row_floats));
  ic_run_parallelize(run, job->tiling.task_count, ic_conv2d_decimate_task, job);
  job->src = job->decimated;
  job->src_strides = job->decimated_strides;
  g->in_h = g->out_h;
  g->in_w = g->out_w;
  g->stride_h = g->stride_w = 1;
  return IC_STATUS_SUCCESS;
}

static void ic_conv2d_pointwise_task(void* arg, size_t task, uint32_t thread_index) {
  (void)thread_index;
  const ic_conv2d_job_t* job = arg;
  const ic_conv2d_t* conv = job->conv;
  const ic_tile_t tile = ic_tiling_tile(&job->tiling, task);
  const ic_strides_t xs = job->src_strides, ys = job->dst_strides;
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
      .out_channels = conv->params.out_channels,
      .packed_weights = conv->packed_weights,
  };
  conv->pointwise_fn(&args);
}

/* Depthwise, and direct kernels on the raw image (scalar). */
static void ic_conv2d_raw_task(void* arg, size_t task, uint32_t thread_index) {
  (void)thread_index;
  const ic_conv2d_job_t* job = arg;
  const ic_conv2d_t* conv = job->conv;
  const ic_tile_t tile = ic_tiling_tile(&job->tiling, task);
  const ic_strides_t xs = job->src_strides, ys = job->dst_strides;
  const int64_t y_offset = tile.n * ys.n + tile.r0 * ys.h;
  const ic_f32_conv2d_args_t args = {
      .geometry = &job->geometry,
      .weights = job->weights,
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
      .packed_weights = conv->packed_weights,
  };
  job->fn(&args);
}

/* Packed rows [r0, r1) of the shared packed image: packs the rows nobody has claimed, in runs,
 * then waits for those others are packing. */
static void ic_conv2d_ensure_rows(const ic_conv2d_job_t* job, int64_t r0, int64_t r1) {
  const ic_strides_t xs = job->src_strides;
  const float* src = job->src + job->image * xs.n;
  for (int64_t r = r0; r < r1;) {
    if (!ic_claim(&job->row_flags[r])) {
      r++;
      continue;
    }
    int64_t end = r + 1;
    while (end < r1 && end - r < job->pack_rows && ic_claim(&job->row_flags[end])) end++;
    ic_f32_conv2d_pack_src(&job->geometry, &job->packing, src,
                           (ic_view_strides_t){xs.c, xs.h, xs.w}, job->packed_src, r, end);
    for (int64_t i = r; i < end; i++) ic_publish(&job->row_flags[i]);
    r = end;
  }
  for (int64_t r = r0; r < r1; r++) ic_wait_done(&job->row_flags[r]);
}

/* The packed image output rows [r0, r1) read: the shared one, once the packed rows they need
 * are packed (ic_conv2d_ensure_rows), or this thread's private copy, packed at its first task
 * of the image. */
static const float* ic_conv2d_packed_rows(const ic_conv2d_job_t* job, uint32_t thread_index,
                                          int64_t r0, int64_t r1) {
  const ic_strides_t xs = job->src_strides;
  if (!job->private_packing) {
    const ic_f32_conv2d_packing_t* pk = &job->packing;
    const ic_conv2d_geometry_t* cg = &job->compute;
    int64_t p0 = 0, p1 = pk->rows;
    if (cg->out_h > 1) {
      p0 = r0 * pk->row_step;
      p1 = ic_min_i64(pk->rows, (r1 - 1) * pk->row_step + (cg->kernel_h - 1) * pk->tap_h + 1);
    }
    ic_conv2d_ensure_rows(job, p0, p1);
    return job->packed_src;
  }
  float* copy = job->scratch + (int64_t)thread_index * job->scratch_floats + job->row_floats;
  int64_t* packed_image = job->packed_image + (int64_t)thread_index * 8;
  if (*packed_image != job->image + 1) {
    ic_f32_conv2d_pack_src(&job->geometry, &job->packing, job->src + job->image * xs.n,
                           (ic_view_strides_t){xs.c, xs.h, xs.w}, copy, 0, job->packing.rows);
    *packed_image = job->image + 1;
  }
  return copy;
}

/* Output rows [r0, r1) and channels [c0, c1) of the current image into dst (row r0, channel
 * 0, strides ys) with the residual addressed like it (or NULL): the packed image when the
 * kernel reads one (job->packing.rows > 0), else the raw one. */
static void ic_conv2d_compute_rows(const ic_conv2d_job_t* job, uint32_t thread_index,
                                   int64_t r0, int64_t r1, int64_t c0, int64_t c1, float* dst,
                                   ic_strides_t ys, const float* residual) {
  const ic_conv2d_t* conv = job->conv;
  const ic_strides_t xs = job->src_strides;
  const bool packed = job->packing.rows > 0;
  const ic_f32_conv2d_args_t args = {
      .geometry = packed ? &job->compute : &job->geometry,
      .weights = job->weights,
      .bias = conv->bias,
      .activation = conv->params.activation,
      .src = job->src + job->image * xs.n,
      .src_stride = {xs.c, xs.h, xs.w},
      .dst = dst,
      .residual = residual,
      .dst_stride = {ys.c, ys.h, ys.w},
      .y0 = r0,
      .y1 = r1,
      .c0 = c0,
      .c1 = c1,
      .packed_weights = conv->packed_weights,
      .packed_src = packed ? ic_conv2d_packed_rows(job, thread_index, r0, r1) : NULL,
      .scratch = job->scratch + (int64_t)thread_index * job->scratch_floats,
      .weights_to_l2 = conv->weights_to_l2,
  };
  job->fn(&args);
}

static void ic_conv2d_packed_task(void* arg, size_t task, uint32_t thread_index) {
  const ic_conv2d_job_t* job = arg;
  const ic_tile_t tile = ic_tiling_tile(&job->tiling, task); /* batch 1: tile.n == 0 */
  const ic_strides_t ys = job->dst_strides;
  const int64_t y_offset = job->image * ys.n + tile.r0 * ys.h;
  ic_conv2d_compute_rows(job, thread_index, tile.r0, tile.r1, tile.c0, tile.c1,
                         job->dst + y_offset, ys,
                         job->residual != NULL ? job->residual + y_offset : NULL);
}

/* The conv rows [lo, hi) pooled row q reads (clipped to the conv output). */
static int64_t ic_pool_rows_lo(const ic_pool2d_geometry_t* g, int64_t q) {
  return ic_min_i64(g->in_h, ic_max_i64(0, q * g->stride_h - g->pad_top));
}

static int64_t ic_pool_rows_hi(const ic_pool2d_geometry_t* g, int64_t q) {
  return ic_min_i64(g->in_h, ic_max_i64(0, q * g->stride_h - g->pad_top + g->kernel_h));
}

/* Pooled rows [tile.r0, tile.r1), channels [tile.c0, tile.c1): the conv rows they read into
 * this thread's band, then the pool from the band into dst. When this thread's previous task
 * was the band above (same channels), the rows both read are still in the band and are not
 * computed again: the band is a window sliding down its buffer, and only when it reaches the
 * buffer's end do those rows move to the top. Either way each conv row is the kernel's same
 * sums, so the cut into tasks changes no bit. */
static void ic_conv2d_pooled_task(void* arg, size_t task, uint32_t thread_index) {
  const ic_conv2d_job_t* job = arg;
  const ic_tile_t tile = ic_tiling_tile(&job->tiling, task); /* rows: pooled rows */
  const ic_pool2d_geometry_t* pg = &job->pool;
  const ic_strides_t bs = job->band_strides, ys = job->dst_strides;
  float* band = job->scratch + (int64_t)thread_index * job->scratch_floats + job->band_offset;
  int64_t* state = job->band_state + (int64_t)thread_index * 8;

  const int64_t a = ic_pool_rows_lo(pg, tile.r0), b = ic_pool_rows_hi(pg, tile.r1 - 1);
  int64_t have = a, top = a; /* rows [a, have) are in the band; row `top` is at its row 0 */
  const int64_t kept = tile.r0 > 0 ? ic_pool_rows_hi(pg, tile.r0 - 1) : 0;
  if (state[0] == (int64_t)task && tile.r0 > 0 && kept > a) {
    top = state[1];
    if (b - top > job->band_rows) {
      const int64_t rows = kept - a;
      if (bs.c == 1) { /* interleaved: the rows are one run */
        memmove(band, band + (a - top) * bs.h, (size_t)(rows * bs.h) * sizeof(float));
      } else {
        for (int64_t c = tile.c0; c < tile.c1; c++) {
          memmove(band + c * bs.c, band + c * bs.c + (a - top) * bs.h,
                  (size_t)(rows * bs.h) * sizeof(float));
        }
      }
      top = a;
    }
    have = kept;
  }
  if (have < b) {
    ic_conv2d_compute_rows(job, thread_index, have, b, tile.c0, tile.c1,
                           band + (have - top) * bs.h, bs, NULL);
  }
  /* The pool on rows [a, b) alone: those rows as the input, the padding above row a as before
   * it (none unless a is row 0). */
  ic_pool2d_geometry_t geometry = *pg;
  geometry.in_h = b - a;
  geometry.out_h = tile.r1 - tile.r0;
  geometry.pad_top = pg->pad_top - tile.r0 * pg->stride_h + a;
  const ic_f32_pool2d_args_t args = {
      .geometry = &geometry,
      .src = band + (a - top) * bs.h,
      .src_stride = {bs.c, bs.h, bs.w},
      .dst = job->dst + job->image * ys.n + tile.r0 * ys.h,
      .dst_stride = {ys.c, ys.h, ys.w},
      .y0 = 0,
      .y1 = tile.r1 - tile.r0,
      .c0 = tile.c0,
      .c1 = tile.c1,
  };
  job->pool_fn(&args);
  state[0] = (int64_t)task + 1;
  state[1] = top;
}

/* Winograd: task_channels output channels of task_tiles tiles of one image; per image, the
 * channel blocks outermost (each thread streams its share of the 4x larger weights once). */
static void ic_conv2d_winograd_task(void* arg, size_t task, uint32_t thread_index) {
  const ic_conv2d_job_t* job = arg;
  const ic_conv2d_t* conv = job->conv;
  const ic_conv2d_geometry_t* g = &job->geometry;
  const int64_t per_image = job->tile_blocks * job->channel_blocks;
  const int64_t n = (int64_t)task / per_image, k = (int64_t)task % per_image;
  const int64_t t0 = k % job->tile_blocks * job->task_tiles;
  const int64_t c0 = k / job->tile_blocks * job->task_channels;
  const ic_strides_t xs = job->src_strides, ys = job->dst_strides;
  const ic_f32_winograd_args_t args = {
      .in_channels = g->in_channels,
      .out_channels = g->out_channels,
      .in_h = g->in_h,
      .in_w = g->in_w,
      .out_h = g->out_h,
      .out_w = g->out_w,
      .pad_top = g->pad_top,
      .pad_left = g->pad_left,
      .tiles_w = ic_divide_round_up(g->out_w, IC_WINOGRAD_TILE),
      .t0 = t0,
      .t1 = ic_min_i64(t0 + job->task_tiles, job->tiles),
      .c0 = c0,
      .c1 = ic_min_i64(c0 + job->task_channels, g->out_channels),
      .src = job->src + n * xs.n,
      .src_stride_h = xs.h,
      .src_stride_w = xs.w,
      .dst = job->dst + n * ys.n,
      .residual = job->residual != NULL ? job->residual + n * ys.n : NULL,
      .dst_stride_h = ys.h,
      .dst_stride_w = ys.w,
      .bias = conv->bias,
      .activation = job->winograd_activation,
      .packed_weights = conv->winograd_weights,
      .scratch = job->scratch + (int64_t)thread_index * job->scratch_floats,
  };
  conv->winograd_fn(&args);
}

/* The 4x4 output tiles of an out_h x out_w image. */
static int64_t ic_winograd_tiles(int64_t out_h, int64_t out_w) {
  return ic_divide_round_up(out_h, IC_WINOGRAD_TILE) * ic_divide_round_up(out_w, IC_WINOGRAD_TILE);
}

/* Winograd, when the operator has its weights: images of enough tiles to pay for reading 4x
 * the direct conv's weights. */
static bool ic_conv2d_takes_winograd(const ic_conv2d_t* conv, int64_t out_h, int64_t out_w) {
  return conv->winograd_fn != NULL &&
         ic_winograd_tiles(out_h, out_w) >= IC_CONV2D_WINOGRAD_MIN_TILES;
}

/* The kernels read and write channel-contiguous images (vectors run along channels). An NCHW
 * image is transposed into an NHWC copy in the scratch first, and the NHWC result back into
 * dst with the residual and activation on the way: two more passes over the tensors (64->64
 * at 56x56, 2 threads: 0.27-0.35 ms, against 0.19-0.26 for an NHWC run and 0.62 direct). */
static ic_status_t ic_conv2d_run_winograd(ic_conv2d_job_t* job, ic_run_t* run, int32_t layout,
                                          int64_t batch) {
  const ic_conv2d_geometry_t* g = &job->geometry;
  const ic_conv2d_params_t* p = &job->conv->params;
  const bool planar = layout == IC_LAYOUT_NCHW;
  job->winograd_activation = planar ? IC_ACTIVATION_NONE : p->activation;
  job->tiles = ic_winograd_tiles(g->out_h, g->out_w);
  const int64_t per_channel = ic_mul_saturate(IC_WINOGRAD_POSITIONS, g->in_channels);
  job->task_channels =
      ic_min_i64(g->out_channels,
                 64 * ic_max_i64(1, IC_WINOGRAD_WEIGHT_FLOATS / ic_mul_saturate(per_channel, 64)));
  /* Tiles per task. A task's weights that fit in L2 beside its transformed tiles stay there
   * through its 36 GEMMs and for the thread's next task: the tiles take the rest of
   * IC_WINOGRAD_L2_FLOATS. Larger weights come from memory once per task: the task then takes
   * as many tiles as IC_WINOGRAD_SCRATCH_FLOATS hold, to use each weight that many times. The
   * image's tiles are then split into blocks of equal size. */
  const int64_t per_tile = ic_f32_winograd_scratch_floats(1, g->in_channels, job->task_channels);
  const int64_t weights = ic_mul_saturate(per_channel, job->task_channels);
  const int64_t most = weights < IC_WINOGRAD_L2_FLOATS
                           ? (IC_WINOGRAD_L2_FLOATS - weights) / per_tile
                           : IC_WINOGRAD_SCRATCH_FLOATS / per_tile;
  const int64_t blocks =
      ic_divide_round_up(job->tiles, ic_max_i64(IC_WINOGRAD_MIN_TASK_TILES, most));
  job->task_tiles = ic_divide_round_up(job->tiles, blocks);
  job->tile_blocks = ic_divide_round_up(job->tiles, job->task_tiles);
  job->channel_blocks = ic_divide_round_up(g->out_channels, job->task_channels);
  /* Planar: one image's NHWC copies of src and dst after the per-thread slices (the tensor
   * sizes are checked, so their floats fit). */
  const int64_t in_floats = planar ? g->in_channels * g->in_h * g->in_w : 0;
  const int64_t out_floats = planar ? g->out_channels * g->out_h * g->out_w : 0;
  int64_t total;
  if (!ic_thread_slice_floats(ic_mul_saturate(per_tile, job->task_tiles), &job->scratch_floats) ||
      ic_mul_overflow(job->scratch_floats, (int64_t)run->threads, &total) ||
      ic_add_overflow(total, in_floats + out_floats, &total) ||
      (uint64_t)total > SIZE_MAX / sizeof(float)) {
    return ic_error(IC_STATUS_OUT_OF_MEMORY, "conv2d: Winograd scratch overflows");
  }
  job->scratch = ic_run_scratch(run, (size_t)total * sizeof(float));
  if (job->scratch == NULL) {
    return ic_error(IC_STATUS_OUT_OF_MEMORY,
                    "conv2d: out of memory for %" PRId64 " bytes of scratch (Winograd)",
                    total * (int64_t)sizeof(float));
  }
  const int64_t tasks_per_image = job->tile_blocks * job->channel_blocks;
  if (!planar) {
    ic_run_parallelize(run, (size_t)(batch * tasks_per_image), ic_conv2d_winograd_task, job);
    return IC_STATUS_SUCCESS;
  }
  float* src_copy = job->scratch + job->scratch_floats * (int64_t)run->threads;
  float* dst_copy = src_copy + in_floats;
  const float* src = job->src;
  const float* residual = job->residual;
  float* dst = job->dst;
  const ic_strides_t xs = job->src_strides, ys = job->dst_strides;
  job->src = src_copy;
  job->src_strides = ic_layout_strides(IC_LAYOUT_NHWC, g->in_channels, g->in_h, g->in_w);
  job->dst = dst_copy;
  job->dst_strides = ic_layout_strides(IC_LAYOUT_NHWC, g->out_channels, g->out_h, g->out_w);
  job->residual = NULL;
  for (int64_t n = 0; n < batch; n++) {
    ic_layout_transpose(run, IC_LAYOUT_NCHW, 1, g->in_channels, g->in_h, g->in_w,
                        src + n * xs.n, src_copy, NULL, IC_ACTIVATION_NONE);
    ic_run_parallelize(run, (size_t)tasks_per_image, ic_conv2d_winograd_task, job);
    ic_layout_transpose(run, IC_LAYOUT_NHWC, 1, g->out_channels, g->out_h, g->out_w, dst_copy,
                        dst + n * ys.n, residual != NULL ? residual + n * ys.n : NULL,
                        p->activation);
  }
  return IC_STATUS_SUCCESS;
}

/* The inverse of ic_f32_conv2d_pack_weights, for the scalar fallback. */
static void ic_conv2d_unpack_weights(const ic_conv2d_geometry_t* g,
                                     const ic_f32_conv2d_packing_t* pk, const float* packed,
                                     float* weights) {
  const int64_t taps = g->kernel_h * g->kernel_w;
  const int64_t out_blocks = ic_divide_round_up(pk->group_out, 16);
  for (int64_t o = 0; o < g->out_channels; o++) {
    const int64_t gi = o / pk->group_out, og = o % pk->group_out;
    const float* block = packed + (gi * out_blocks + og / 16) * taps * pk->group_in * 16;
    for (int64_t c = 0; c < pk->group_in; c++) {
      for (int64_t t = 0; t < taps; t++) {
        weights[(o * pk->group_in + c) * taps + t] =
            block[ic_f32_conv2d_weight_at(g, pk, t, c) + og % 16];
      }
    }
  }
}

/* The direct path: each image packed as its tasks need it (SIMD kernels; job->packing.rows is 0
 * for the scalar kernel, which reads the raw image), and computed, or pooled (job->pooled). */
static ic_status_t ic_conv2d_run_packed(ic_conv2d_job_t* job, ic_run_t* run, int64_t batch) {
  const ic_conv2d_t* conv = job->conv;
  const ic_conv2d_params_t* p = &conv->params;
  const ic_conv2d_geometry_t* g = &job->geometry;
  const ic_f32_conv2d_packing_t* pk = &job->packing;
  const bool packed = pk->rows > 0;
  const int64_t group_in = packed ? pk->group_in : p->in_channels / p->groups;
  const int64_t group_out = packed ? pk->group_out : p->out_channels / p->groups;

  /* Tasks split by output channels (late layers: small images, large weights) each read the
   * whole packed image. Shared, it is packed by both threads as they claim its rows, half of it
   * is then in the other core's cache for each of them, and every task starts with reads from
   * there. Small enough images are instead packed by each thread into its own copy, at its
   * first task, and the reads stay in the core's cache. */
  const bool rows_outer = ic_conv2d_rows_outer(p, g->in_h, g->in_w, 1);
  job->private_packing = packed && !rows_outer && run->threads > 1 &&
                         pk->src_floats <= IC_PRIVATE_PACK_FLOATS;

  /* Compute tasks: blocks of 32 channels (whole groups when grouped) whose weights stay in
   * L2, times rows for about IC_CONV2D_TASK_WORK multiply-adds. */
  const int64_t taps = p->kernel_h * p->kernel_w;
  int64_t channel_block;
  if (p->groups == 1) {
    const int64_t bytes_per_32 = ic_mul_saturate(ic_mul_saturate(group_in, taps), 32 * 4);
    channel_block = 32 * ic_max_i64(1, (256 << 10) / ic_max_i64(bytes_per_32, 1));
  } else {
    channel_block = group_out * ic_max_i64(1, 64 / group_out);
  }
  channel_block = ic_min_i64(channel_block, p->out_channels);
  /* A 1x1 kernel has no neighbourhood: its packed image (decimated: out_h x out_w pixels) is
   * one row to the kernel, unless that row would be too long to share among threads (or the
   * pool needs it in rows). */
  job->compute = *g;
  const int64_t pixels = g->out_h * g->out_w;
  if (p->kernel_h == 1 && p->kernel_w == 1 && g->out_h > 1 && pixels <= 4096 && !job->pooled) {
    job->compute = (ic_conv2d_geometry_t){p->in_channels, p->out_channels, p->groups, 1, pixels,
                                          1, pixels, 1, 1, 1, 1, 1, 1, 0, 0};
  }
  const ic_conv2d_geometry_t* cg = &job->compute;
  const int64_t per_row = ic_mul_saturate(
      ic_mul_saturate(cg->out_w, ic_divide_round_up(channel_block, 16) * 16),
      ic_mul_saturate(group_in, taps));
  if (cg->out_h == 1) {
    /* One row: split the channels instead, in blocks of 32 for about the task work. */
    const int64_t per_channel = ic_mul_saturate(cg->out_w, ic_mul_saturate(group_in, taps));
    const int64_t blocks = ic_block_for_work(IC_CONV2D_TASK_WORK, per_channel * 32, 1);
    channel_block = p->groups == 1 ? ic_min_i64(channel_block, 32 * blocks) : channel_block;
  }
  /* Narrow images: at least the rows the kernel runs each weight chunk over (a task of one
   * row of a 7x7 image would read its 590 KB of weights per row instead of once). */
  const int64_t shared_rows = ic_min_i64(cg->out_h, ic_f32_conv2d_shared_rows(cg->out_w, 32));
  const int64_t task_rows =
      ic_max_i64(ic_block_for_work(IC_CONV2D_TASK_WORK, per_row, job->row_quantum),
                 ic_divide_round_up(shared_rows, job->row_quantum) * job->row_quantum);
  int64_t band_floats = 0;
  if (job->pooled) {
    /* Tasks of pooled rows reading about task_rows conv rows, channel blocks outermost so that
     * a thread's next task is mostly the band below (ic_conv2d_pooled_task). */
    const ic_pool2d_geometry_t* pg = &job->pool;
    const int64_t pooled_rows = ic_min_i64(pg->out_h, ic_max_i64(1, task_rows / pg->stride_h));
    ic_tiling_blocks(&job->tiling, 1, p->out_channels, channel_block, pg->out_h, pooled_rows,
                     false);
    /* Room for the rows of IC_BAND_TASKS tasks in a row: their shared rows then move once. */
    int64_t band_rows;
    if (ic_add_overflow(ic_mul_saturate(IC_BAND_TASKS * pooled_rows - 1, pg->stride_h),
                        pg->kernel_h, &band_rows)) {
      band_rows = g->out_h;
    }
    job->band_rows = ic_min_i64(g->out_h, band_rows);
    job->band_strides = ic_layout_strides(job->layout, p->out_channels, job->band_rows, g->out_w);
    band_floats = ic_divide_round_up(job->band_rows * g->out_w * p->out_channels, 16) * 16;
  } else {
    ic_tiling_blocks(&job->tiling, 1, p->out_channels, channel_block, cg->out_h, task_rows,
                     rows_outer);
  }

  /* Scratch: flag lines per thread (private packing: the image its copy holds; pooled: its
   * band_state), a claim flag per packed row and the shared packed image (shared packing); then
   * per thread its row buffer, private copy and band, ic_thread_slice_floats apart. */
  const int64_t flat_w = p->kernel_h == 1 && p->kernel_w == 1 ? g->out_h * g->out_w : g->out_w;
  const int64_t packed_floats = ic_divide_round_up(pk->src_floats, 16) * 16;
  const int64_t shared_floats = packed && !job->private_packing ? packed_floats : 0;
  const int64_t thread_lines = (job->private_packing ? 1 : 0) + (job->pooled ? 1 : 0);
  const int64_t flag_floats = (int64_t)run->threads * 16 * thread_lines +
                              (shared_floats > 0 ? ic_divide_round_up(pk->rows, 16) * 16 : 0);
  job->row_floats = packed ? ic_divide_round_up(ic_f32_conv2d_scratch_floats(
                                                    ic_max_i64(flat_w, g->out_w)), 16) * 16
                           : 0;
  job->band_offset = job->row_floats + (job->private_packing ? packed_floats : 0);
  int64_t slice_floats, total;
  if (!ic_thread_slice_floats(job->band_offset + band_floats, &slice_floats) ||
      ic_mul_overflow(slice_floats, (int64_t)run->threads, &total) ||
      ic_add_overflow(total, shared_floats, &total) ||
      ic_add_overflow(total, flag_floats, &total) ||
      (uint64_t)total > SIZE_MAX / sizeof(float)) {
    return ic_error(IC_STATUS_OUT_OF_MEMORY, "conv2d: the packed image of %" PRId64
                    " floats overflows", pk->src_floats);
  }
  float* scratch = ic_run_scratch(run, (size_t)total * sizeof(float));
  if (scratch == NULL) {
    return ic_error(IC_STATUS_OUT_OF_MEMORY,
                    "conv2d: out of memory for %" PRId64 " bytes of scratch (packed image)",
                    total * (int64_t)sizeof(float));
  }
  float* next = scratch;
  if (job->private_packing) { /* 16 floats = 8 int64 per thread */
    job->packed_image = (int64_t*)(void*)next;
    next += (int64_t)run->threads * 16;
  }
  if (job->pooled) {
    job->band_state = (int64_t*)(void*)next;
    next += (int64_t)run->threads * 16;
  }
  if (shared_floats > 0) {
    job->row_flags = (atomic_int*)(void*)next;
    next += ic_divide_round_up(pk->rows, 16) * 16;
    job->packed_src = next;
    next += shared_floats;
  }
  job->scratch = next;
  job->scratch_floats = slice_floats;

  /* Shared packing: a claim takes up to about IC_PACK_TASK_FLOATS of packed rows (all planes),
   * so that threads needing the same rows at once share their packing. */
  const int64_t row_all_planes = ic_max_i64(1, pk->src_floats / ic_max_i64(pk->rows, 1));
  job->pack_rows = ic_max_i64(1, IC_PACK_TASK_FLOATS / row_all_planes);

  for (uint32_t t = 0; job->private_packing && t < run->threads; t++) {
    job->packed_image[t * 8] = 0; /* no image yet (it holds image + 1) */
  }
  for (job->image = 0; job->image < batch; job->image++) {
    for (uint32_t t = 0; job->pooled && t < run->threads; t++) job->band_state[t * 8] = 0;
    if (shared_floats > 0) ic_reset_flags(job->row_flags, pk->rows);
    ic_run_parallelize(run, job->tiling.task_count,
                       job->pooled ? ic_conv2d_pooled_task : ic_conv2d_packed_task, job);
  }
  return IC_STATUS_SUCCESS;
}

/* The geometry of a run of `conv` on an in_h x in_w image with that output (and its strides). */
static ic_conv2d_geometry_t ic_conv2d_run_geometry(const ic_conv2d_params_t* p, int64_t in_h,
                                                   int64_t in_w,
                                                   const ic_window_output_t* output) {
  return (ic_conv2d_geometry_t){p->in_channels, p->out_channels, p->groups, in_h, in_w,
                                output->out_h, output->out_w, p->kernel_h, p->kernel_w,
                                output->stride_h, output->stride_w, p->dilation_h,
                                p->dilation_w, output->pad_top, output->pad_left};
}

/* The job of a run of `conv` on an in_h x in_w image of `layout` with that output. */
static void ic_conv2d_job_init(ic_conv2d_job_t* job, const ic_conv2d_t* conv, int32_t layout,
                               int64_t in_h, int64_t in_w, const ic_window_output_t* output,
                               const float* src, const float* residual, float* dst) {
  const ic_conv2d_params_t* p = &conv->params;
  *job = (ic_conv2d_job_t){
      .conv = conv,
      .geometry = ic_conv2d_run_geometry(p, in_h, in_w, output),
      .src = src,
      .residual = residual,
      .dst = dst,
      .src_strides = ic_layout_strides(layout, p->in_channels, in_h, in_w),
      .dst_strides = ic_layout_strides(layout, p->out_channels, output->out_h, output->out_w),
      .fn = conv->conv_fn,
      .weights = conv->weights,
      .layout = layout,
  };
  /* NCHW: a block of output rows ends on a cache line (16 floats) when its pixel count is a
   * multiple of 16; otherwise two threads writing neighbouring blocks share a line in every
   * channel plane. */
  job->row_quantum = 1;
  if (layout == IC_LAYOUT_NCHW) {
    int64_t a = output->out_w % 16, b = 16;
    while (a != 0) {
      const int64_t t = b % a;
      b = a;
      a = t;
    }
    job->row_quantum = 16 / b;
  }
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

  ic_conv2d_job_t job;
  ic_conv2d_job_init(&job, conv, layout, in_h, in_w, &output, src, residual, dst);
  const int64_t taps = ic_mul_saturate(p->kernel_h, p->kernel_w);
  const int64_t group_in = p->in_channels / p->groups;
  ic_run_t run;
  ic_run_begin(&run, context);

  const int64_t pixels = output.out_h * output.out_w;
  const bool pointwise_packed =
      conv->path == IC_CONV2D_POINTWISE && conv->kernel.isa != IC_ISA_SCALAR &&
      layout == IC_LAYOUT_NCHW && pixels % 16 != 0 && pixels > 16 && pixels <= 4096 &&
      ic_mul_saturate(p->in_channels, p->out_channels) > IC_PACKED_POINTWISE_FLOATS;
  if (ic_conv2d_takes_winograd(conv, output.out_h, output.out_w)) {
    status = ic_conv2d_run_winograd(&job, &run, layout, batch);
  } else if (pointwise_packed) {
    ic_f32_conv2d_packing(&job.geometry, &job.packing); /* 1x1: cannot overflow */
    status = ic_conv2d_run_packed(&job, &run, batch);
  } else if (conv->path == IC_CONV2D_POINTWISE) {
    if (in_h != output.out_h || in_w != output.out_w) { /* strided: not every pixel */
      status = ic_conv2d_decimate(&job, &run, layout, batch);
    }
    if (status == IC_STATUS_SUCCESS) {
      /* Pixel blocks of whole 48-pixel tiles; channel blocks of 64 only for small images. */
      const int64_t channel_block = pixels >= 512 ? p->out_channels : 64;
      const int64_t per_pixel = ic_mul_saturate(ic_min_i64(channel_block, p->out_channels),
                                                p->in_channels);
      int64_t pixel_block = ic_block_for_work(IC_CONV2D_TASK_WORK, per_pixel, 48);
      /* NHWC: an image of one block and a short tail is one task (whose tiles the kernel
       * balances). The tail as a task of its own read all its group's weights for a few
       * pixels: 49 = 48 + 1 in ResNet's last stage. Spread over several blocks, a tail can
       * add a tile to each of them (196 = 2 * 98 took 5 % more than 96 + 96 + 4). */
      if (layout == IC_LAYOUT_NHWC && pixels > pixel_block &&
          pixels - pixel_block < pixel_block / 4) {
        pixel_block = pixels;
      }
      /* With the AVX-512 kernel, bands of rows already when the image is a quarter of the
       * weights: inside a network the layer before left the input in both cores' caches, and
       * a thread gathers input rows more slowly than it streams weights, which that kernel
       * fetches ahead (IC_PW_AHEAD). ResNet's 14x14 reduces, 1024 -> 256 and 1024 -> 512,
       * take 5-10 % less so; the expands (a fifth) do not. The AVX2 kernel does not fetch
       * ahead, and the 1024 -> 512 reduce took 7 % more. */
      const int64_t image_factor = conv->kernel.isa == IC_ISA_AVX512 ? 4 : 1;
      ic_tiling_blocks(&job.tiling, batch, p->out_channels, channel_block, pixels, pixel_block,
                       ic_conv2d_rows_outer(p, job.geometry.in_h, job.geometry.in_w,
                                            image_factor));
      ic_run_parallelize(&run, job.tiling.task_count, ic_conv2d_pointwise_task, &job);
    }
  } else if (conv->path == IC_CONV2D_DEPTHWISE) {
    /* Channel-contiguous images: all channels per task (vectors run along channels);
     * otherwise blocks of channel planes. */
    const bool interleaved = layout == IC_LAYOUT_NHWC && p->in_channels > 1;
    /* Memory-bound and short: a quarter of the usual task work, so that a few dozen tasks
     * balance the threads. */
    const int64_t work = IC_CONV2D_TASK_WORK / 4;
    const int64_t plane_work =
        ic_max_i64(1, ic_mul_saturate(taps, ic_mul_saturate(output.out_h, output.out_w)));
    int64_t channel_block = interleaved ? p->out_channels : ic_max_i64(1, work / plane_work);
    const int64_t per_row = ic_mul_saturate(ic_mul_saturate(taps, output.out_w),
                                            ic_min_i64(channel_block, p->out_channels));
    int64_t rows = ic_max_i64(1, work / ic_max_i64(per_row, 1));
    rows = rows >= 4 ? rows / 4 * 4 : rows; /* whole 4-row blocks of the planar kernels */
    if (!interleaved && plane_work <= work) {
      /* Whole planes, in at least 8 blocks of nearly equal channel counts (blocks of 37
       * channels cut 192 into 5 and a 7). Small planes are transposed whole, 16 at a time:
       * whole vectors of channels then, and never some rows of a plane, for which a task
       * would transpose all of the input (7x7 planes cut 4 + 3 rows read each plane twice). */
      const int64_t blocks = ic_max_i64(8, ic_divide_round_up(p->out_channels, channel_block));
      channel_block = ic_divide_round_up(p->out_channels, blocks);
      if (in_h * in_w <= IC_F32_DWCONV2D_TILE_PIXELS) {
        channel_block = ic_divide_round_up(channel_block, 16) * 16;
      }
      rows = output.out_h;
    }
    ic_tiling_blocks(&job.tiling, batch, p->out_channels, channel_block, output.out_h, rows,
                     true /* depthwise: small weights */);
    if (ic_f32_dwconv2d_far_window(&job.geometry)) job.fn = ic_f32_dwconv2d_ukernel_direct__scalar;
    ic_run_parallelize(&run, job.tiling.task_count, ic_conv2d_raw_task, &job);
  } else {
    /* Direct: the SIMD kernels need the packed image; shapes whose packed image would dwarf
     * the tensors (padding far beyond the input, gaps of huge strides) take the scalar
     * kernel. */
    const size_t floats = (src_needed + dst_needed) / sizeof(float) / (size_t)batch;
    const bool packable = conv->kernel.isa != IC_ISA_SCALAR &&
                          ic_f32_conv2d_packing(&job.geometry, &job.packing) &&
                          (uint64_t)job.packing.src_floats <= 4 * (uint64_t)floats + (1u << 20);
    if (packable) {
      status = ic_conv2d_run_packed(&job, &run, batch);
    } else {
      float* unpacked = NULL;
      if (conv->kernel.isa != IC_ISA_SCALAR) {
        /* The scalar kernel reads PyTorch order: unpack into scratch. */
        const ic_conv2d_geometry_t unit = ic_conv2d_unit_geometry(p);
        ic_f32_conv2d_packing_t pk;
        ic_f32_conv2d_packing(&unit, &pk); /* succeeded at create */
        const size_t count = (size_t)(p->out_channels * group_in * taps);
        unpacked = ic_run_scratch(&run, count * sizeof(float));
        if (unpacked == NULL) {
          status = ic_error(IC_STATUS_OUT_OF_MEMORY,
                            "conv2d: out of memory unpacking %zu weights", count);
        } else {
          ic_conv2d_unpack_weights(&unit, &pk, conv->packed_weights, unpacked);
          job.weights = unpacked;
          job.fn = ic_f32_conv2d_ukernel_direct__scalar;
        }
      }
      if (status == IC_STATUS_SUCCESS) {
        const int64_t per_row = ic_mul_saturate(ic_mul_saturate(taps, group_in), output.out_w);
        const int64_t channel_block = ic_block_for_work(
            IC_CONV2D_TASK_WORK, ic_mul_saturate(per_row, output.out_h), 1);
        ic_tiling_blocks(&job.tiling, batch, p->out_channels, channel_block, output.out_h,
                         ic_block_for_work(IC_CONV2D_TASK_WORK,
                                           ic_mul_saturate(per_row, channel_block),
                                           job.row_quantum),
                         false);
        ic_run_parallelize(&run, job.tiling.task_count, ic_conv2d_raw_task, &job);
      }
    }
  }
  ic_run_end(&run);
  return status;
}

/* ---------------------------------------------------------------------------------------------
 * Conv2d then Pool2d in one pass (ic_conv2d_pool2d_run)
 * ------------------------------------------------------------------------------------------- */

static const char ic_pooled_op[] = "conv2d_pool2d";

/* What a pooled run of conv on an in_h x in_w image needs: the conv's output, the pool on it and
 * the conv's packing (rows 0 for the scalar kernel); IC_STATUS_UNSUPPORTED, saying why, for
 * convs that do not take the direct path there. */
static ic_status_t ic_conv2d_pool2d_plan(const ic_conv2d_t* conv, const ic_pool2d_t* pool,
                                         int64_t in_h, int64_t in_w, ic_window_output_t* output,
                                         ic_pool2d_geometry_t* pool_geometry,
                                         ic_f32_pool2d_ukernel_fn* pool_fn,
                                         ic_f32_conv2d_packing_t* packing) {
  ic_status_t status = ic_check_not_null(ic_pooled_op, "conv", conv);
  if (status == IC_STATUS_SUCCESS) status = ic_check_not_null(ic_pooled_op, "pool", pool);
  if (status == IC_STATUS_SUCCESS) {
    status = ic_window_output(ic_op, &conv->window, in_h, in_w, output);
  }
  if (status == IC_STATUS_SUCCESS) {
    status = ic_pool2d_prepare(pool, output->out_h, output->out_w, pool_geometry, pool_fn);
  }
  if (status != IC_STATUS_SUCCESS) return status;
  const ic_conv2d_params_t* p = &conv->params;
  if (pool_geometry->channels != p->out_channels) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "conv2d_pool2d: the pool has %" PRId64 " channels but the conv gives %" PRId64,
                    pool_geometry->channels, p->out_channels);
  }
  const char* path = NULL;
  if (conv->path != IC_CONV2D_DIRECT) {
    path = conv->path == IC_CONV2D_POINTWISE ? "pointwise" : "depthwise";
  } else if (ic_conv2d_takes_winograd(conv, output->out_h, output->out_w)) {
    path = "Winograd";
  }
  *packing = (ic_f32_conv2d_packing_t){0};
  if (path == NULL && conv->kernel.isa != IC_ISA_SCALAR) {
    /* As ic_conv2d_run decides: the packed image must not dwarf the tensors. */
    const ic_conv2d_geometry_t g = ic_conv2d_run_geometry(p, in_h, in_w, output);
    /* Unchecked sizes here (check runs before any buffer is seen): saturated, then a bound
     * that cannot wrap. */
    const uint64_t floats =
        (uint64_t)ic_mul_saturate(ic_mul_saturate(p->in_channels, in_h), in_w) +
        (uint64_t)ic_mul_saturate(ic_mul_saturate(p->out_channels, output->out_h), output->out_w);
    const uint64_t bound = floats > (UINT64_MAX >> 3) ? UINT64_MAX : 4 * floats + (1u << 20);
    if (!ic_f32_conv2d_packing(&g, packing) || (uint64_t)packing->src_floats > bound) {
      path = "scalar direct (its packed image would dwarf the tensors)";
    }
  }
  if (path != NULL) {
    return ic_error(IC_STATUS_UNSUPPORTED,
                    "conv2d_pool2d: this conv takes the %s path on a %" PRId64 "x%" PRId64
                    " image, which does not pool as it computes; run ic_conv2d_run and "
                    "ic_pool2d_run instead",
                    path, in_h, in_w);
  }
  return IC_STATUS_SUCCESS;
}

ic_status_t ic_conv2d_pool2d_check(const ic_conv2d_t* conv, const ic_pool2d_t* pool,
                                   int64_t in_h, int64_t in_w) {
  ic_window_output_t output;
  ic_pool2d_geometry_t pool_geometry;
  ic_f32_pool2d_ukernel_fn pool_fn;
  ic_f32_conv2d_packing_t packing;
  return ic_conv2d_pool2d_plan(conv, pool, in_h, in_w, &output, &pool_geometry, &pool_fn,
                               &packing);
}

ic_status_t ic_conv2d_pool2d_run(const ic_conv2d_t* conv, const ic_pool2d_t* pool,
                                 ic_context_t* context, int32_t layout, int64_t batch,
                                 int64_t in_h, int64_t in_w, const void* src, size_t src_bytes,
                                 void* dst, size_t dst_bytes) {
  ic_status_t status = ic_check_layout(ic_pooled_op, layout);
  if (status == IC_STATUS_SUCCESS) status = ic_check_positive(ic_pooled_op, "batch", batch);
  if (status != IC_STATUS_SUCCESS) return status;
  ic_window_output_t output;
  ic_pool2d_geometry_t pool_geometry;
  ic_f32_pool2d_ukernel_fn pool_fn;
  ic_f32_conv2d_packing_t packing;
  status = ic_conv2d_pool2d_plan(conv, pool, in_h, in_w, &output, &pool_geometry, &pool_fn,
                                 &packing);
  if (status != IC_STATUS_SUCCESS) return status;
  const ic_conv2d_params_t* p = &conv->params;
  const int64_t src_dims[4] = {batch, p->in_channels, in_h, in_w};
  const int64_t dst_dims[4] = {batch, p->out_channels, pool_geometry.out_h, pool_geometry.out_w};
  status = ic_check_src_dst(ic_pooled_op, src_dims, src, src_bytes, dst_dims, dst, dst_bytes);
  if (status != IC_STATUS_SUCCESS) return status;

  ic_conv2d_job_t job;
  ic_conv2d_job_init(&job, conv, layout, in_h, in_w, &output, src, NULL, dst);
  job.dst_strides =
      ic_layout_strides(layout, p->out_channels, pool_geometry.out_h, pool_geometry.out_w);
  job.packing = packing;
  job.pooled = true;
  job.pool = pool_geometry;
  job.pool_fn = pool_fn;
  ic_run_t run;
  ic_run_begin(&run, context);
  status = ic_conv2d_run_packed(&job, &run, batch);
  ic_run_end(&run);
  return status;
}

const char* ic_conv2d_kernel_name(const ic_conv2d_t* conv) {
  if (conv == NULL) return "";
  return conv->winograd_fn != NULL ? conv->kernel_names : conv->kernel.name;
}

void ic_conv2d_destroy(ic_conv2d_t* conv) {
  if (conv == NULL) return;
  ic_weights_free(conv->weights);
  ic_weights_free(conv->packed_weights);
  ic_weights_free(conv->winograd_weights);
  ic_weights_free(conv->bias);
  free(conv);
}
