/*
 * The context: num_threads - 1 persistent worker threads plus the caller of each run.
 *
 * ic_parallelize splits the task indices into one contiguous range per thread; each thread
 * runs its own range, then takes what is left of the others' (ic_run_tasks). Tasks are
 * independent output slices (see ic_tiling_t), so whichever thread takes a task, the result
 * is the same.
 *
 * One run at a time owns the workers: a run try-locks `owner`, and if another run holds it,
 * it simply executes all its tasks on its own thread. That keeps concurrent runs on one
 * context safe and deadlock-free (including a task that itself calls ic_parallelize) at the
 * cost of parallelism under contention — and, because tasks do not care who runs them, with
 * bit-identical results.
 *
 * Hand-off (ic_dispatch): the owner writes the job, opens a new generation in `state` and
 * wakes sleeping workers; a worker joins the job with a compare-and-swap on `state`, runs
 * tasks until every range is empty and leaves. The owner, once every task is taken, closes
 * the job in the same word and waits only for the workers that joined; one that wakes later
 * finds the job closed and skips it. So no run waits for a sleeping thread to wake, and no
 * worker touches a job after its run returned.
 *
 * Spinning: waking a sleeping thread costs a futex call and, in a virtual machine, an
 * interrupt to a halted vCPU: from 8 us to several ms here, as long as a layer or ten. So a
 * worker that finished a job spins (with `pause`) for up to `spin_ns` for the next one before
 * sleeping on `wake`; layers run back to back then find their workers awake.
 * INVCONV_SPIN_US (read at ic_context_create, default 50, 0 = never spin) sets the bound.
 * Measured on the 2-vCPU VM: without spinning a worker woke so late that the caller had done
 * nearly every task itself (3x3 conv, 56x56x64: 1.12 ms on 2 threads, 0.61 ms with spinning).
 * A spinner yields the CPU every 64 pauses: when the machine is oversubscribed and the thread
 * it waits for was scheduled on the same CPU, a pure spin kept that thread off it for a whole
 * time slice (an involution that takes 0.3 ms took 2.3 ms with a 1 ms spin and other load).
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
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

enum { IC_MAX_THREADS = 1024 };

/* The tasks a participant starts with: [next, end), taken with fetch_add by it and, once
 * it is done with its own, by the others. On a cache line of its own: the owners of
 * neighbouring ranges take from them concurrently. */
typedef struct ic_task_range {
  _Alignas(64) atomic_size_t next;
  size_t end;
} ic_task_range_t;

struct ic_context {
  int32_t num_threads;
  int32_t worker_count; /* workers actually started */
  pthread_t* workers;
  pthread_mutex_t owner; /* held by the run that is using the workers */

  /* The job: written by the owner before it opens the job in `state`, read by the workers
   * that join it. */
  ic_task_fn fn;
  void* arg;
  ic_task_range_t* ranges; /* one per participant (the owner is 0), worker_count + 1 */

  /* [63:32] job generation, bit 31 closed, [30:0] workers that joined the job. Joining and
   * closing are changes of this one word, so a worker either joined before the owner closed
   * the job (and the owner waits for it to leave) or sees it closed and skips it. */
  atomic_uint_fast64_t state;
  int64_t spin_ns; /* how long an idle worker spins before sleeping (INVCONV_SPIN_US) */
  atomic_bool stopping;
  pthread_mutex_t mutex; /* with `wake`: sleeping workers, and stop */
  pthread_cond_t wake;   /* workers: a new generation or stop */
  bool stop;

  void* scratch; /* the owning run's scratch (ic_run_scratch), guarded by `owner` */
  size_t scratch_bytes;
};

enum { IC_STATE_GENERATION_SHIFT = 32 };
#define IC_STATE_CLOSED ((uint_fast64_t)1 << 31)
#define IC_STATE_JOINED_MASK (IC_STATE_CLOSED - 1)

static uint32_t ic_state_generation(uint_fast64_t state) {
  return (uint32_t)(state >> IC_STATE_GENERATION_SHIFT);
}

typedef struct ic_worker_start {
  ic_context_t* context;
  uint32_t index;
} ic_worker_start_t;

/* Participant `thread_index` runs its own range of tasks, then helps the others with theirs
 * (taking from the front, in thread order). Why ranges and not one shared counter: a
 * participant then runs the same contiguous part of every operator's tasks — operators
 * enumerate tasks in image order, rows outermost where they can — so it finds the rows it
 * packed, and the previous layer's output it wrote, in its own cache. Data written by another
 * core is slow to read here (measured on the 2-vCPU VM: 256 KB in about 27 us against 2 us
 * from the own L2), and a shared counter hands neighbouring tasks to alternating threads. */
static void ic_run_tasks(ic_context_t* context, ic_task_fn fn, void* arg,
                         uint32_t thread_index) {
  const uint32_t participants = (uint32_t)context->worker_count + 1;
  for (uint32_t i = 0; i < participants; i++) {
    ic_task_range_t* range = &context->ranges[(thread_index + i) % participants];
    for (;;) {
      const size_t task = atomic_fetch_add_explicit(&range->next, 1, memory_order_relaxed);
      if (task >= range->end) break;
      fn(arg, task, thread_index);
    }
  }
}

enum { IC_SPIN_MICROSECONDS = 50, IC_SPIN_MAX_MICROSECONDS = 1000000 };

/* INVCONV_SPIN_US as nanoseconds: a decimal count of microseconds, else the default. */
static int64_t ic_spin_setting(void) {
  const char* text = getenv("INVCONV_SPIN_US");
  if (text == NULL || *text == '\0') return (int64_t)IC_SPIN_MICROSECONDS * 1000;
  int64_t value = 0;
  for (; *text >= '0' && *text <= '9'; text++) {
    value = value * 10 + (*text - '0');
    if (value > IC_SPIN_MAX_MICROSECONDS) value = IC_SPIN_MAX_MICROSECONDS;
  }
  return *text == '\0' ? value * 1000 : (int64_t)IC_SPIN_MICROSECONDS * 1000;
}

static void ic_pause(void) {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
  __builtin_ia32_pause();
#endif
}

static int64_t ic_nanoseconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Spins (pausing, and yielding the CPU every 64 pauses) for up to spin_ns until the job
 * generation differs from `seen` or the context stops. */
static void ic_spin_for_job(ic_context_t* context, uint32_t seen) {
  if (context->spin_ns <= 0) return;
  const int64_t deadline = ic_nanoseconds() + context->spin_ns;
  for (uint32_t i = 1;; i++) {
    const uint_fast64_t state = atomic_load_explicit(&context->state, memory_order_relaxed);
    if (ic_state_generation(state) != seen ||
        atomic_load_explicit(&context->stopping, memory_order_relaxed)) {
      return;
    }
    ic_pause();
    if (i % 64 == 0) {
      if (ic_nanoseconds() > deadline) return;
      sched_yield(); /* a thread of ours may be waiting for this CPU: see the header */
    }
  }
}

/* Joins the job of generation `generation` if it is still open; false if it is closed (the
 * owner already ran every task) or superseded. */
static bool ic_join(ic_context_t* context, uint32_t generation) {
  uint_fast64_t state = atomic_load_explicit(&context->state, memory_order_relaxed);
  for (;;) {
    if (ic_state_generation(state) != generation || (state & IC_STATE_CLOSED) != 0) return false;
    /* Acquire: the job the owner wrote before opening it. */
    if (atomic_compare_exchange_weak_explicit(&context->state, &state, state + 1,
                                              memory_order_acquire, memory_order_relaxed)) {
      return true;
    }
  }
}

static void* ic_worker_main(void* start_arg) {
  ic_worker_start_t* start = start_arg;
  ic_context_t* context = start->context;
  const uint32_t index = start->index;
  free(start);

  uint32_t seen = 0;
  for (;;) {
    ic_spin_for_job(context, seen);
    uint32_t generation =
        ic_state_generation(atomic_load_explicit(&context->state, memory_order_relaxed));
    if (generation == seen) {
      pthread_mutex_lock(&context->mutex);
      for (;;) {
        generation =
            ic_state_generation(atomic_load_explicit(&context->state, memory_order_relaxed));
        if (context->stop || generation != seen) break;
        pthread_cond_wait(&context->wake, &context->mutex);
      }
      const bool stop = context->stop;
      pthread_mutex_unlock(&context->mutex);
      if (stop) break;
    }
    if (atomic_load_explicit(&context->stopping, memory_order_relaxed)) break;
    seen = generation;
    if (!ic_join(context, generation)) continue; /* woke too late: the owner did it all */
    ic_run_tasks(context, context->fn, context->arg, index);
    /* Release: everything this worker did happens before the owner sees it leave. */
    atomic_fetch_sub_explicit(&context->state, 1, memory_order_release);
  }
  return NULL;
}

/* Stops and joins the started workers; frees everything. Safe on a half-built context. */
static void ic_context_free(ic_context_t* context) {
  pthread_mutex_lock(&context->mutex);
  context->stop = true;
  atomic_store_explicit(&context->stopping, true, memory_order_relaxed);
  pthread_cond_broadcast(&context->wake);
  pthread_mutex_unlock(&context->mutex);
  for (int32_t i = 0; i < context->worker_count; i++) pthread_join(context->workers[i], NULL);
  pthread_cond_destroy(&context->wake);
  pthread_mutex_destroy(&context->mutex);
  pthread_mutex_destroy(&context->owner);
  ic_scratch_free(context->scratch);
  ic_aligned_free(context->ranges);
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
  /* Ranges for every participant the context can have (its workers and the owner). */
  context->ranges = ic_aligned_alloc((size_t)num_threads * sizeof(ic_task_range_t));
  if (context->ranges == NULL) {
    ic_context_free(context);
    return ic_error(IC_STATUS_OUT_OF_MEMORY, "context: out of memory");
  }
  for (int32_t i = 0; i < num_threads; i++) {
    atomic_init(&context->ranges[i].next, 0);
    context->ranges[i].end = 0;
  }
  context->spin_ns = ic_spin_setting();
  atomic_init(&context->state, IC_STATE_CLOSED); /* generation 0: nothing to join */
  atomic_init(&context->stopping, false);

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

/* Runs the tasks on the workers of a context whose owner lock the caller holds. The caller
 * never waits for a worker that is still asleep: it runs every task nobody else took, closes
 * the job, and waits only for the workers that joined it to finish their last task. (Waking
 * a sleeping thread took from 8 us to several ms on the 2-vCPU VM; a worker that wakes after
 * the job is closed simply skips it.) */
static void ic_dispatch(ic_context_t* context, size_t task_count, ic_task_fn fn, void* arg) {
  context->fn = fn;
  context->arg = arg;
  /* Contiguous, near-equal ranges in participant order. */
  const size_t participants = (size_t)context->worker_count + 1;
  for (size_t i = 0; i < participants; i++) {
    atomic_store_explicit(&context->ranges[i].next, task_count * i / participants,
                          memory_order_relaxed);
    context->ranges[i].end = task_count * (i + 1) / participants;
  }
  /* Open the next generation (the previous one is closed with nobody joined). Release: the
   * job above happens before any worker joins. */
  const uint_fast64_t previous = atomic_load_explicit(&context->state, memory_order_relaxed);
  const uint_fast64_t next = (uint_fast64_t)(ic_state_generation(previous) + 1u)
                             << IC_STATE_GENERATION_SHIFT;
  atomic_store_explicit(&context->state, next, memory_order_release);
  pthread_mutex_lock(&context->mutex);
  pthread_cond_broadcast(&context->wake);
  pthread_mutex_unlock(&context->mutex);

  ic_run_tasks(context, fn, arg, 0);

  /* Every task is taken. Close the job, then wait for the workers that joined it. */
  uint_fast64_t state =
      atomic_fetch_or_explicit(&context->state, IC_STATE_CLOSED, memory_order_acquire) |
      IC_STATE_CLOSED;
  for (uint32_t i = 1; (state & IC_STATE_JOINED_MASK) != 0; i++) {
    ic_pause();
    if (i % 64 == 0) sched_yield(); /* a joined worker may be waiting for this CPU */
    state = atomic_load_explicit(&context->state, memory_order_acquire);
  }
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

static void ic_scratch_key_destroy(void* data) { ic_scratch_free(data); }

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
  ic_scratch_free(*data);
  *data = ic_scratch_alloc(bytes);
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
      ic_scratch_free(cache->data);
      cache->bytes = 0;
      cache->data = ic_scratch_alloc(bytes);
      if (cache->data != NULL && pthread_setspecific(ic_scratch_key, cache->data) != 0) {
        ic_scratch_free(cache->data); /* could not be freed at thread exit: do not keep it */
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
  ic_scratch_free(run->temporary);
  run->temporary = ic_scratch_alloc(bytes);
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
  ic_scratch_free(run->temporary);
  if (run->context != NULL) pthread_mutex_unlock(&run->context->owner);
  run->context = NULL;
  run->temporary = NULL;
  run->thread_cache = false;
}
