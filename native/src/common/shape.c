/*
 * Validation of parameters, shapes and buffers; sliding-window output sizes; layouts; the
 * split of an output into tasks. Shared by all operators so that every message has one form:
 *   "<op>: <parameter>=<value> <what is wrong>".
 */
#include <inttypes.h>
#include <stdio.h>

#include "internal.h"

ic_status_t ic_check_not_null(const char* op, const char* name, const void* pointer) {
  if (pointer == NULL) return ic_error(IC_STATUS_INVALID_ARGUMENT, "%s: %s is NULL", op, name);
  return IC_STATUS_SUCCESS;
}

ic_status_t ic_check_positive(const char* op, const char* name, int64_t value) {
  if (value < 1) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT, "%s: %s=%" PRId64 " must be positive", op, name,
                    value);
  }
  return IC_STATUS_SUCCESS;
}

ic_status_t ic_check_datatype(const char* op, int32_t datatype) {
  if (datatype != IC_DATATYPE_F32) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "%s: datatype=%d is not a valid ic_datatype_t (only IC_DATATYPE_F32=0)", op,
                    (int)datatype);
  }
  return IC_STATUS_SUCCESS;
}

ic_status_t ic_check_reserved(const char* op, int32_t reserved) {
  if (reserved != 0) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT, "%s: reserved=%d must be 0", op, (int)reserved);
  }
  return IC_STATUS_SUCCESS;
}

ic_status_t ic_check_activation(const char* op, const char* name, int32_t activation) {
  if (activation != IC_ACTIVATION_NONE && activation != IC_ACTIVATION_RELU &&
      activation != IC_ACTIVATION_RELU6) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "%s: %s=%d is not a valid ic_activation_t (0 none, 1 relu, 2 relu6)", op,
                    name, (int)activation);
  }
  return IC_STATUS_SUCCESS;
}

ic_status_t ic_check_layout(const char* op, int32_t layout) {
  if (layout != IC_LAYOUT_NCHW && layout != IC_LAYOUT_NHWC) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "%s: layout=%d is not a valid ic_layout_t (0 NCHW, 1 NHWC)", op, (int)layout);
  }
  return IC_STATUS_SUCCESS;
}

/* "[1,4,5,5]" */
static void ic_format_dims(char* text, size_t size, const int64_t* dims, int rank) {
  size_t used = 0;
  text[0] = '\0';
  for (int i = 0; i < rank && used < size; i++) {
    const int written = snprintf(text + used, size - used, "%s%" PRId64, i == 0 ? "[" : ",",
                                 dims[i]);
    if (written < 0) return;
    used += (size_t)written;
  }
  if (used < size) snprintf(text + used, size - used, "]");
}

ic_status_t ic_tensor_bytes(const char* op, const char* name, const int64_t* dims, int rank,
                            size_t* bytes_out) {
  int64_t bytes = (int64_t)sizeof(float);
  bool overflow = false;
  for (int i = 0; i < rank; i++) overflow = overflow || ic_mul_overflow(bytes, dims[i], &bytes);
  if (overflow || (uint64_t)bytes > SIZE_MAX) {
    char shape[128];
    ic_format_dims(shape, sizeof shape, dims, rank);
    return ic_error(IC_STATUS_INVALID_ARGUMENT, "%s: the size of %s %s overflows", op, name,
                    shape);
  }
  *bytes_out = (size_t)bytes;
  return IC_STATUS_SUCCESS;
}

static ic_status_t ic_check_buffer(const char* op, const char* name, const void* buffer,
                                   size_t buffer_bytes, const int64_t* dims, int rank, bool exact,
                                   size_t* needed_out) {
  size_t needed = 0;
  ic_status_t status = ic_tensor_bytes(op, name, dims, rank, &needed);
  if (status != IC_STATUS_SUCCESS) return status;
  if (buffer == NULL) return ic_error(IC_STATUS_INVALID_ARGUMENT, "%s: %s is NULL", op, name);
  if (exact ? buffer_bytes != needed : buffer_bytes < needed) {
    char shape[128];
    ic_format_dims(shape, sizeof shape, dims, rank);
    return ic_error(IC_STATUS_INVALID_ARGUMENT, "%s: %s_bytes=%zu %s the %zu bytes of %s", op,
                    name, buffer_bytes, exact ? "does not match" : "is smaller than", needed,
                    shape);
  }
  /* Weights are copied with memcpy; tensors are read and written in place as floats. */
  if (!exact && (uintptr_t)buffer % sizeof(float) != 0) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "%s: %s=0x%" PRIxPTR " is not aligned to %zu bytes (float)", op, name,
                    (uintptr_t)buffer, sizeof(float));
  }
  if (needed_out != NULL) *needed_out = needed;
  return IC_STATUS_SUCCESS;
}

ic_status_t ic_check_buffer_exact(const char* op, const char* name, const void* buffer,
                                  size_t buffer_bytes, const int64_t* dims, int rank) {
  return ic_check_buffer(op, name, buffer, buffer_bytes, dims, rank, true, NULL);
}

ic_status_t ic_check_buffer_min(const char* op, const char* name, const void* buffer,
                                size_t buffer_bytes, const int64_t* dims, int rank,
                                size_t* needed_out) {
  return ic_check_buffer(op, name, buffer, buffer_bytes, dims, rank, false, needed_out);
}

ic_status_t ic_check_optional_exact(const char* op, const char* name, const void* buffer,
                                    size_t buffer_bytes, const int64_t* dims, int rank) {
  if (buffer == NULL) {
    if (buffer_bytes != 0) {
      return ic_error(IC_STATUS_INVALID_ARGUMENT, "%s: %s is NULL but %s_bytes=%zu (must be 0)",
                      op, name, name, buffer_bytes);
    }
    return IC_STATUS_SUCCESS;
  }
  return ic_check_buffer(op, name, buffer, buffer_bytes, dims, rank, true, NULL);
}

ic_status_t ic_check_src_dst(const char* op, const int64_t* src_dims, const void* src,
                             size_t src_bytes, const int64_t* dst_dims, void* dst,
                             size_t dst_bytes) {
  size_t src_needed, dst_needed;
  ic_status_t status = ic_check_buffer_min(op, "src", src, src_bytes, src_dims, 4, &src_needed);
  if (status == IC_STATUS_SUCCESS) {
    status = ic_check_buffer_min(op, "dst", dst, dst_bytes, dst_dims, 4, &dst_needed);
  }
  if (status != IC_STATUS_SUCCESS) return status;
  if (ic_ranges_overlap(dst, dst_needed, src, src_needed)) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT, "%s: dst overlaps src", op);
  }
  return IC_STATUS_SUCCESS;
}

bool ic_ranges_overlap(const void* a, size_t a_bytes, const void* b, size_t b_bytes) {
  /* Compared as integers: relational operators on pointers into different objects are
   * undefined in C. */
  const uintptr_t a0 = (uintptr_t)a, b0 = (uintptr_t)b;
  return a_bytes > 0 && b_bytes > 0 && a0 < b0 + b_bytes && b0 < a0 + a_bytes;
}

ic_status_t ic_check_size_outputs(const char* op, int64_t* out_h_out, int64_t* out_w_out) {
  if (out_h_out != NULL) *out_h_out = 0;
  if (out_w_out != NULL) *out_w_out = 0;
  ic_status_t status = ic_check_not_null(op, "out_h_out", out_h_out);
  if (status == IC_STATUS_SUCCESS) status = ic_check_not_null(op, "out_w_out", out_w_out);
  return status;
}

/* ---------------------------------------------------------------------------------------------
 * Sliding windows
 * ------------------------------------------------------------------------------------------- */

/* The names and values of one axis of a window, for messages. */
typedef struct ic_axis {
  const char *in_name, *kernel_name, *stride_name, *dilation_name, *before_name, *after_name;
  const char* extent; /* "height" or "width" */
  int64_t kernel, stride, dilation, before, after;
} ic_axis_t;

static ic_axis_t ic_window_axis(const ic_window_t* w, bool vertical) {
  if (vertical) {
    return (ic_axis_t){"in_h", "kernel_h", "stride_h", "dilation_h", "pad_top", "pad_bottom",
                       "height", w->kernel_h, w->stride_h, w->dilation_h, w->pad_top,
                       w->pad_bottom};
  }
  return (ic_axis_t){"in_w", "kernel_w", "stride_w", "dilation_w", "pad_left", "pad_right",
                     "width", w->kernel_w, w->stride_w, w->dilation_w, w->pad_left,
                     w->pad_right};
}

static ic_status_t ic_validate_axis(const char* op, const ic_axis_t* a, int32_t padding) {
  ic_status_t status = ic_check_positive(op, a->kernel_name, a->kernel);
  if (status == IC_STATUS_SUCCESS) status = ic_check_positive(op, a->stride_name, a->stride);
  if (status == IC_STATUS_SUCCESS) status = ic_check_positive(op, a->dilation_name, a->dilation);
  if (status != IC_STATUS_SUCCESS) return status;
  const int64_t pads[2] = {a->before, a->after};
  const char* names[2] = {a->before_name, a->after_name};
  for (int i = 0; i < 2; i++) {
    if (pads[i] < 0) {
      return ic_error(IC_STATUS_INVALID_ARGUMENT, "%s: %s=%" PRId64 " must not be negative", op,
                      names[i], pads[i]);
    }
    if (pads[i] != 0 && padding != IC_PADDING_EXPLICIT) {
      return ic_error(IC_STATUS_INVALID_ARGUMENT,
                      "%s: %s=%" PRId64 " must be 0 unless padding is IC_PADDING_EXPLICIT", op,
                      names[i], pads[i]);
    }
  }
  /* The dilated extent (k - 1) * d + 1 must be representable; sums with it are checked later. */
  int64_t extent;
  if (ic_mul_overflow(a->kernel - 1, a->dilation, &extent) ||
      ic_add_overflow(extent, 1, &extent)) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "%s: %s=%" PRId64 " with %s=%" PRId64 " overflows the dilated kernel size", op,
                    a->kernel_name, a->kernel, a->dilation_name, a->dilation);
  }
  return IC_STATUS_SUCCESS;
}

ic_status_t ic_window_validate(const char* op, const ic_window_t* window) {
  if (window->padding < IC_PADDING_VALID || window->padding > IC_PADDING_EXPLICIT) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "%s: padding=%d is not a valid ic_padding_t (0 valid, 1 same, 2 full, "
                    "3 explicit)",
                    op, (int)window->padding);
  }
  for (int vertical = 1; vertical >= 0; vertical--) {
    const ic_axis_t axis = ic_window_axis(window, vertical != 0);
    const ic_status_t status = ic_validate_axis(op, &axis, window->padding);
    if (status != IC_STATUS_SUCCESS) return status;
  }
  return IC_STATUS_SUCCESS;
}

static ic_status_t ic_axis_output(const char* op, const ic_axis_t* a, int32_t padding, int64_t in,
                                  int64_t* out, int64_t* before_out) {
  const int64_t extent = (a->kernel - 1) * a->dilation + 1; /* checked by validate */
  int64_t before = a->before, after = a->after;
  switch (padding) {
    case IC_PADDING_VALID: before = after = 0; break;
    case IC_PADDING_FULL: before = after = extent - 1; break;
    case IC_PADDING_SAME: {
      /* out = ceil(in / s); the padding that makes it so, the odd one after (TensorFlow). */
      const int64_t same_out = (in - 1) / a->stride + 1;
      /* Ordered so that no intermediate can overflow: (same_out - 1) * s <= in - 1. */
      const int64_t total = ic_max_i64(extent - in + (same_out - 1) * a->stride, 0);
      before = total / 2;
      after = total - before;
      break;
    }
    default: break; /* EXPLICIT: as given */
  }
  int64_t span;
  if (ic_add_overflow(in, before, &span) || ic_add_overflow(span, after, &span)) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "%s: %s=%" PRId64 " plus padding %" PRId64 "+%" PRId64 " overflows", op,
                    a->in_name, in, before, after);
  }
  if (span < extent) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "%s: the output %s would be 0: %s=%" PRId64 " plus padding %" PRId64
                    "+%" PRId64 " is less than the dilated kernel %s %" PRId64 " (%s=%" PRId64
                    ", %s=%" PRId64 ")",
                    op, a->extent, a->in_name, in, before, after, a->extent, extent,
                    a->kernel_name, a->kernel, a->dilation_name, a->dilation);
  }
  *out = (span - extent) / a->stride + 1;
  *before_out = before;
  return IC_STATUS_SUCCESS;
}

ic_status_t ic_window_output(const char* op, const ic_window_t* window, int64_t in_h,
                             int64_t in_w, ic_window_output_t* output) {
  ic_status_t status = ic_check_positive(op, "in_h", in_h);
  if (status == IC_STATUS_SUCCESS) status = ic_check_positive(op, "in_w", in_w);
  if (status != IC_STATUS_SUCCESS) return status;
  const ic_axis_t vertical = ic_window_axis(window, true);
  const ic_axis_t horizontal = ic_window_axis(window, false);
  status = ic_axis_output(op, &vertical, window->padding, in_h, &output->out_h, &output->pad_top);
  if (status == IC_STATUS_SUCCESS) {
    status = ic_axis_output(op, &horizontal, window->padding, in_w, &output->out_w,
                            &output->pad_left);
  }
  if (status != IC_STATUS_SUCCESS) return status;
  output->stride_h = output->out_h > 1 ? window->stride_h : 1;
  output->stride_w = output->out_w > 1 ? window->stride_w : 1;
  return IC_STATUS_SUCCESS;
}

/* ---------------------------------------------------------------------------------------------
 * Layouts and tiling
 * ------------------------------------------------------------------------------------------- */

ic_strides_t ic_layout_strides(int32_t layout, int64_t channels, int64_t height, int64_t width) {
  if (layout == IC_LAYOUT_NHWC) {
    return (ic_strides_t){height * width * channels, 1, width * channels, channels};
  }
  return (ic_strides_t){channels * height * width, height * width, width, 1};
}

/* Multiply-adds a task should hold: large enough that handing it out costs nothing, small
 * enough that a few hundred of them balance a layer across cores. */
enum { IC_TASK_WORK = 1 << 16 };

int64_t ic_block_for_work(int64_t work, int64_t per_unit, int64_t quantum) {
  const int64_t units = ic_max_i64(1, work / ic_max_i64(per_unit, 1));
  return ic_divide_round_up(units, quantum) * quantum;
}

void ic_tiling_plan(ic_tiling_t* tiling, int64_t batch, int64_t channels, int64_t rows,
                    int64_t work_per_row_channel, bool split_channels, int64_t row_quantum) {
  const int64_t work = ic_max_i64(work_per_row_channel, 1);
  const int64_t row_work = ic_mul_saturate(work, channels);
  int64_t row_block, channel_block = channels;
  if (row_work <= IC_TASK_WORK || !split_channels) {
    row_block = ic_block_for_work(IC_TASK_WORK, row_work, row_quantum);
  } else {
    row_block = row_quantum;
    channel_block = ic_block_for_work(IC_TASK_WORK, work, 1);
  }
  tiling->channels = channels;
  tiling->rows = rows;
  tiling->channel_block = ic_min_i64(channel_block, channels);
  tiling->row_block = ic_min_i64(row_block, rows);
  tiling->channel_blocks = ic_divide_round_up(channels, tiling->channel_block);
  tiling->row_blocks = ic_divide_round_up(rows, tiling->row_block);
  /* Fits: batch * channels * rows is bounded by the output tensor's (checked) size. */
  tiling->task_count = (size_t)(batch * tiling->channel_blocks * tiling->row_blocks);
  tiling->rows_outer = false;
}

void ic_tiling_blocks(ic_tiling_t* tiling, int64_t batch, int64_t channels,
                      int64_t channel_block, int64_t rows, int64_t row_block, bool rows_outer) {
  tiling->channels = channels;
  tiling->rows = rows;
  tiling->channel_block = ic_max_i64(1, ic_min_i64(channel_block, channels));
  tiling->row_block = ic_max_i64(1, ic_min_i64(row_block, rows));
  tiling->channel_blocks = ic_divide_round_up(channels, tiling->channel_block);
  tiling->row_blocks = ic_divide_round_up(rows, tiling->row_block);
  /* Fits: bounded by the output tensor's (checked) size. */
  tiling->task_count = (size_t)(batch * tiling->channel_blocks * tiling->row_blocks);
  tiling->rows_outer = rows_outer;
}

void ic_tiling_rows(ic_tiling_t* tiling, int64_t batch, int64_t rows, int64_t row_block) {
  ic_tiling_blocks(tiling, batch, 1, 1, rows, row_block, true);
}

ic_tile_t ic_tiling_tile(const ic_tiling_t* tiling, size_t task) {
  const int64_t t = (int64_t)task;
  int64_t row_index, channel_index;
  if (tiling->rows_outer) {
    channel_index = t % tiling->channel_blocks;
    row_index = (t / tiling->channel_blocks) % tiling->row_blocks;
  } else {
    row_index = t % tiling->row_blocks;
    channel_index = (t / tiling->row_blocks) % tiling->channel_blocks;
  }
  ic_tile_t tile;
  tile.n = t / (tiling->row_blocks * tiling->channel_blocks);
  tile.c0 = channel_index * tiling->channel_block;
  tile.c1 = ic_min_i64(tile.c0 + tiling->channel_block, tiling->channels);
  tile.r0 = row_index * tiling->row_block;
  tile.r1 = ic_min_i64(tile.r0 + tiling->row_block, tiling->rows);
  return tile;
}
