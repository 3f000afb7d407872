/*
 * internal.h — what the parts of the invconv implementation share: error recording, checked
 * arithmetic, shape and buffer validation, memory, ISA state and the parallel-for.
 *
 * Not installed; the public contract is include/invconv.h. Microkernel interfaces are in
 * ukernels.h.
 */
#ifndef IC_INTERNAL_H
#define IC_INTERNAL_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "invconv.h"

#if defined(__GNUC__)
#define IC_PRINTF(format_index, first_arg) __attribute__((format(printf, format_index, first_arg)))
#else
#define IC_PRINTF(format_index, first_arg)
#endif

/* ---------------------------------------------------------------------------------------------
 * Errors (common/error.c)
 * ------------------------------------------------------------------------------------------- */

/**
 * Records a one-line message for ic_last_error() on this thread and returns status, so that a
 * failed check reads `return ic_error(IC_STATUS_INVALID_ARGUMENT, "conv2d: ...", ...);`.
 * Messages start with the operator ("conv2d: ") and name the parameter and its value.
 */
ic_status_t ic_error(ic_status_t status, const char* format, ...) IC_PRINTF(2, 3);

/* ---------------------------------------------------------------------------------------------
 * Checked arithmetic. Every size computed from caller-supplied values goes through these;
 * they return true on overflow.
 * ------------------------------------------------------------------------------------------- */

static inline bool ic_mul_overflow(int64_t a, int64_t b, int64_t* result) {
  return __builtin_mul_overflow(a, b, result);
}

static inline bool ic_add_overflow(int64_t a, int64_t b, int64_t* result) {
  return __builtin_add_overflow(a, b, result);
}

/* a * b, clamped to INT64_MAX; for work estimates, where saturation is harmless. */
static inline int64_t ic_mul_saturate(int64_t a, int64_t b) {
  int64_t result;
  return __builtin_mul_overflow(a, b, &result) ? INT64_MAX : result;
}

static inline int64_t ic_min_i64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t ic_max_i64(int64_t a, int64_t b) { return a > b ? a : b; }
/* ceil(a / b) for b > 0 and any a, without forming a + b - 1 (which can overflow). */
static inline int64_t ic_divide_round_up(int64_t a, int64_t b) { return a / b + (a % b > 0); }

/* ---------------------------------------------------------------------------------------------
 * Validation helpers (common/shape.c). Each returns IC_STATUS_SUCCESS or records the error.
 * `op` is the operator's name as it starts messages, e.g. "conv2d".
 * ------------------------------------------------------------------------------------------- */

#define IC_MAX_RANK 4

ic_status_t ic_check_not_null(const char* op, const char* name, const void* pointer);
ic_status_t ic_check_positive(const char* op, const char* name, int64_t value);
ic_status_t ic_check_datatype(const char* op, int32_t datatype);
ic_status_t ic_check_reserved(const char* op, int32_t reserved);
ic_status_t ic_check_activation(const char* op, const char* name, int32_t activation);
ic_status_t ic_check_layout(const char* op, int32_t layout);

/* Bytes of a dense f32 tensor of `rank` dims; reports "the size of <name> [..] overflows". */
ic_status_t ic_tensor_bytes(const char* op, const char* name, const int64_t* dims, int rank,
                            size_t* bytes_out);

/* A weight-like buffer: not NULL and exactly the size of the tensor. */
ic_status_t ic_check_buffer_exact(const char* op, const char* name, const void* buffer,
                                  size_t buffer_bytes, const int64_t* dims, int rank);

/* An activation buffer: not NULL, aligned for float and at least the size of the tensor;
 * needed_out (optional) receives the tensor's size, for overlap checks. */
ic_status_t ic_check_buffer_min(const char* op, const char* name, const void* buffer,
                                size_t buffer_bytes, const int64_t* dims, int rank,
                                size_t* needed_out);

/* Optional buffer (bias): NULL requires bytes == 0, otherwise exact. */
ic_status_t ic_check_optional_exact(const char* op, const char* name, const void* buffer,
                                    size_t buffer_bytes, const int64_t* dims, int rank);

/* The activation buffers of an operator without weights or residual: src and dst of 4-D
 * tensors, each checked by ic_check_buffer_min, and not overlapping. */
ic_status_t ic_check_src_dst(const char* op, const int64_t* src_dims, const void* src,
                             size_t src_bytes, const int64_t* dst_dims, void* dst,
                             size_t dst_bytes);

/* True if the byte ranges [a, a + a_bytes) and [b, b + b_bytes) share a byte. */
bool ic_ranges_overlap(const void* a, size_t a_bytes, const void* b, size_t b_bytes);

/* Output parameters of output_size functions: both non-NULL, zeroed before validation. */
ic_status_t ic_check_size_outputs(const char* op, int64_t* out_h_out, int64_t* out_w_out);

/* ---------------------------------------------------------------------------------------------
 * Sliding windows (common/shape.c): kernel, stride, dilation and padding of conv-like
 * operators, and the output size they give.
 * ------------------------------------------------------------------------------------------- */

typedef struct ic_window {
  int32_t padding; /* ic_padding_t */
  int64_t kernel_h, kernel_w;
  int64_t stride_h, stride_w;
  int64_t dilation_h, dilation_w;
  int64_t pad_top, pad_left, pad_bottom, pad_right; /* as given; EXPLICIT only */
} ic_window_t;

typedef struct ic_window_output {
  int64_t out_h, out_w;
  int64_t pad_top, pad_left; /* resolved for this input size (SAME depends on it) */
  /* The strides a run takes: the window's, but 1 along an axis of one output, where a stride
   * only ever multiplies index 0; a huge one (valid when the single window fits) then never
   * enters the kernels' offset arithmetic. */
  int64_t stride_h, stride_w;
} ic_window_output_t;

/* Positive kernel/stride/dilation, a valid padding mode, pads >= 0 and only for EXPLICIT,
 * and no overflow of the dilated kernel extent. */
ic_status_t ic_window_validate(const char* op, const ic_window_t* window);

/* Output size (and resolved padding) of a validated window over in_h x in_w. */
ic_status_t ic_window_output(const char* op, const ic_window_t* window, int64_t in_h,
                             int64_t in_w, ic_window_output_t* output);

/* ---------------------------------------------------------------------------------------------
 * Involution hyper-parameters (operators/involution-aggregate.c), shared by the aggregation
 * and the Involution2d module.
 * ------------------------------------------------------------------------------------------- */

typedef struct ic_involution_shape {
  int64_t channels, kernel_size, stride, dilation, group_channels;
  int64_t groups;         /* channels / group_channels */
  int64_t kernel_count;   /* groups * kernel_size^2: channels of the kernels tensor */
  int64_t padding;        /* (kernel_size - 1) / 2 * dilation */
} ic_involution_shape_t;

/* Validates the hyper-parameters and fills groups, kernel_count and padding. */
ic_status_t ic_involution_shape_init(const char* op, ic_involution_shape_t* shape);

/* out = floor((in + 2p - ((K - 1) * d + 1)) / s) + 1 per axis. */
ic_status_t ic_involution_output(const char* op, const ic_involution_shape_t* shape, int64_t in_h,
                                 int64_t in_w, int64_t* out_h, int64_t* out_w);

/* ---------------------------------------------------------------------------------------------
 * Layouts
 * ------------------------------------------------------------------------------------------- */

/* Element strides of a dense 4-D tensor. */
typedef struct ic_strides {
  int64_t n, c, h, w;
} ic_strides_t;

ic_strides_t ic_layout_strides(int32_t layout, int64_t channels, int64_t height, int64_t width);

/* ---------------------------------------------------------------------------------------------
 * Work splitting (common/shape.c)
 *
 * An operator's output is cut into tasks of (image, channel block, row block). Each output
 * element is computed by exactly one task, with the same code and the same summation order
 * whichever thread runs it, so results never depend on the thread count. The cut itself only
 * depends on the problem, never on the number of threads.
 * ------------------------------------------------------------------------------------------- */

typedef struct ic_tiling {
  int64_t channels, rows;
  int64_t channel_block, row_block;
  int64_t channel_blocks, row_blocks;
  size_t task_count;
  /* Task order within an image: false, channel blocks outermost (a thread's contiguous range
   * of tasks is a range of channels: it reads only their weights); true, row blocks outermost
   * (it is a band of rows: it reads only their input). See ic_run_tasks. */
  bool rows_outer;
} ic_tiling_t;

typedef struct ic_tile {
  int64_t n, c0, c1, r0, r1;
} ic_tile_t;

/**
 * @param work_per_row_channel  multiply-adds per output row of one channel (an estimate)
 * @param split_channels        false when a task must compute all channels of its rows
 * @param row_quantum           row blocks are a multiple of this (e.g. a kernel's pixel tile)
 */
void ic_tiling_plan(ic_tiling_t* tiling, int64_t batch, int64_t channels, int64_t rows,
                    int64_t work_per_row_channel, bool split_channels, int64_t row_quantum);

/* Units (rows, pixels) per task for `per_unit` multiply-adds a unit: about `work` in all, a
 * multiple of `quantum` (at least one). */
int64_t ic_block_for_work(int64_t work, int64_t per_unit, int64_t quantum);

/* Tasks of channel_block channels x row_block rows per image, enumerated rows outermost or
 * channels outermost (ic_tiling_t.rows_outer), for operators that choose the blocks. */
void ic_tiling_blocks(ic_tiling_t* tiling, int64_t batch, int64_t channels,
                      int64_t channel_block, int64_t rows, int64_t row_block, bool rows_outer);

/* Tasks of row_block rows (all channels) per image, for operators whose tile size is set by
 * a scratch budget instead. The tiles' c0, c1 are 0, 1. */
void ic_tiling_rows(ic_tiling_t* tiling, int64_t batch, int64_t rows, int64_t row_block);

ic_tile_t ic_tiling_tile(const ic_tiling_t* tiling, size_t task);

/* ---------------------------------------------------------------------------------------------
 * Memory (common/memory.c): 64-byte aligned, NULL on failure or on a size that overflows.
 * ------------------------------------------------------------------------------------------- */

/* Scratch. */
void* ic_aligned_alloc(size_t bytes);
void ic_aligned_free(void* pointer);

/* The scratch buffers runs reuse (a context's, a thread's): from 1 MB on in 2 MB pages of
 * their own advised as huge pages (see memory.c). Freed with ic_scratch_free (NULL ignored). */
void* ic_scratch_alloc(size_t bytes);
void ic_scratch_free(void* pointer);

/* What an operator keeps from create to destroy (weights, packed weights, biases): blocks
 * cut together from 2 MB pages (see memory.c). Thread-safe. */
void* ic_weights_alloc(size_t bytes);
void ic_weights_free(void* pointer);

/* Copies count floats into a new ic_weights_alloc block (NULL on failure). */
float* ic_weights_copy(const void* source, size_t count);

/* Bytes the weights' regions hold from the system (tests: 0 once every block is freed). */
size_t ic_weights_reserved_bytes(void);

/* ---------------------------------------------------------------------------------------------
 * The CPU (common/isa.c), beyond the ISA of invconv.h
 * ------------------------------------------------------------------------------------------- */

/* True on Intel cores, where a non-temporal prefetch (prefetchnta) fills L1 but not L2: a
 * line fetched that way well before its use is gone from L1 when it is read, and comes again
 * from L3 or memory. Kernels that prefetch data for later then fetch it to L2. (On AMD's Zen 5
 * the non-temporal hint served the direct conv's next weight chunk well: IC_PREFETCH_ONCE in
 * ukernels.h; docs/BENCHMARKS.md has both measurements.) */
bool ic_nta_prefetch_skips_l2(void);

/* ---------------------------------------------------------------------------------------------
 * Threads (common/context.c)
 * ------------------------------------------------------------------------------------------- */

/* thread_index is in [0, ic_context_num_threads(context)); the calling thread is 0. It lets a
 * task pick its own slice of a scratch buffer. */
typedef void (*ic_task_fn)(void* arg, size_t task, uint32_t thread_index);

/**
 * Runs fn(arg, t, thread) for every t in [0, task_count), on the context's threads and the
 * caller, and returns when all are done. With a NULL context, or when another run holds the
 * workers, the caller runs every task itself — same tasks, same results.
 */
void ic_parallelize(ic_context_t* context, size_t task_count, ic_task_fn fn, void* arg);

/**
 * A run: one operator call's claim on a context's workers and on scratch memory. Operators
 * that need scratch (or more than one parallel phase) use these instead of ic_parallelize:
 *
 *   ic_run_t run;
 *   ic_run_begin(&run, context);                  // takes the workers if they are free
 *   char* scratch = ic_run_scratch(&run, bytes);  // NULL: out of memory; at most once per run
 *   ... carve `run.threads` per-thread slices, ic_run_parallelize(&run, ...) once or more ...
 *   ic_run_end(&run);                             // always, also after a failure
 *
 * Tasks see thread indices in [0, run.threads). The scratch is 64-byte aligned, uninitialised
 * and valid until ic_run_end. It comes from the context when the run owns the workers, else
 * from the calling thread's cache (see common/context.c); both grow on demand and are reused,
 * so steady-state runs do not allocate.
 */
typedef struct ic_run {
  ic_context_t* context; /* the context whose workers (and scratch) this run owns, or NULL */
  uint32_t threads;      /* thread indices tasks will see: [0, threads) */
  void* temporary;       /* scratch allocated for this run alone (nested runs) */
  bool thread_cache;     /* the scratch is the calling thread's cache */
} ic_run_t;

void ic_run_begin(ic_run_t* run, ic_context_t* context);
void* ic_run_scratch(ic_run_t* run, size_t bytes);
void ic_run_parallelize(ic_run_t* run, size_t task_count, ic_task_fn fn, void* arg);
void ic_run_end(ic_run_t* run);

/* Inside a run (operators/layout.c): the batch of images in src_layout transposed into dst in
 * the other layout (NCHW <-> NHWC), with `residual` (NULL, or addressed like dst) added and
 * `activation` applied on the way. Both layouts must differ and src and dst not overlap. */
void ic_layout_transpose(ic_run_t* run, int32_t src_layout, int64_t batch, int64_t channels,
                         int64_t h, int64_t w, const float* src, float* dst,
                         const float* residual, int32_t activation);

/*
 * The floats from the start of one thread's slice of a per-thread scratch to the next (false
 * when that overflows): `floats` in whole cache lines, then a 64 KB guard. Adjacent slices let
 * one core's hardware prefetcher, running ahead through its own slice (scratch sits in 2 MB
 * pages, inside which it may cross 4 KB boundaries), pull in the lines the next thread is
 * writing; each then costs a core-to-core transfer, ~500 ns round trip in this VM's slower
 * phases. Involution2d K=7 56x56x64 on 2 threads took 0.30 ms there, as long as on one, and
 * 0.21 ms with the guard (32 KB was not always enough); separable convs gained 5-8 %.
 */
static inline bool ic_thread_slice_floats(int64_t floats, int64_t* stride) {
  enum { IC_SLICE_GUARD_FLOATS = (64 << 10) / sizeof(float) };
  if (ic_add_overflow(floats, IC_SLICE_GUARD_FLOATS + 15, stride)) return false;
  *stride = *stride / 16 * 16;
  return true;
}

/*
 * Work shared by the tasks of one run and done by whichever needs it first (a packed input row,
 * a unit of involution's features): a flag per piece, free -> busy (claimed) -> done. A
 * claimant does its piece at once and publishes it; the others wait for it to be done. A task
 * never waits while it holds a claim, so there is no deadlock, and one thread running every
 * task never waits at all. The flags are reset (relaxed stores) before the run's parallel part.
 */
enum { IC_WORK_FREE = 0, IC_WORK_BUSY = 1, IC_WORK_DONE = 2 };

static inline bool ic_claim(atomic_int* flag) {
  int expected = IC_WORK_FREE;
  return atomic_load_explicit(flag, memory_order_acquire) == IC_WORK_FREE &&
         atomic_compare_exchange_strong_explicit(flag, &expected, IC_WORK_BUSY,
                                                 memory_order_acquire, memory_order_acquire);
}

static inline void ic_publish(atomic_int* flag) {
  atomic_store_explicit(flag, IC_WORK_DONE, memory_order_release);
}

static inline void ic_wait_done(atomic_int* flag) {
  for (unsigned spins = 0; atomic_load_explicit(flag, memory_order_acquire) != IC_WORK_DONE;
       spins++) {
    if (spins < 256) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    } else {
      sched_yield(); /* the claimant may have been descheduled */
    }
  }
}

static inline void ic_reset_flags(atomic_int* flags, int64_t count) {
  for (int64_t i = 0; i < count; i++) {
    atomic_store_explicit(&flags[i], IC_WORK_FREE, memory_order_relaxed);
  }
}

#endif /* IC_INTERNAL_H */
