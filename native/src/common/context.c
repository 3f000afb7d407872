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
 *
 * Scratch memory (ic_run_*): operators need temporary buffers (packed activations, tiles) and
 * may not allocate on the hot path of run. A run that owns the workers takes its scratch from
 * the context (one buffer, grown on demand under the owner lock and kept until
 * ic_context_destroy); a run without the workers (NULL context, or another run holds them)
 * takes it from a cache of the calling thread (grown on demand, freed when the thread exits).
 * Either way the memory is reused from run to run, so only the first run of the largest
 * layer allocates. A nested run on a thread whose cache is in use gets a temporary buffer.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
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

  void* scratch; /* the owning run's scratch (ic_run_scratch), guarded by `owner` */
  size_t scratch_bytes;
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
  ic_aligned_free(context->scratch);
  free(context->workers);
  free(context);
}

/* Starts the workers one by one; on failure, those started are stopped by ic_context_free. */
static ic_status_t ic_start_workers(ic_context_t* context, int32_t wanted) {
  if (wanted > 0) {
    context->workers = calloc((size_t)wanted, sizeof *context->workers);
    if (context->workers == NULL) {
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
      return ic_error(IC_STATUS_OUT_OF_MEMORY,
                      "context: could not start worker thread %d of %d (error %d)", (int)i + 1,
                      (int)wanted, error);
    }
    context->worker_count = i + 1;
  }
  return IC_STATUS_SUCCESS;
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

  /* Workers inherit the signal mask of the thread that creates them: block every signal that
   * can be blocked safely, so that process signals (SIGINT, SIGTERM, SIGQUIT, ...) reach the
   * application's own threads — the JVM expects to handle them there. Faults stay unblocked:
   * blocking a synchronous SIGSEGV is undefined. */
  sigset_t all, saved;
  sigfillset(&all);
  sigdelset(&all, SIGSEGV);
  sigdelset(&all, SIGBUS);
  sigdelset(&all, SIGFPE);
  sigdelset(&all, SIGILL);
  pthread_sigmask(SIG_BLOCK, &all, &saved);
  const ic_status_t status = ic_start_workers(context, num_threads - 1);
  pthread_sigmask(SIG_SETMASK, &saved, NULL);
  if (status != IC_STATUS_SUCCESS) {
    ic_context_free(context);
    return status;
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

/* Runs the tasks on the workers of a context whose owner lock the caller holds. */
static void ic_dispatch(ic_context_t* context, size_t task_count, ic_task_fn fn, void* arg) {
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
}

void ic_parallelize(ic_context_t* context, size_t task_count, ic_task_fn fn, void* arg) {
  ic_run_t run;
  ic_run_begin(&run, context);
  ic_run_parallelize(&run, task_count, fn, arg);
  ic_run_end(&run);
}

/* ---------------------------------------------------------------------------------------------
 * Runs and scratch
 * ------------------------------------------------------------------------------------------- */

/* The calling thread's scratch cache. The key's destructor frees the buffer when the thread
 * exits (the key's value is the buffer itself). */
typedef struct ic_thread_scratch {
  void* data;
  size_t bytes;
  bool busy;
} ic_thread_scratch_t;

static _Thread_local ic_thread_scratch_t ic_thread_scratch;
static pthread_once_t ic_scratch_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t ic_scratch_key;
static bool ic_scratch_key_ready;

static void ic_scratch_key_destroy(void* data) { ic_aligned_free(data); }

static void ic_scratch_key_init(void) {
  ic_scratch_key_ready = pthread_key_create(&ic_scratch_key, ic_scratch_key_destroy) == 0;
}

void ic_run_begin(ic_run_t* run, ic_context_t* context) {
  run->context = NULL;
  run->threads = 1;
  run->temporary = NULL;
  run->thread_cache = false;
  if (context != NULL && pthread_mutex_trylock(&context->owner) == 0) {
    run->context = context;
    run->threads = (uint32_t)context->num_threads;
  }
}

/* Grows *data to at least `bytes` (contents are not kept). False on failure, with *data NULL. */
static bool ic_grow(void** data, size_t* capacity, size_t bytes) {
  if (*data != NULL && *capacity >= bytes) return true;
  ic_aligned_free(*data);
  *data = ic_aligned_alloc(bytes);
  *capacity = *data != NULL ? bytes : 0;
  return *data != NULL;
}

void* ic_run_scratch(ic_run_t* run, size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (run->context != NULL) {
    ic_context_t* context = run->context;
    return ic_grow(&context->scratch, &context->scratch_bytes, bytes) ? context->scratch : NULL;
  }
  pthread_once(&ic_scratch_key_once, ic_scratch_key_init);
  ic_thread_scratch_t* cache = &ic_thread_scratch;
  if (!run->thread_cache && !cache->busy && ic_scratch_key_ready) {
    if (cache->data == NULL || cache->bytes < bytes) {
      /* The key never names a freed buffer: clear it, replace the buffer, then set it. */
      pthread_setspecific(ic_scratch_key, NULL);
      ic_aligned_free(cache->data);
      cache->bytes = 0;
      cache->data = ic_aligned_alloc(bytes);
      if (cache->data != NULL && pthread_setspecific(ic_scratch_key, cache->data) != 0) {
        ic_aligned_free(cache->data); /* could not be freed at thread exit: do not keep it */
        cache->data = NULL;
      }
      if (cache->data != NULL) cache->bytes = bytes;
    }
    if (cache->data != NULL) {
      cache->busy = true;
      run->thread_cache = true;
      return cache->data;
    }
  }
  ic_aligned_free(run->temporary);
  run->temporary = ic_aligned_alloc(bytes);
  return run->temporary;
}

void ic_run_parallelize(ic_run_t* run, size_t task_count, ic_task_fn fn, void* arg) {
  ic_context_t* context = run->context;
  if (context == NULL || context->worker_count == 0 || task_count <= 1) {
    for (size_t task = 0; task < task_count; task++) fn(arg, task, 0);
    return;
  }
  ic_dispatch(context, task_count, fn, arg);
}

void ic_run_end(ic_run_t* run) {
  if (run->thread_cache) ic_thread_scratch.busy = false;
  ic_aligned_free(run->temporary);
  if (run->context != NULL) pthread_mutex_unlock(&run->context->owner);
  run->context = NULL;
  run->temporary = NULL;
  run->thread_cache = false;
}
