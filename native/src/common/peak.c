/*
 * The machine's yardsticks for benchmarks: ic_measure_peak_gflops (fp32 peak, for "% of peak"
 * of compute-bound layers) and ic_measure_bandwidth_gbps (memory bandwidth, for the
 * memory-bound ones: depthwise).
 *
 * ic_measure_peak_gflops:
 *
 * Every thread of the context runs the active ISA's probe (src/f32-peak/: independent chains
 * of multiply-adds on the widest registers) in short batches until a common deadline. The
 * first tenth of the time is a warm-up that is not counted (clock ramp-up, the frequency
 * licence of wide vectors); the result is every counted FLOP divided by the wall-clock span
 * from the first counted batch's start to the last one's end. Threads that start late or are
 * descheduled only lower the figure: it never counts work that did not happen in that span.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "ukernels.h"

static const char ic_op[] = "ic_measure_peak_gflops";

/* Iterations per batch: about 0.1 ms on any ISA, so deadlines are met closely. */
enum { IC_PEAK_BATCH = 1 << 14 };

/* One task's counters, padded to a cache line so that threads do not share lines. */
typedef struct ic_peak_slot {
  double flops;      /* counted FLOPs */
  double first, end; /* start of the first counted batch, end of the last one */
  float sink;
  char padding[64 - 3 * sizeof(double) - sizeof(float)];
} ic_peak_slot_t;

typedef struct ic_peak_job {
  ic_f32_peak_ukernel_fn fn;
  double count_from, stop_at; /* monotonic seconds */
  ic_peak_slot_t* slots;
} ic_peak_job_t;

static double ic_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void ic_peak_task(void* arg, size_t task, uint32_t thread_index) {
  (void)thread_index;
  const ic_peak_job_t* job = arg;
  ic_peak_slot_t* slot = &job->slots[task];
  ic_f32_peak_result_t result = {0.0f, 0.0};
  /* |multiplier| < 1: the chains converge to addend / (1 - multiplier) and stay normal. */
  const ic_f32_peak_args_t args = {IC_PEAK_BATCH, 0.999f, 0.001f * (float)(task + 1), &result};
  slot->flops = 0.0;
  slot->first = slot->end = 0.0;
  float sink = 0.0f;
  for (double start = ic_now(); start < job->stop_at;) {
    job->fn(&args);
    const double end = ic_now();
    sink += result.sum;
    if (start >= job->count_from) {
      if (slot->flops == 0.0) slot->first = start;
      slot->flops += result.flops;
      slot->end = end;
    }
    start = end;
  }
  slot->sink = sink;
}

ic_status_t ic_measure_peak_gflops(ic_context_t* context, double seconds, double* gflops_out) {
  if (gflops_out == NULL) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT, "ic_measure_peak_gflops: gflops_out is NULL");
  }
  *gflops_out = 0.0;
  if (!(seconds >= 0.05 && seconds <= 10.0)) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "ic_measure_peak_gflops: seconds=%g must be between 0.05 and 10", seconds);
  }
  const int32_t threads = ic_context_num_threads(context);
  ic_peak_slot_t* slots = ic_aligned_alloc((size_t)threads * sizeof *slots);
  if (slots == NULL) {
    return ic_error(IC_STATUS_OUT_OF_MEMORY, "%s: out of memory for %d counters", ic_op,
                    (int)threads);
  }
  ic_ukernel_info_t info;
  const double now = ic_now();
  ic_peak_job_t job = {
      .fn = ic_select_f32_peak_ukernel(ic_active_isa(), &info),
      .count_from = now + 0.1 * seconds,
      .stop_at = now + seconds,
      .slots = slots,
  };
  ic_parallelize(context, (size_t)threads, ic_peak_task, &job);

  double flops = 0.0, first = INFINITY, end = 0.0;
  for (int32_t i = 0; i < threads; i++) {
    if (slots[i].flops == 0.0) continue;
    flops += slots[i].flops;
    first = fmin(first, slots[i].first);
    end = fmax(end, slots[i].end);
  }
  ic_aligned_free(slots);
  if (!(flops > 0.0 && end > first)) {
    return ic_error(IC_STATUS_INTERNAL_ERROR,
                    "%s: no batch of %s completed in the measured %g s", ic_op, info.name,
                    0.9 * seconds);
  }
  *gflops_out = flops / (end - first) * 1e-9;
  return IC_STATUS_SUCCESS;
}

/* ---------------------------------------------------------------------------------------------
 * ic_measure_bandwidth_gbps: STREAM's "copy" on the context's threads. Two buffers far larger
 * than the caches; a pass copies one into the other in chunks spread over the threads (each
 * thread a contiguous range: ic_run_tasks), timed as a whole; bytes read plus bytes written
 * over the best pass's time. One untimed pass first (page faults, thread wake-up).
 * ------------------------------------------------------------------------------------------- */

static const char ic_bandwidth_op[] = "ic_measure_bandwidth_gbps";

enum { IC_BANDWIDTH_BYTES = 64 << 20, IC_BANDWIDTH_CHUNK = 256 << 10 };

typedef struct ic_copy_job {
  const char* src;
  char* dst;
} ic_copy_job_t;

static void ic_copy_task(void* arg, size_t task, uint32_t thread_index) {
  (void)thread_index;
  const ic_copy_job_t* job = arg;
  const size_t offset = task * (size_t)IC_BANDWIDTH_CHUNK;
  memcpy(job->dst + offset, job->src + offset, IC_BANDWIDTH_CHUNK);
}

ic_status_t ic_measure_bandwidth_gbps(ic_context_t* context, double seconds, double* gbps_out) {
  if (gbps_out == NULL) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT, "%s: gbps_out is NULL", ic_bandwidth_op);
  }
  *gbps_out = 0.0;
  if (!(seconds >= 0.05 && seconds <= 10.0)) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT, "%s: seconds=%g must be between 0.05 and 10",
                    ic_bandwidth_op, seconds);
  }
  char* src = ic_aligned_alloc(IC_BANDWIDTH_BYTES);
  char* dst = ic_aligned_alloc(IC_BANDWIDTH_BYTES);
  if (src == NULL || dst == NULL) {
    ic_aligned_free(src);
    ic_aligned_free(dst);
    return ic_error(IC_STATUS_OUT_OF_MEMORY, "%s: out of memory for 2 x %d MiB of buffers",
                    ic_bandwidth_op, IC_BANDWIDTH_BYTES >> 20);
  }
  memset(src, 1, IC_BANDWIDTH_BYTES);
  ic_copy_job_t job = {src, dst};
  const size_t tasks = IC_BANDWIDTH_BYTES / IC_BANDWIDTH_CHUNK;
  ic_parallelize(context, tasks, ic_copy_task, &job); /* untimed */
  const double stop_at = ic_now() + seconds;
  double best = INFINITY;
  for (int passes = 0; passes < 2 || ic_now() < stop_at; passes++) {
    const double start = ic_now();
    ic_parallelize(context, tasks, ic_copy_task, &job);
    best = fmin(best, ic_now() - start);
  }
  ic_aligned_free(src);
  ic_aligned_free(dst);
  *gbps_out = 2.0 * IC_BANDWIDTH_BYTES / best * 1e-9;
  return IC_STATUS_SUCCESS;
}
