/*
 * Layout conversion between NCHW and NHWC.
 *
 * Each image is a matrix transpose: NCHW -> NHWC turns [channels][pixels] into
 * [pixels][channels], NHWC -> NCHW the reverse. Tasks are rectangles of the source matrix of
 * about IC_LAYOUT_TASK_FLOATS elements, each transposed by the ISA's f32-transpose kernel
 * (blocks of 16 x 16 in registers on AVX-512, 8 x 8 on AVX2). Every element is copied once, by
 * one task: the result does not depend on the number of threads. Operators that compute an
 * NCHW image in NHWC (Winograd) convert inside their run with ic_layout_transpose, which can
 * add a residual and apply the activation on the way back.
 */
#include <string.h>

#include "internal.h"
#include "ukernels.h"

static const char ic_op[] = "convert_layout";

/* Bands are multiples of IC_LAYOUT_TILE: whole blocks of every kernel's. */
enum { IC_LAYOUT_TILE = 32, IC_LAYOUT_TASK_FLOATS = 1 << 15, IC_LAYOUT_BAND_MAX = 256 };

typedef struct ic_layout_job {
  ic_f32_transpose_ukernel_fn fn;
  const float* src;
  float* dst;
  const float* residual;         /* NULL, or added, addressed like dst */
  int32_t activation;            /* applied last */
  int64_t rows, cols;            /* of one image's source matrix */
  int64_t row_band, col_band;    /* a task's rectangle */
  int64_t row_bands, col_bands;  /* per image */
} ic_layout_job_t;

static void ic_layout_task(void* arg, size_t task, uint32_t thread_index) {
  (void)thread_index;
  const ic_layout_job_t* job = arg;
  const int64_t per_image = job->row_bands * job->col_bands;
  const int64_t image = (int64_t)task / per_image, band = (int64_t)task % per_image;
  const int64_t r0 = band / job->col_bands * job->row_band;
  const int64_t c0 = band % job->col_bands * job->col_band;
  const int64_t offset = image * job->rows * job->cols;
  const ic_f32_transpose_args_t args = {
      .src = job->src + offset,
      .dst = job->dst + offset,
      .residual = job->residual != NULL ? job->residual + offset : NULL,
      .activation = job->activation,
      .src_stride = job->cols,
      .dst_stride = job->rows,
      .r0 = r0,
      .r1 = ic_min_i64(r0 + job->row_band, job->rows),
      .c0 = c0,
      .c1 = ic_min_i64(c0 + job->col_band, job->cols),
  };
  job->fn(&args);
}

/* A band: the whole extent when it is short, else a multiple of the tile near `target`. */
static int64_t ic_layout_band(int64_t extent, int64_t target) {
  if (extent <= IC_LAYOUT_BAND_MAX) return extent;
  const int64_t band = ic_divide_round_up(ic_max_i64(target, IC_LAYOUT_TILE), IC_LAYOUT_TILE);
  return ic_min_i64(band * IC_LAYOUT_TILE, extent);
}

ic_status_t ic_convert_layout(ic_context_t* context, int32_t src_layout, int32_t dst_layout,
                              int64_t batch, int64_t channels, int64_t h, int64_t w,
                              const void* src, size_t src_bytes, void* dst, size_t dst_bytes) {
  ic_status_t status = ic_check_layout(ic_op, src_layout);
  if (status == IC_STATUS_SUCCESS) status = ic_check_layout(ic_op, dst_layout);
  if (status == IC_STATUS_SUCCESS) status = ic_check_positive(ic_op, "batch", batch);
  if (status == IC_STATUS_SUCCESS) status = ic_check_positive(ic_op, "channels", channels);
  if (status == IC_STATUS_SUCCESS) status = ic_check_positive(ic_op, "h", h);
  if (status == IC_STATUS_SUCCESS) status = ic_check_positive(ic_op, "w", w);
  if (status != IC_STATUS_SUCCESS) return status;
  const int64_t dims[4] = {batch, channels, h, w};
  /* Checks that the tensor's floats fit size_t: every product below does too. */
  status = ic_check_src_dst(ic_op, dims, src, src_bytes, dims, dst, dst_bytes);
  if (status != IC_STATUS_SUCCESS) return status;

  if (src_layout == dst_layout || channels == 1 || h * w == 1) { /* the same memory order */
    memcpy(dst, src, (size_t)(batch * channels * h * w) * sizeof(float));
    return IC_STATUS_SUCCESS;
  }
  ic_run_t run;
  ic_run_begin(&run, context);
  ic_layout_transpose(&run, src_layout, batch, channels, h, w, src, dst, NULL,
                      IC_ACTIVATION_NONE);
  ic_run_end(&run);
  return IC_STATUS_SUCCESS;
}

void ic_layout_transpose(ic_run_t* run, int32_t src_layout, int64_t batch, int64_t channels,
                         int64_t h, int64_t w, const float* src, float* dst,
                         const float* residual, int32_t activation) {
  const int64_t pixels = h * w;
  ic_ukernel_info_t info;
  ic_layout_job_t job = {.fn = ic_select_f32_transpose_ukernel(ic_active_isa(), &info),
                         .src = src, .dst = dst, .residual = residual, .activation = activation};
  job.rows = src_layout == IC_LAYOUT_NCHW ? channels : pixels;
  job.cols = src_layout == IC_LAYOUT_NCHW ? pixels : channels;
  if (job.rows <= IC_LAYOUT_BAND_MAX) {
    job.row_band = job.rows;
    job.col_band = ic_layout_band(job.cols, IC_LAYOUT_TASK_FLOATS / job.rows);
  } else if (job.cols <= IC_LAYOUT_BAND_MAX) {
    job.col_band = job.cols;
    job.row_band = ic_layout_band(job.rows, IC_LAYOUT_TASK_FLOATS / job.cols);
  } else {
    job.row_band = ic_layout_band(job.rows, IC_LAYOUT_BAND_MAX / 2);
    job.col_band = ic_layout_band(job.cols, IC_LAYOUT_BAND_MAX);
  }
  job.row_bands = ic_divide_round_up(job.rows, job.row_band);
  job.col_bands = ic_divide_round_up(job.cols, job.col_band);
  ic_run_parallelize(run, (size_t)(batch * job.row_bands * job.col_bands), ic_layout_task, &job);
}
