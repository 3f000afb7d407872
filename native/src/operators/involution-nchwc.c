/*
 * The channel-blocked SIMD path of involution (issue 4): what makes the aggregation and the
 * Involution2d module fast on AVX-512 and AVX2. Both operators come here when
 * ic_invol_nchwc_select() finds kernels for the active ISA and group_channels.
 *
 * Layout. The input is packed into nChw<block>c rows: `block` channels of a group (16 = one
 * zmm, 8 = one ymm) contiguous per pixel, with `padding` zero pixels on both sides, so that
 * the aggregation kernel (the nchwc kernels of f32-invol/) reads every tap of a row without
 * bounds checks; rows outside the image are skipped (kh0, kh1). NCHW input is transposed into
 * it (f32-nchwc/). NHWC input already has a block's channels contiguous per pixel: the kernel
 * reads the pixels whose taps stay inside the row from the image, C floats apart, and only the
 * edge columns the others read are copied, with their zeros (ic_plan_columns); rows too narrow
 * for that are copied whole. NHWC output is written by the aggregation kernel
 * directly; NCHW output goes through a per-thread tile that f32-nchwc's unpack transposes
 * into planes.
 *
 * Involution2d's kernels are generated per tile of output rows and per group, never for the
 * whole image: X' (the input, pooled for stride > 1, as planes; NCHW stride-1 input is used in
 * place) and the reduce 1x1 conv (BN folded, ReLU), T[reduced][tile pixels], are made once per
 * tile, in units of one channel block and of 16 reduced channels; then, per group, the span
 * 1x1 conv writes the group's K*K weights of the tile's pixels tap-major into an L1/L2-sized
 * buffer, which the aggregation consumes at once with one broadcast per tap and pixel
 * (f32-involgen/). The unfold and the full kernels tensor never exist.
 *
 * One fork-join per pass (a pass is the whole batch unless its packed input exceeds 8 MiB).
 * Tasks are runs of consecutive row tiles of one image, for a run of groups (module) or channel
 * blocks (aggregation), see ic_task_runs_t; the work they share — packing an input row, a unit
 * of X' or of T — is claimed by the first task that needs it (an atomic flag per row and per
 * unit: free, busy, done), done at once, and waited for by the others; a task waiting for its
 * tile's T starts on the next tiles' units instead. A claimant never waits while it holds a
 * claim, so there is no deadlock, and when one thread runs every task (no context, or a busy
 * one) nothing ever waits. Packing is a copy and each unit is computed by the same code whoever
 * computes it, so results do not depend on the thread count; every output element is computed by
 * one kernel call whose shape depends on the problem only.
 *
 * Scratch comes from ic_invol_scratch(): one buffer per calling thread, kept between runs, so
 * that a run allocates nothing once warm. Its tasks get slices of the caller's buffer.
 */
#include "involution-nchwc.h"

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

/* ---------------------------------------------------------------------------------------------
 * Per-thread scratch
 * ------------------------------------------------------------------------------------------- */

typedef struct ic_scratch {
  void* data;
  size_t bytes;
} ic_scratch_t;

static _Thread_local ic_scratch_t ic_thread_scratch;
static pthread_key_t ic_scratch_key;
static pthread_once_t ic_scratch_once = PTHREAD_ONCE_INIT;
static bool ic_scratch_key_created;

/* Thread exit: the key's value is this thread's ic_thread_scratch. */
static void ic_scratch_release(void* value) {
  ic_scratch_t* scratch = value;
  ic_scratch_free(scratch->data);
  scratch->data = NULL;
  scratch->bytes = 0;
}

static void ic_scratch_init(void) {
  ic_scratch_key_created = pthread_key_create(&ic_scratch_key, ic_scratch_release) == 0;
}

void* ic_invol_scratch(size_t bytes) {
  ic_scratch_t* scratch = &ic_thread_scratch;
  if (scratch->data != NULL && bytes <= scratch->bytes) return scratch->data;
  pthread_once(&ic_scratch_once, ic_scratch_init);
  if (!ic_scratch_key_created) return NULL; /* it could never be freed */
  ic_scratch_free(scratch->data);
  scratch->data = NULL;
  scratch->bytes = 0;
  /* A quarter more, so that slowly growing problems do not reallocate every run. */
  size_t grown = bytes <= SIZE_MAX - bytes / 4 ? bytes + bytes / 4 : bytes;
  void* data = ic_scratch_alloc(grown);
  if (data == NULL) {
    grown = bytes;
    data = ic_scratch_alloc(grown);
  }
  if (data == NULL) return NULL;
  scratch->data = data;
  scratch->bytes = grown;
  pthread_setspecific(ic_scratch_key, scratch);
  return data;
}

/* Largest padding the packed rows take (a K = 65 kernel at dilation 8). */
enum { IC_NCHWC_MAX_PADDING = 256 };

/* Scratch a run may take for its images at once; larger batches run in several passes. */
static const int64_t ic_nchwc_pass_bytes = (int64_t)8 << 20;

/* Images per pass: the packed input (about the input's size) twice, within the budget. */
static int64_t ic_images_per_pass(const ic_involution_shape_t* shape, int64_t batch,
                                  int64_t in_h, int64_t in_w) {
  const int64_t image = ic_mul_saturate(
      ic_mul_saturate(ic_mul_saturate(shape->channels, in_h), in_w + 2 * shape->padding),
      2 * (int64_t)sizeof(float));
  return ic_min_i64(ic_max_i64(ic_nchwc_pass_bytes / ic_max_i64(image, 1), 1), batch);
}

/* ---------------------------------------------------------------------------------------------
 * Kernel selection
 * ------------------------------------------------------------------------------------------- */

bool ic_invol_nchwc_select(ic_isa_t isa, const ic_involution_shape_t* shape,
                           ic_invol_nchwc_t* path) {
  const int64_t group_channels = shape->group_channels;
  /* The packed rows carry `padding` zero pixels per side: fine for real kernels, wasteful for
   * an absurd dilation, which the portable path handles without them. */
  if (shape->padding > IC_NCHWC_MAX_PADDING) return false;
  ic_isa_t level;
  if (isa >= IC_ISA_AVX512 && group_channels % 16 == 0) {
    level = IC_ISA_AVX512;
  } else if (isa >= IC_ISA_AVX2 && group_channels % 8 == 0) {
    level = IC_ISA_AVX2;
  } else {
    return false;
  }
  ic_ukernel_info_t pack_info, unpack_info;
  path->aggregate = ic_select_f32_invol2d_nchwc_ukernel(level, &path->aggregate_info);
  path->generate = ic_select_f32_involgen_ukernel(level, &path->generate_info);
  path->pack = ic_select_f32_nchwc_pack_ukernel(level, &pack_info);
  path->unpack = ic_select_f32_nchwc_unpack_ukernel(level, &unpack_info);
  path->block = level == IC_ISA_AVX512 ? 16 : 8;
  path->segment = level == IC_ISA_AVX512 ? 14 : 12;
  /* Each kernel must be the one of that level (a build without x86 kernels has none). */
  return path->aggregate_info.isa == level && path->generate_info.isa == level &&
         pack_info.isa == level && unpack_info.isa == level;
}

/* ---------------------------------------------------------------------------------------------
 * Scratch plan: sections of one buffer, each 64-byte aligned, with checked sizes.
 * ------------------------------------------------------------------------------------------- */

typedef struct ic_plan {
  int64_t bytes;
  bool overflow;
} ic_plan_t;

/* Reserves count elements of `size` bytes; returns the section's offset. */
static int64_t ic_plan_take(ic_plan_t* plan, int64_t count, int64_t size) {
  int64_t bytes, end;
  const int64_t offset = plan->bytes;
  if (ic_mul_overflow(count, size, &bytes) || ic_add_overflow(bytes, 63, &bytes) ||
      ic_add_overflow(offset, bytes / 64 * 64, &end)) {
    plan->overflow = true;
    return 0;
  }
  plan->bytes = end;
  return offset;
}

static int64_t ic_product(int64_t a, int64_t b, bool* overflow) {
  int64_t result;
  if (ic_mul_overflow(a, b, &result)) {
    *overflow = true;
    return 0;
  }
  return result;
}

/* ---------------------------------------------------------------------------------------------
 * Tasks: runs of consecutive tiles (and of groups or blocks) of one image
 *
 * Each thread starts on its own contiguous range of tasks (ic_run_tasks), so the threads work
 * on distant parts of the image and share packed input rows and T only where their ranges
 * meet. (Tasks of one tile and one group handed out from a shared counter had the threads
 * waiting on each other's claims all the time: two threads were slower than one.) About
 * IC_TASKS_PER_THREAD tasks per thread per image: 4 rather than 2 balances the two threads
 * better when one runs slower (K=7 56x56x64 0.214 -> 0.202 ms, 14x14x256 0.146 -> 0.131, the
 * others the same; 8 and 16 were no better); images with too few tiles for that are split
 * over groups (blocks) as well. Images with many tiles are cut finer, into up to
 * IC_TILE_RUNS_PER_THREAD runs of tiles per thread (groups are not split further): inside a
 * network one thread often runs slower (its share of the input comes from memory), and a
 * thread that finished its range waited for the other's last task of several tiles (RedNet's
 * stem involution, 112 one-row tiles in 8 tasks: 50-70 us of its 300 in RedNet-50; the
 * 56x56 ones, 28 tiles in 10 tasks: 25-35 us). How the work is grouped into tasks changes no
 * result: each output element comes from the same kernel calls.
 * ------------------------------------------------------------------------------------------- */

typedef struct ic_task_runs {
  int64_t tiles_per_task, parts_per_task; /* parts: groups (module) or blocks (aggregation) */
  int64_t tile_runs, part_runs;
} ic_task_runs_t;

enum { IC_TASKS_PER_THREAD = 4, IC_TILE_RUNS_PER_THREAD = 16 };

/* A per-thread slice stride (ic_thread_slice_floats), recording an overflow. */
static int64_t ic_thread_stride(int64_t floats, bool* overflow) {
  int64_t stride = 0;
  if (!ic_thread_slice_floats(floats, &stride)) *overflow = true;
  return stride;
}

static size_t ic_task_runs_plan(ic_task_runs_t* r, int64_t batch, int64_t tiles, int64_t parts,
                                int64_t threads) {
  const int64_t wanted = IC_TASKS_PER_THREAD * ic_max_i64(threads, 1);
  r->tiles_per_task = ic_max_i64(1, tiles / (IC_TILE_RUNS_PER_THREAD * ic_max_i64(threads, 1)));
  r->tile_runs = ic_divide_round_up(tiles, r->tiles_per_task);
  const int64_t part_runs = ic_min_i64(parts, ic_divide_round_up(wanted, r->tile_runs));
  r->parts_per_task = ic_divide_round_up(parts, part_runs);
  r->part_runs = ic_divide_round_up(parts, r->parts_per_task);
  /* Fits: at most batch * tiles * parts, bounded by the output's (checked) size. */
  return (size_t)(batch * r->tile_runs * r->part_runs);
}

static void ic_task_runs_locate(const ic_task_runs_t* r, int64_t tiles, int64_t parts,
                                size_t task, int64_t* n, int64_t* t0, int64_t* t1, int64_t* p0,
                                int64_t* p1) {
  const int64_t i = (int64_t)task;
  *p0 = i % r->part_runs * r->parts_per_task;
  *t0 = i / r->part_runs % r->tile_runs * r->tiles_per_task;
  *n = i / (r->part_runs * r->tile_runs);
  *p1 = ic_min_i64(*p0 + r->parts_per_task, parts);
  *t1 = ic_min_i64(*t0 + r->tiles_per_task, tiles);
}

/* ---------------------------------------------------------------------------------------------
 * The job of one run
 * ------------------------------------------------------------------------------------------- */

typedef struct ic_nchwc_job {
  const ic_invol_nchwc_t* path;
  const ic_involution_shape_t* shape;
  const ic_invol_nchwc_weights_t* weights; /* module only */
  int32_t layout;
  int64_t in_h, in_w, out_h, out_w;
  int64_t blocks;   /* channels / block */
  int64_t padded_w; /* columns of a packed row: in_w + 2 * padding, or the edges' (in place) */
  /* NHWC input read in place (ic_plan_columns): the aggregation reads the columns of pixels
   * [left_pixels, right_pixel) from the image; a packed row holds only the left_columns from
   * column -padding that the left edge pixels read, then the columns from right_column on
   * that the right ones read, zeros past the image. */
  bool in_place;
  int64_t left_pixels, right_pixel, left_columns, right_column;
  const float* src;
  const float* kernels; /* aggregation only */
  float* dst;
  ic_strides_t src_strides, kernels_strides, dst_strides;
  float* packed;         /* [batch][blocks][in_h][padded_w][block] */
  atomic_int* row_flags; /* [batch][blocks][in_h] */
  int64_t tile_rows, tiles;
  ic_task_runs_t runs;      /* how tasks cover (image, tile, group or block) */
  int64_t tile_stride;     /* module: pixels of a tile, rounded up to 16 */
  float* features;         /* module: T, [batch][tiles][reduced][tile_stride] */
  atomic_int* t_flags;     /* module: [batch][tiles][t_chunks], T in chunks of IC_T_CHUNK rows */
  int64_t t_chunks;
  bool planar_features;    /* module: X' is NCHW src itself (stride 1), no X' units */
  float* pooled;           /* module: X', [batch][tiles][channels][tile_stride] */
  atomic_int* x_flags;     /* module: [batch][tiles][blocks] */
  float* thread_scratch;
  int64_t thread_floats;
  int64_t threads; /* the context's: thread indices are [0, threads) */
} ic_nchwc_job_t;

static float* ic_packed_row(const ic_nchwc_job_t* job, int64_t n, int64_t b, int64_t iy) {
  const int64_t row = (n * job->blocks + b) * job->in_h + iy;
  return job->packed + row * job->padded_w * job->path->block;
}

/* Channel 0 of block b at column `column` of input row iy of image n, in the caller's layout. */
static const float* ic_source(const ic_nchwc_job_t* job, int64_t n, int64_t b, int64_t iy,
                              int64_t column) {
  const ic_strides_t xs = job->src_strides;
  return job->src + n * xs.n + b * job->path->block * xs.c + iy * xs.h + column * xs.w;
}

/* Columns [column, column + width) of input row iy, block b, into `dst` after pad_left zero
 * pixels and followed by pad_right. */
static void ic_pack_columns(const ic_nchwc_job_t* job, int64_t n, int64_t b, int64_t iy,
                            int64_t column, int64_t width, float* dst, int64_t pad_left,
                            int64_t pad_right) {
  const int64_t block = job->path->block;
  const ic_strides_t xs = job->src_strides;
  const ic_f32_nchwc_pack_args_t args = {
      .block = block,
      .width = width,
      .src = ic_source(job, n, b, iy, column),
      .src_stride_c = xs.c,
      .src_stride_w = xs.w,
      .dst = dst,
      .pad_left = pad_left,
      .pad_right = pad_right,
  };
  job->path->pack(&args);
}

static void ic_pack_row(const ic_nchwc_job_t* job, int64_t n, int64_t b, int64_t iy) {
  const int64_t padding = job->shape->padding;
  float* row = ic_packed_row(job, n, b, iy);
  if (!job->in_place) {
    ic_pack_columns(job, n, b, iy, 0, job->in_w, row, padding,
                    job->padded_w - job->in_w - padding);
    return;
  }
  if (job->left_columns > 0) {
    ic_pack_columns(job, n, b, iy, 0, job->left_columns - padding, row, padding, 0);
  }
  const int64_t right_columns = job->padded_w - job->left_columns;
  if (right_columns > 0) {
    /* The last columns of a strided row may be read by no pixel. */
    const int64_t width = ic_min_i64(job->in_w - job->right_column, right_columns);
    ic_pack_columns(job, n, b, iy, job->right_column, width,
                    row + job->left_columns * job->path->block, 0, right_columns - width);
  }
}

/* Whether NHWC input is read in place, and the edges that are packed then. In place, a row
 * of 56 pixels of a K = 7 module packs 26 columns instead of 62 (warm, 2 threads: RedNet's
 * stem involution, 112 x 112 x 32, K = 3, 0.24 -> 0.20 ms; the aggregation of 56 x 56 x 64,
 * K = 7, 0.216 -> 0.190; the K = 7 modules at 56 x 56 level). The interior is a multiple of
 * the kernel's segment and the edges share the rest, so that a row is still walked in long
 * segments (56 pixels: 7 | 3 x 14 | 7). Rows are packed whole where the interior is shorter
 * than one segment, or its input columns fewer than two segments' pixels: the shorter segments
 * then cost more than the packing saves (28 x 28 x 128, K = 7, split 7 | 14 | 7: 0.162 -> 0.169
 * ms warm), while at stride 2 the packing saves twice the columns (56 x 56 x 128 -> 28 x 28,
 * the same split: 0.239 -> 0.229 ms, its aggregation alone 0.181 -> 0.157). */
static void ic_plan_columns(ic_nchwc_job_t* job, bool* overflow) {
  const ic_involution_shape_t* s = job->shape;
  const int64_t stride = s->stride, padding = s->padding, segment = job->path->segment;
  const int64_t reach = (s->kernel_size - 1) * s->dilation + 1;
  if (ic_add_overflow(job->in_w, 2 * padding, &job->padded_w)) *overflow = true;
  /* With 8-channel blocks (AVX2) a column is half a cache line whose other half another block
   * reads at another time: in place, the K = 7 modules of 56 x 56 were 4-5 % slower. */
  if (job->layout != IC_LAYOUT_NHWC || job->path->block < 16 || *overflow) return;
  /* Pixel x reads columns [x * stride - padding, x * stride - padding + reach): those from
   * `first` on read no padding on the left, those before `last` none on the right. */
  const int64_t first = ic_divide_round_up(padding, stride);
  const int64_t beyond = job->in_w + padding - reach + 1; /* x * stride >= beyond: padding */
  const int64_t last = ic_min_i64(beyond <= 0 ? 0 : ic_divide_round_up(beyond, stride),
                                  job->out_w);
  if (last - first < segment || (last - first) * stride < 2 * segment) return;
  const int64_t spare = (last - first) % segment;
  job->in_place = true;
  job->left_pixels = first + spare / 2;
  job->right_pixel = last - (spare - spare / 2);
  const int64_t left = job->left_pixels, right = job->right_pixel;
  job->left_columns = left > 0 ? (left - 1) * stride + reach : 0;
  job->right_column = right * stride - padding;
  const int64_t right_columns =
      right < job->out_w ? (job->out_w - 1 - right) * stride + reach : 0;
  job->padded_w = job->left_columns + right_columns;
}

/* Input rows [iy0, iy1) (clipped to the image) of blocks [b0, b1) of image n, packed: packs
 * the rows nobody has claimed, then waits for those that others are packing. */
static void ic_ensure_rows(const ic_nchwc_job_t* job, int64_t n, int64_t b0, int64_t b1,
                           int64_t iy0, int64_t iy1) {
  iy0 = ic_max_i64(iy0, 0);
  iy1 = ic_min_i64(iy1, job->in_h);
  for (int64_t b = b0; b < b1; b++) {
    atomic_int* flags = job->row_flags + (n * job->blocks + b) * job->in_h;
    for (int64_t iy = iy0; iy < iy1; iy++) {
      if (ic_claim(&flags[iy])) {
        ic_pack_row(job, n, b, iy);
        ic_publish(&flags[iy]);
      }
    }
  }
  for (int64_t b = b0; b < b1; b++) {
    atomic_int* flags = job->row_flags + (n * job->blocks + b) * job->in_h;
    for (int64_t iy = iy0; iy < iy1; iy++) ic_wait_done(&flags[iy]);
  }
}

/* Output pixels [x0, x1) of a row whose pixel 0 has its kernels at `kernels` and its output at
 * `dst`, from input columns at `src` (the first tap of pixel x0), `stride_w` floats apart. */
static void ic_aggregate_pixels(const ic_nchwc_job_t* job, ic_f32_invol2d_nchwc_args_t* args,
                                int64_t x0, int64_t x1, const float* src, int64_t stride_w,
                                int64_t stride_h, const float* kernels, float* dst) {
  if (x1 <= x0) return;
  args->pixels = x1 - x0;
  args->src = src;
  args->src_stride_w = stride_w;
  args->src_stride_h = stride_h;
  args->kernels = kernels + x0 * args->kernels_stride_p;
  args->dst = dst + x0 * args->dst_stride_p;
  job->path->aggregate(args);
}

/* Aggregates output rows [y0, y1) of block b of image n with kernels at `kernels` (tap (0, 0)
 * of the block's group at pixel (y0, 0)), taps kernels_stride_t apart, rows kernels_stride_h.
 * NHWC output goes to dst directly; NCHW output through `tile` ([pixels][block]). */
static void ic_aggregate_rows(const ic_nchwc_job_t* job, int64_t n, int64_t b, int64_t y0,
                              int64_t y1, const float* kernels, int64_t kernels_stride_t,
                              int64_t kernels_stride_h, int64_t kernels_stride_p,
                              const ic_invol_nchwc_weights_t* epilogue, float* tile) {
  const ic_involution_shape_t* s = job->shape;
  const int64_t block = job->path->block, k = s->kernel_size;
  const ic_strides_t ys = job->dst_strides;
  const bool planar = job->layout == IC_LAYOUT_NCHW;
  ic_f32_invol2d_nchwc_args_t args = {
      .block = block,
      .kernel_size = k,
      .stride = s->stride,
      .dilation = s->dilation,
      .kernels_stride_t = kernels_stride_t,
      .kernels_stride_p = kernels_stride_p,
      .dst_stride_p = planar ? block : ys.w,
      .activation = epilogue != NULL ? epilogue->activation : IC_ACTIVATION_NONE,
  };
  if (epilogue != NULL && epilogue->out_scale != NULL) {
    args.scale = epilogue->out_scale + b * block;
    args.shift = epilogue->out_shift + b * block;
  }
  for (int64_t y = y0; y < y1; y++) {
    const int64_t iy = y * s->stride - s->padding;
    int64_t kh0, kh1;
    ic_tap_range(iy, s->dilation, k, job->in_h, &kh0, &kh1);
    args.kh0 = kh0;
    args.kh1 = kh1;
    const int64_t first_row = iy + kh0 * s->dilation;
    const float* packed = ic_packed_row(job, n, b, first_row);
    const int64_t packed_stride_h = job->padded_w * block;
    const float* row_kernels = kernels + (y - y0) * kernels_stride_h + kh0 * k * kernels_stride_t;
    float* row_dst = planar ? tile + (y - y0) * job->out_w * block
                            : job->dst + n * ys.n + y * ys.h + b * block * ys.c;
    if (!job->in_place) {
      ic_aggregate_pixels(job, &args, 0, job->out_w, packed, block, packed_stride_h, row_kernels,
                          row_dst);
      continue;
    }
    const ic_strides_t xs = job->src_strides;
    const int64_t left = job->left_pixels, right = job->right_pixel;
    const float* image = ic_source(job, n, b, first_row, left * s->stride - s->padding);
    ic_aggregate_pixels(job, &args, 0, left, packed, block, packed_stride_h, row_kernels,
                        row_dst);
    ic_aggregate_pixels(job, &args, left, right, image, xs.w, xs.h, row_kernels, row_dst);
    ic_aggregate_pixels(job, &args, right, job->out_w, packed + job->left_columns * block, block,
                        packed_stride_h, row_kernels, row_dst);
  }
  if (planar) {
    const ic_f32_nchwc_unpack_args_t unpack = {
        .block = block,
        .pixels = (y1 - y0) * job->out_w,
        .pool = 1,
        .src = tile,
        .src_stride_w = block,
        .src_stride_h = 0,
        .dst = job->dst + n * ys.n + b * block * ys.c + y0 * ys.h,
        .dst_stride_c = ys.c,
    };
    job->path->unpack(&unpack);
  }
}

/* ---------------------------------------------------------------------------------------------
 * Aggregation with caller-supplied kernels
 * ------------------------------------------------------------------------------------------- */

/* Block b of tile t of image n. */
static void ic_aggregate_tile_block(const ic_nchwc_job_t* job, int64_t n, int64_t t, int64_t b,
                                    uint32_t thread_index) {
  const ic_involution_shape_t* s = job->shape;
  const int64_t y0 = t * job->tile_rows, y1 = ic_min_i64(y0 + job->tile_rows, job->out_h);
  const int64_t reach = (s->kernel_size - 1) * s->dilation + 1;
  ic_ensure_rows(job, n, b, b + 1, y0 * s->stride - s->padding,
                 (y1 - 1) * s->stride - s->padding + reach);
  const int64_t group = b * job->path->block / s->group_channels;
  const ic_strides_t ks = job->kernels_strides;
  const float* kernels =
      job->kernels + n * ks.n + group * s->kernel_size * s->kernel_size * ks.c + y0 * ks.h;
  float* tile = job->thread_scratch + (int64_t)thread_index * job->thread_floats;
  ic_aggregate_rows(job, n, b, y0, y1, kernels, ks.c, ks.h, ks.w, NULL, tile);
}

/* A run of consecutive tiles and blocks of one image, as ic_module_task's. */
static void ic_aggregate_task(void* arg, size_t task, uint32_t thread_index) {
  const ic_nchwc_job_t* job = arg;
  const ic_task_runs_t* r = &job->runs;
  int64_t n, t0, t1, b0, b1;
  ic_task_runs_locate(r, job->tiles, job->blocks, task, &n, &t0, &t1, &b0, &b1);
  for (int64_t t = t0; t < t1; t++) {
    for (int64_t b = b0; b < b1; b++) ic_aggregate_tile_block(job, n, t, b, thread_index);
  }
}

static ic_status_t ic_aggregate_pass(const ic_invol_nchwc_t* path,
                                     const ic_involution_shape_t* shape, ic_context_t* context,
                                     int32_t layout, int64_t batch, int64_t in_h, int64_t in_w,
                                     int64_t out_h, int64_t out_w, const float* src,
                                     const float* kernels, float* dst) {
  const int64_t block = path->block, threads = ic_context_num_threads(context);
  ic_nchwc_job_t job = {
      .path = path,
      .shape = shape,
      .layout = layout,
      .in_h = in_h,
      .in_w = in_w,
      .out_h = out_h,
      .out_w = out_w,
      .blocks = shape->channels / block,
      .src = src,
      .kernels = kernels,
      .dst = dst,
      .src_strides = ic_layout_strides(layout, shape->channels, in_h, in_w),
      .kernels_strides = ic_layout_strides(layout, shape->kernel_count, out_h, out_w),
      .dst_strides = ic_layout_strides(layout, shape->channels, out_h, out_w),
  };
  /* Tasks of about 256 output pixels of one block. */
  job.tile_rows = ic_min_i64(ic_max_i64(256 / out_w, 1), out_h);
  job.tiles = ic_divide_round_up(out_h, job.tile_rows);

  bool overflow = false;
  ic_plan_columns(&job, &overflow);
  const int64_t rows = ic_product(ic_product(batch, job.blocks, &overflow), in_h, &overflow);
  const int64_t packed = ic_product(ic_product(rows, job.padded_w, &overflow), block, &overflow);
  job.thread_floats = ic_thread_stride(
      ic_product(ic_product(job.tile_rows, out_w, &overflow), block, &overflow), &overflow);
  ic_plan_t plan = {0, overflow};
  const int64_t packed_at = ic_plan_take(&plan, packed, sizeof(float));
  const int64_t flags_at = ic_plan_take(&plan, rows, sizeof(atomic_int));
  const int64_t threads_at =
      ic_plan_take(&plan, ic_product(job.thread_floats, threads, &plan.overflow), sizeof(float));
  if (plan.overflow || (uint64_t)plan.bytes > SIZE_MAX) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "involution: the packed input of %" PRId64 " x %" PRId64 " pixels with "
                    "padding %" PRId64 " overflows",
                    in_h, in_w, shape->padding);
  }
  char* scratch = ic_invol_scratch((size_t)plan.bytes);
  if (scratch == NULL) {
    return ic_error(IC_STATUS_OUT_OF_MEMORY,
                    "involution: out of memory allocating %" PRId64 " bytes of scratch",
                    plan.bytes);
  }
  job.packed = (float*)(scratch + packed_at);
  job.row_flags = (atomic_int*)(scratch + flags_at);
  job.thread_scratch = (float*)(scratch + threads_at);
  ic_reset_flags(job.row_flags, rows);
  const size_t tasks = ic_task_runs_plan(&job.runs, batch, job.tiles, job.blocks, threads);
  ic_parallelize(context, tasks, ic_aggregate_task, &job);
  return IC_STATUS_SUCCESS;
}

/* ---------------------------------------------------------------------------------------------
 * Involution2d
 * ------------------------------------------------------------------------------------------- */

/* Reduced channels per T unit: small layers split T over the threads. */
enum { IC_T_CHUNK = 16 };

static void ic_tile_rows(const ic_nchwc_job_t* job, int64_t t, int64_t* y0, int64_t* y1) {
  *y0 = t * job->tile_rows;
  *y1 = ic_min_i64(*y0 + job->tile_rows, job->out_h);
}

/* X' unit (n, t, b): block b of tile t's X' (pooled for stride > 1), from the packed rows or
 * the NHWC image, transposed to planes [channel][tile pixel]. */
static void ic_module_pool(const ic_nchwc_job_t* job, int64_t n, int64_t t, int64_t b) {
  const ic_involution_shape_t* s = job->shape;
  const int64_t block = job->path->block, tile = job->tile_stride;
  const ic_strides_t xs = job->src_strides;
  int64_t y0, y1;
  ic_tile_rows(job, t, &y0, &y1);
  if (!job->in_place) ic_ensure_rows(job, n, b, b + 1, y0 * s->stride, y1 * s->stride);
  float* pooled = job->pooled + (n * job->tiles + t) * s->channels * tile;
  for (int64_t y = y0; y < y1; y++) {
    const ic_f32_nchwc_unpack_args_t args = {
        .block = block,
        .pixels = job->out_w,
        .pool = s->stride,
        .src = job->in_place
                   ? ic_source(job, n, b, y * s->stride, 0)
                   : ic_packed_row(job, n, b, y * s->stride) + s->padding * block,
        .src_stride_w = job->in_place ? xs.w : block,
        .src_stride_h = job->in_place ? xs.h : job->padded_w * block,
        .dst = pooled + b * block * tile + (y - y0) * job->out_w,
        .dst_stride_c = tile,
    };
    job->path->unpack(&args);
  }
}

/* T unit (n, t, chunk): T[r][tile pixels] = ReLU(W0' X' + b0') for reduced channels r of the
 * chunk. X' must be complete. */
static void ic_module_reduce(const ic_nchwc_job_t* job, int64_t n, int64_t t, int64_t chunk) {
  const ic_involution_shape_t* s = job->shape;
  const ic_invol_nchwc_weights_t* w = job->weights;
  const int64_t tile = job->tile_stride, r0 = chunk * IC_T_CHUNK;
  int64_t y0, y1;
  ic_tile_rows(job, t, &y0, &y1);
  const ic_f32_involgen_args_t reduce = {
      .in_channels = s->channels,
      .out_channels = ic_min_i64(IC_T_CHUNK, w->reduced - r0),
      .weights = w->reduce_weight + r0 * s->channels,
      .bias = w->reduce_bias + r0,
      .activation = IC_ACTIVATION_RELU,
      .pixels = (y1 - y0) * job->out_w,
      .src = job->planar_features
                 ? job->src + n * job->src_strides.n + y0 * job->src_strides.h
                 : job->pooled + (n * job->tiles + t) * s->channels * tile,
      .src_stride_c = job->planar_features ? job->src_strides.c : tile,
      .dst = job->features + ((n * job->tiles + t) * w->reduced + r0) * tile,
      .dst_stride_c = tile,
  };
  job->path->generate(&reduce);
}

static bool ic_all_done(atomic_int* flags, int64_t count) {
  for (int64_t i = 0; i < count; i++) {
    if (atomic_load_explicit(&flags[i], memory_order_acquire) != IC_WORK_DONE) return false;
  }
  return true;
}

/* The unit a thread tries first of `count` units of a tile's X' or T; it goes on from there,
 * wrapping around. When tasks share tiles (small images: their groups are split over tasks),
 * each thread starts at its own share of the units, so that the threads do not race through
 * the same flags (a failed claim moves the flags' cache line between the cores): 14x14x512
 * stride 2 0.163-0.169 -> 0.135-0.138 ms, 7x7x512 0.132-0.136 -> 0.123-0.126. Tasks that own
 * their tiles start at 0. */
static int64_t ic_first_unit(const ic_nchwc_job_t* job, int64_t count, uint32_t thread_index) {
  return job->runs.part_runs == 1 ? 0 : (int64_t)thread_index * count / job->threads;
}

/* Claims and does the free X' units of tile t, then (once X' is complete) its free T units.
 * Never waits while it holds a claim. */
static void ic_help_features(const ic_nchwc_job_t* job, int64_t n, int64_t t,
                             uint32_t thread_index) {
  atomic_int* x_flags = job->x_flags + (n * job->tiles + t) * job->blocks;
  atomic_int* t_flags = job->t_flags + (n * job->tiles + t) * job->t_chunks;
  if (!job->planar_features) {
    const int64_t first = ic_first_unit(job, job->blocks, thread_index);
    for (int64_t i = 0, b = first; i < job->blocks; i++, b = b + 1 == job->blocks ? 0 : b + 1) {
      if (ic_claim(&x_flags[b])) {
        ic_module_pool(job, n, t, b);
        ic_publish(&x_flags[b]);
      }
    }
    if (!ic_all_done(x_flags, job->blocks)) return;
  }
  const int64_t first = ic_first_unit(job, job->t_chunks, thread_index);
  for (int64_t i = 0, chunk = first; i < job->t_chunks;
       i++, chunk = chunk + 1 == job->t_chunks ? 0 : chunk + 1) {
    if (ic_claim(&t_flags[chunk])) {
      ic_module_reduce(job, n, t, chunk);
      ic_publish(&t_flags[chunk]);
    }
  }
}

/* T of tile t complete: helps, waits for X', helps again, waits for T. */
static void ic_ensure_features(const ic_nchwc_job_t* job, int64_t n, int64_t t,
                               uint32_t thread_index) {
  atomic_int* x_flags = job->x_flags + (n * job->tiles + t) * job->blocks;
  atomic_int* t_flags = job->t_flags + (n * job->tiles + t) * job->t_chunks;
  if (!job->planar_features) {
    for (int64_t b = 0; b < job->blocks; b++) ic_wait_done(&x_flags[b]);
  }
  ic_help_features(job, n, t, thread_index);
  for (int64_t chunk = 0; chunk < job->t_chunks; chunk++) ic_wait_done(&t_flags[chunk]);
}

/* Group g of tile t of image n: the span conv into the thread's kernel buffer, then the
 * aggregation of the group's blocks. */
static void ic_module_tile_group(const ic_nchwc_job_t* job, int64_t n, int64_t t, int64_t g,
                                 int64_t g_end, uint32_t thread_index) {
  const ic_involution_shape_t* s = job->shape;
  const ic_invol_nchwc_weights_t* w = job->weights;
  int64_t y0, y1;
  ic_tile_rows(job, t, &y0, &y1);
  const int64_t block = job->path->block, tile = job->tile_stride;
  const int64_t taps = s->kernel_size * s->kernel_size;

  /* This thread's slice: [taps][tile] kernels, [tile][block] output. */
  float* kernels = job->thread_scratch + (int64_t)thread_index * job->thread_floats;
  float* out_tile = kernels + taps * tile;

  ic_help_features(job, n, t, thread_index);
  const int64_t b0 = g * (s->group_channels / block), b1 = b0 + s->group_channels / block;
  const int64_t reach = (s->kernel_size - 1) * s->dilation + 1;
  ic_ensure_rows(job, n, b0, b1, y0 * s->stride - s->padding,
                 (y1 - 1) * s->stride - s->padding + reach);
  /* Rather than wait for another thread's part of this tile's T, start on the next tiles'. */
  atomic_int* t_flags = job->t_flags + (n * job->tiles + t) * job->t_chunks;
  for (int64_t next = t + 1; next < ic_min_i64(t + 3, job->tiles) &&
                             !ic_all_done(t_flags, job->t_chunks);
       next++) {
    ic_help_features(job, n, next, thread_index);
  }
  ic_ensure_features(job, n, t, thread_index);

  /* The group's K*K weights for the tile's pixels, tap-major: [taps][tile]. */
  ic_f32_involgen_args_t span = {
      .in_channels = w->reduced,
      .out_channels = taps,
      .weights = w->span_weight + g * taps * w->reduced,
      .bias = w->span_bias + g * taps,
      .activation = IC_ACTIVATION_NONE,
      .pixels = (y1 - y0) * job->out_w,
      .src = job->features + (n * job->tiles + t) * w->reduced * tile,
      .src_stride_c = tile,
      .dst = kernels,
      .dst_stride_c = tile,
  };
  /* The next group's weights, when this task goes on to it. */
  if (g + 1 < g_end) {
    span.ahead_weights = w->span_weight + (g + 1) * taps * w->reduced;
    span.ahead_floats = taps * w->reduced;
  }
  job->path->generate(&span);
  for (int64_t b = b0; b < b1; b++) {
    ic_aggregate_rows(job, n, b, y0, y1, kernels, tile, job->out_w, 1, w, out_tile);
  }
}

/* A run of consecutive tiles of one image and of consecutive groups (ic_task_runs_t). */
static void ic_module_task(void* arg, size_t task, uint32_t thread_index) {
  const ic_nchwc_job_t* job = arg;
  int64_t n, t0, t1, g0, g1;
  ic_task_runs_locate(&job->runs, job->tiles, job->shape->groups, task, &n, &t0, &t1, &g0, &g1);
  for (int64_t t = t0; t < t1; t++) {
    for (int64_t g = g0; g < g1; g++) ic_module_tile_group(job, n, t, g, g1, thread_index);
  }
}

static ic_status_t ic_module_pass(const ic_invol_nchwc_t* path,
                                  const ic_involution_shape_t* shape,
                                  const ic_invol_nchwc_weights_t* weights, ic_context_t* context,
                                  int32_t layout, int64_t batch, int64_t in_h, int64_t in_w,
                                  int64_t out_h, int64_t out_w, const float* src, float* dst) {
  const int64_t block = path->block, threads = ic_context_num_threads(context);
  ic_nchwc_job_t job = {
      .path = path,
      .shape = shape,
      .weights = weights,
      .layout = layout,
      .in_h = in_h,
      .in_w = in_w,
      .out_h = out_h,
      .out_w = out_w,
      .blocks = shape->channels / block,
      .src = src,
      .dst = dst,
      .src_strides = ic_layout_strides(layout, shape->channels, in_h, in_w),
      .dst_strides = ic_layout_strides(layout, shape->channels, out_h, out_w),
      .planar_features = layout == IC_LAYOUT_NCHW && shape->stride == 1,
      .threads = threads,
  };
  /* Tiles of about 128 output pixels: the group's kernels for them stay in L1/L2. */
  job.tile_rows = ic_min_i64(ic_max_i64(128 / out_w, 1), out_h);
  job.tiles = ic_divide_round_up(out_h, job.tile_rows);

  bool overflow = false;
  ic_plan_columns(&job, &overflow);
  job.tile_stride = ic_product(job.tile_rows, out_w, &overflow);
  if (!overflow) job.tile_stride = ic_divide_round_up(job.tile_stride, 16) * 16;
  const int64_t taps = shape->kernel_size * shape->kernel_size;
  const int64_t rows = ic_product(ic_product(batch, job.blocks, &overflow), in_h, &overflow);
  const int64_t packed = ic_product(ic_product(rows, job.padded_w, &overflow), block, &overflow);
  const int64_t tiles = ic_product(batch, job.tiles, &overflow);
  const int64_t features =
      ic_product(ic_product(tiles, weights->reduced, &overflow), job.tile_stride, &overflow);
  const int64_t pooled = job.planar_features ? 0
                         : ic_product(ic_product(tiles, shape->channels, &overflow),
                                      job.tile_stride, &overflow);
  job.t_chunks = ic_divide_round_up(weights->reduced, IC_T_CHUNK);
  const int64_t t_units = ic_product(tiles, job.t_chunks, &overflow);
  const int64_t x_units = ic_product(tiles, job.blocks, &overflow);
  const int64_t per_thread =
      ic_thread_stride(ic_product(taps + block, job.tile_stride, &overflow), &overflow);
  job.thread_floats = per_thread;
  ic_plan_t plan = {0, overflow};
  const int64_t packed_at = ic_plan_take(&plan, packed, sizeof(float));
  const int64_t flags_at = ic_plan_take(&plan, rows, sizeof(atomic_int));
  const int64_t features_at = ic_plan_take(&plan, features, sizeof(float));
  const int64_t t_flags_at = ic_plan_take(&plan, t_units, sizeof(atomic_int));
  const int64_t pooled_at = ic_plan_take(&plan, pooled, sizeof(float));
  const int64_t x_flags_at = ic_plan_take(&plan, x_units, sizeof(atomic_int));
  const int64_t threads_at =
      ic_plan_take(&plan, ic_product(per_thread, threads, &plan.overflow), sizeof(float));
  if (plan.overflow || (uint64_t)plan.bytes > SIZE_MAX) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "involution2d: the packed input of %" PRId64 " x %" PRId64
                    " pixels with padding %" PRId64 " overflows",
                    in_h, in_w, shape->padding);
  }
  char* scratch = ic_invol_scratch((size_t)plan.bytes);
  if (scratch == NULL) {
    return ic_error(IC_STATUS_OUT_OF_MEMORY,
                    "involution2d: out of memory allocating %" PRId64 " bytes of scratch",
                    plan.bytes);
  }
  job.packed = (float*)(scratch + packed_at);
  job.row_flags = (atomic_int*)(scratch + flags_at);
  job.features = (float*)(scratch + features_at);
  job.t_flags = (atomic_int*)(scratch + t_flags_at);
  job.pooled = (float*)(scratch + pooled_at);
  job.x_flags = (atomic_int*)(scratch + x_flags_at);
  job.thread_scratch = (float*)(scratch + threads_at);
  ic_reset_flags(job.row_flags, rows);
  ic_reset_flags(job.t_flags, t_units);
  ic_reset_flags(job.x_flags, x_units);
  const size_t tasks = ic_task_runs_plan(&job.runs, batch, job.tiles, shape->groups, threads);
  ic_parallelize(context, tasks, ic_module_task, &job);
  return IC_STATUS_SUCCESS;
}

/* ---------------------------------------------------------------------------------------------
 * Entry points: the batch in passes of ic_images_per_pass() images.
 * ------------------------------------------------------------------------------------------- */

ic_status_t ic_invol_nchwc_aggregate(const ic_invol_nchwc_t* path,
                                     const ic_involution_shape_t* shape, ic_context_t* context,
                                     int32_t layout, int64_t batch, int64_t in_h, int64_t in_w,
                                     int64_t out_h, int64_t out_w, const float* src,
                                     const float* kernels, float* dst) {
  const int64_t images = ic_images_per_pass(shape, batch, in_h, in_w);
  const int64_t src_image = shape->channels * in_h * in_w;
  const int64_t dst_image = shape->channels * out_h * out_w;
  const int64_t kernels_image = shape->kernel_count * out_h * out_w;
  for (int64_t n = 0; n < batch; n += images) {
    const ic_status_t status = ic_aggregate_pass(
        path, shape, context, layout, ic_min_i64(images, batch - n), in_h, in_w, out_h, out_w,
        src + n * src_image, kernels + n * kernels_image, dst + n * dst_image);
    if (status != IC_STATUS_SUCCESS) return status;
  }
  return IC_STATUS_SUCCESS;
}

ic_status_t ic_invol_nchwc_module(const ic_invol_nchwc_t* path,
                                  const ic_involution_shape_t* shape,
                                  const ic_invol_nchwc_weights_t* weights, ic_context_t* context,
                                  int32_t layout, int64_t batch, int64_t in_h, int64_t in_w,
                                  int64_t out_h, int64_t out_w, const float* src, float* dst) {
  const int64_t images = ic_images_per_pass(shape, batch, in_h, in_w);
  const int64_t src_image = shape->channels * in_h * in_w;
  const int64_t dst_image = shape->channels * out_h * out_w;
  for (int64_t n = 0; n < batch; n += images) {
    const ic_status_t status =
        ic_module_pass(path, shape, weights, context, layout, ic_min_i64(images, batch - n), in_h,
                       in_w, out_h, out_w, src + n * src_image, dst + n * dst_image);
    if (status != IC_STATUS_SUCCESS) return status;
  }
  return IC_STATUS_SUCCESS;
}
