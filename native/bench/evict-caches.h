/*
 * evict-caches.h — the --cold option of the C benchmarks: reads a buffer far larger than the
 * caches before each timed run, so that the run finds its weights, activations and scratch in
 * memory, as a layer does inside a network (ResNet-50 streams ~100 MB of weights between two
 * uses of one layer's). Only the calling thread reads: a worker's own L2 may keep up to its
 * size of the previous run's data. Run with INVCONV_SPIN_US=10000 so that the pool's workers
 * stay awake through the read.
 */
#ifndef IC_BENCH_EVICT_CACHES_H
#define IC_BENCH_EVICT_CACHES_H

#include <stdlib.h>

enum { IC_BENCH_EVICT_BYTES = 128 << 20 };
static volatile float bench_evict_sink;

static void bench_evict_caches(void) {
  static float* buffer = NULL;
  const size_t count = IC_BENCH_EVICT_BYTES / sizeof(float);
  if (buffer == NULL) {
    buffer = malloc(IC_BENCH_EVICT_BYTES);
    if (buffer == NULL) abort();
    for (size_t i = 0; i < count; i++) buffer[i] = (float)(i & 1023);
  }
  float sum = 0.0f;
  for (size_t i = 0; i < count; i += 16) sum += buffer[i]; /* one float per cache line */
  bench_evict_sink = sum;
}

#endif
