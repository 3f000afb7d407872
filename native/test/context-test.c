/*
 * The thread pool's hand-out of tasks (src/common/context.c): every task runs exactly once,
 * on a thread index below the context's thread count, for task counts below, at and far
 * above the thread count, also nested; and each participant starts on its own contiguous
 * range of tasks. Also run under ThreadSanitizer.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"
#include "testing.h"

enum { MAX_TASKS = 5000 };

typedef struct counts {
  atomic_int runs[MAX_TASKS];
  atomic_int bad_thread;
  int32_t threads;
  ic_context_t* context; /* for the nested runs */
} counts_t;

static void count_task(void* arg, size_t task, uint32_t thread_index) {
  counts_t* c = arg;
  atomic_fetch_add(&c->runs[task], 1);
  if ((int32_t)thread_index >= c->threads) atomic_fetch_add(&c->bad_thread, 1);
}

static void check_each_task_once(ic_context_t* context, int32_t threads, size_t tasks) {
  static counts_t c;
  for (size_t i = 0; i < MAX_TASKS; i++) atomic_init(&c.runs[i], 0);
  atomic_init(&c.bad_thread, 0);
  c.threads = threads;
  ic_parallelize(context, tasks, count_task, &c);
  for (size_t i = 0; i < MAX_TASKS; i++) {
    const int expected = i < tasks ? 1 : 0;
    CHECK_MSG(atomic_load(&c.runs[i]) == expected, "%d threads, %zu tasks: task %zu ran %d times",
              (int)threads, tasks, i, atomic_load(&c.runs[i]));
  }
  CHECK_MSG(atomic_load(&c.bad_thread) == 0, "%d threads, %zu tasks: thread index out of range",
            (int)threads, tasks);
}

static void test_every_task_runs_once(void) {
  static const size_t task_counts[] = {0, 1, 2, 3, 4, 5, 7, 16, 97, 1000, MAX_TASKS};
  for (int32_t threads = 1; threads <= 5; threads++) {
    ic_context_t* context = NULL;
    CHECK_OK(ic_context_create(threads, &context));
    for (size_t k = 0; k < sizeof task_counts / sizeof task_counts[0]; k++) {
      test_set_problem("ic_parallelize threads=%d tasks=%zu", (int)threads, task_counts[k]);
      for (int repeat = 0; repeat < 3; repeat++) check_each_task_once(context, threads, task_counts[k]);
    }
    ic_context_destroy(context);
  }
  check_each_task_once(NULL, 1, 100); /* no context: the caller runs everything */
}

/* A task that itself parallelizes on the same context: the inner run finds the workers taken
 * and runs on its own thread; every inner task still runs once. */
static atomic_int nested_inner_runs;

static void inner_task(void* arg, size_t task, uint32_t thread_index) {
  (void)arg, (void)task, (void)thread_index;
  atomic_fetch_add(&nested_inner_runs, 1);
}

static void outer_task(void* arg, size_t task, uint32_t thread_index) {
  (void)task, (void)thread_index;
  ic_parallelize((ic_context_t*)arg, 10, inner_task, NULL);
}

static void test_nested_runs(void) {
  ic_context_t* context = NULL;
  CHECK_OK(ic_context_create(3, &context));
  atomic_init(&nested_inner_runs, 0);
  ic_parallelize(context, 20, outer_task, context);
  CHECK_MSG(atomic_load(&nested_inner_runs) == 200, "nested: %d inner runs",
            atomic_load(&nested_inner_runs));
  ic_context_destroy(context);
}

/* Each participant begins with its own contiguous range of tasks and takes from the others'
 * ranges only once its own is empty, never coming back to it. So a thread whose first task
 * lies outside its own range runs no task of its range (others emptied it before it woke).
 * A shared counter would fail this at once: thread 1 would begin near task 1 and later run
 * tasks of the middle third. */
enum { ROUND_TASKS = 100, ROUND_THREADS = 3 };
static atomic_int first_task[ROUND_THREADS];
static atomic_int task_thread[ROUND_TASKS];

static void record_task(void* arg, size_t task, uint32_t thread_index) {
  (void)arg;
  int none = -1;
  atomic_compare_exchange_strong(&first_task[thread_index], &none, (int)task);
  atomic_store(&task_thread[task], (int)thread_index);
}

static void test_each_thread_starts_on_its_own_range(void) {
  ic_context_t* context = NULL;
  CHECK_OK(ic_context_create(ROUND_THREADS, &context));
  int in_own_range = 0, ran = 0;
  for (int round = 0; round < 200; round++) {
    for (int t = 0; t < ROUND_THREADS; t++) atomic_store(&first_task[t], -1);
    ic_parallelize(context, ROUND_TASKS, record_task, NULL);
    for (int t = 0; t < ROUND_THREADS; t++) {
      const int first = atomic_load(&first_task[t]);
      if (first < 0) continue;
      ran++;
      const int begin = ROUND_TASKS * t / ROUND_THREADS, end = ROUND_TASKS * (t + 1) / ROUND_THREADS;
      if (first >= begin && first < end) {
        in_own_range++;
        continue;
      }
      for (int task = begin; task < end; task++) {
        CHECK_MSG(atomic_load(&task_thread[task]) != t,
                  "round %d: thread %d began with task %d outside its range [%d, %d) but later "
                  "ran task %d of it", round, t, first, begin, end, task);
      }
    }
  }
  printf("%d of %d threads that ran tasks began in their own range\n", in_own_range, ran);
  ic_context_destroy(context);
}

int main(int argc, char** argv) {
  test_init(argc, argv, 5);
  RUN_TEST(test_every_task_runs_once);
  RUN_TEST(test_nested_runs);
  RUN_TEST(test_each_thread_starts_on_its_own_range);
  return test_finish();
}
