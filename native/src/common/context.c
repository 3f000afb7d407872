/*
 * The context: num_threads - 1 persistent worker threads plus the caller of each run.
 *
 * ic_parallelize hands out task indices from an atomic counter; tasks are independent output
 * slices (see ic_tiling_t), so whichever thread takes a task, the result is the same.
 *
 * One run at a time owns the workers: a run try-locks `owner`, and if another run holds it,
 * it simply executes all its tasks on its own thread. That keeps concurrent runs on one
 * context safe and deadlock-free (including a task that itself calls ic_parallelize) at the
 * cost of parallelism under contention — and, because tasks do not care who runs them, with
 * bit-identical results.
 *
 * Hand-off: the owner publishes the job under `mutex`, bumps `generation` and wakes the
 * workers; each worker works until the counter runs out, then decrements `busy`; the owner
 * returns once `busy` is 0, so no worker can still be touching the job afterwards.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

enum { IC_MAX_THREADS = 1024 };

struct ic_context {
  int32_t num_threads;
  int32_t worker_count; /* workers actually started */
  pthread_t* workers;
  pthread_mutex_t owner; /* held by the run that is using the workers */

  pthread_mutex_t mutex; /* guards everything below except next_task */
  pthread_cond_t wake;   /* workers: a new generation or stop */
  pthread_cond_t done;   /* owner: busy reached 0 */
  uint64_t generation;
  int32_t busy;
  bool stop;
  ic_task_fn fn;
  void* arg;
  size_t task_count;
  atomic_size_t next_task;
};

typedef struct ic_worker_start {
  ic_context_t* context;
  uint32_t index;
} ic_worker_start_t;

static void ic_run_tasks(ic_context_t* context, ic_task_fn fn, void* arg, size_t task_count,
                         uint32_t thread_index) {
  for (;;) {
    const size_t task = atomic_fetch_add_explicit(&context->next_task, 1, memory_order_relaxed);
    if (task >= task_count) return;
    fn(arg, task, thread_index);
  }
}

static void* ic_worker_main(void* start_arg) {
  ic_worker_start_t* start = start_arg;
  ic_context_t* context = start->context;
  const uint32_t index = start->index;
  free(start);

  uint64_t seen = 0;
  pthread_mutex_lock(&context->mutex);
  for (;;) {
    while (!context->stop && context->generation == seen) {
      pthread_cond_wait(&context->wake, &context->mutex);
    }
    if (context->stop) break;
    seen = context->generation;
    const ic_task_fn fn = context->fn;
    void* const arg = context->arg;
    const size_t task_count = context->task_count;
    pthread_mutex_unlock(&context->mutex);

    ic_run_tasks(context, fn, arg, task_count, index);

    pthread_mutex_lock(&context->mutex);
    if (--context->busy == 0) pthread_cond_signal(&context->done);
  }
  pthread_mutex_unlock(&context->mutex);
  return NULL;
}

/* Stops and joins the started workers; frees everything. Safe on a half-built context. */
static void ic_context_free(ic_context_t* context) {
  pthread_mutex_lock(&context->mutex);
  context->stop = true;
  pthread_cond_broadcast(&context->wake);
  pthread_mutex_unlock(&context->mutex);
  for (int32_t i = 0; i < context->worker_count; i++) pthread_join(context->workers[i], NULL);
  pthread_cond_destroy(&context->done);
  pthread_cond_destroy(&context->wake);
  pthread_mutex_destroy(&context->mutex);
  pthread_mutex_destroy(&context->owner);
  free(context->workers);
  free(context);
}

static int32_t ic_online_cpus(void) {
  const long count = sysconf(_SC_NPROCESSORS_ONLN);
  if (count < 1) return 1;
  return count > IC_MAX_THREADS ? IC_MAX_THREADS : (int32_t)count;
}

ic_status_t ic_context_create(int32_t num_threads, ic_context_t** context_out) {
  if (context_out == NULL) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT, "context: context_out is NULL");
  }
  *context_out = NULL;
  if (num_threads < 0) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "context: num_threads=%d must be positive, or 0 for one per online CPU",
                    (int)num_threads);
  }
  if (num_threads > IC_MAX_THREADS) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT, "context: num_threads=%d exceeds the limit of %d",
                    (int)num_threads, IC_MAX_THREADS);
  }
  if (num_threads == 0) num_threads = ic_online_cpus();

  ic_context_t* context = calloc(1, sizeof *context);
  if (context == NULL) {
    return ic_error(IC_STATUS_OUT_OF_MEMORY, "context: out of memory");
  }
  context->num_threads = num_threads;
  pthread_mutex_init(&context->owner, NULL);
  pthread_mutex_init(&context->mutex, NULL);
  pthread_cond_init(&context->wake, NULL);
  pthread_cond_init(&context->done, NULL);
  atomic_init(&context->next_task, 0);

  const int32_t wanted = num_threads - 1;
  if (wanted > 0) {
    context->workers = calloc((size_t)wanted, sizeof *context->workers);
    if (context->workers == NULL) {
      ic_context_free(context);
      return ic_error(IC_STATUS_OUT_OF_MEMORY, "context: out of memory for %d workers",
                      (int)wanted);
    }
  }
  for (int32_t i = 0; i < wanted; i++) {
    ic_worker_start_t* start = malloc(sizeof *start);
    int error = ENOMEM;
    if (start != NULL) {
      start->context = context;
      start->index = (uint32_t)i + 1;
      error = pthread_create(&context->workers[i], NULL, ic_worker_main, start);
      if (error != 0) free(start);
    }
    if (error != 0) {
      ic_context_free(context);
      return ic_error(IC_STATUS_OUT_OF_MEMORY,
                      "context: could not start worker thread %d of %d (error %d)", (int)i + 1,
                      (int)wanted, error);
    }
    context->worker_count = i + 1;
  }
  *context_out = context;
  return IC_STATUS_SUCCESS;
}

int32_t ic_context_num_threads(const ic_context_t* context) {
  return context != NULL ? context->num_threads : 1;
}

void ic_context_destroy(ic_context_t* context) {
  if (context != NULL) ic_context_free(context);
}

void ic_parallelize(ic_context_t* context, size_t task_count, ic_task_fn fn, void* arg) {
  if (context == NULL || context->worker_count == 0 || task_count <= 1 ||
      pthread_mutex_trylock(&context->owner) != 0) {
    for (size_t task = 0; task < task_count; task++) fn(arg, task, 0);
    return;
  }

  pthread_mutex_lock(&context->mutex);
  context->fn = fn;
  context->arg = arg;
  context->task_count = task_count;
  atomic_store_explicit(&context->next_task, 0, memory_order_relaxed);
  context->busy = context->worker_count;
  context->generation++;
  pthread_cond_broadcast(&context->wake);
  pthread_mutex_unlock(&context->mutex);

  ic_run_tasks(context, fn, arg, task_count, 0);

  pthread_mutex_lock(&context->mutex);
  while (context->busy > 0) pthread_cond_wait(&context->done, &context->mutex);
  pthread_mutex_unlock(&context->mutex);
  pthread_mutex_unlock(&context->owner);
}
