/*
 * core-round-trip.h — the core-to-core round trip between CPUs 0 and 1, for the headers of
 * the C benchmarks: two threads pinned there bench_bounce one cache line. On a VM it tells which
 * phase the machine is in (this one moves between ~160 and ~500 ns), and multithreaded times
 * with fine-grained sharing between the cores depend on it. Linux only (0 elsewhere, or when
 * the process may not run on both CPUs). Needs _GNU_SOURCE before any system header.
 */
#ifndef IC_BENCH_CORE_ROUND_TRIP_H
#define IC_BENCH_CORE_ROUND_TRIP_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

static double bench_now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

#ifdef __linux__
enum { IC_BENCH_BOUNCES = 100000 };
static _Alignas(64) atomic_int bench_bounce;

static void bench_pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void* bench_bounce_back(void* arg) {
  (void)arg;
  bench_pin(1);
  for (int i = 0; i < IC_BENCH_BOUNCES; i++) {
    while (atomic_load(&bench_bounce) != 2 * i + 1) {
    }
    atomic_store(&bench_bounce, 2 * i + 2);
  }
  return NULL;
}

/* Nanoseconds per round trip, or 0 when the two threads cannot be pinned apart. */
static double core_round_trip_ns(void) {
  pthread_t other;
  cpu_set_t saved;
  if (pthread_getaffinity_np(pthread_self(), sizeof saved, &saved) != 0) return 0.0;
  if (!CPU_ISSET(0, &saved) || !CPU_ISSET(1, &saved)) return 0.0;
  atomic_store(&bench_bounce, 0);
  if (pthread_create(&other, NULL, bench_bounce_back, NULL) != 0) return 0.0;
  bench_pin(0);
  const double start = bench_now_seconds();
  for (int i = 0; i < IC_BENCH_BOUNCES; i++) {
    atomic_store(&bench_bounce, 2 * i + 1);
    while (atomic_load(&bench_bounce) != 2 * i + 2) {
    }
  }
  const double seconds = bench_now_seconds() - start;
  pthread_join(other, NULL);
  pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);
  return seconds / IC_BENCH_BOUNCES * 1e9;
}
#else
static double core_round_trip_ns(void) { return 0.0; }
#endif

#endif /* IC_BENCH_CORE_ROUND_TRIP_H */
