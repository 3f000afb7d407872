/*
 * The weights' allocator (src/common/memory.c): blocks are 64-byte aligned and never overlap,
 * for sizes from 0 bytes to several 2 MB pages, freed in any order, from several threads at
 * once (also run under ThreadSanitizer; under AddressSanitizer the free space between blocks
 * is poisoned); every region goes back to the system once its blocks are freed. The scratch
 * allocator: 64-byte aligned, every byte usable, small and large. With the argument
 * `huge-pages` (its own ctest target): a large block of weights and a large scratch buffer do
 * get 2 MB pages where the kernel offers transparent huge pages, and the test is skipped
 * (exit 77) where it does not.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "testing.h"

enum { MAX_LIVE = 64, MB = 1 << 20 };

typedef struct block {
  uint8_t* data;
  size_t bytes;
  uint8_t pattern;
} block_t;

/* Sizes spread on a log scale, with the edges of a cache line and of a 2 MB page. */
static size_t random_size(void) {
  static const size_t edges[] = {0, 1, 63, 64, 65, 2 * MB - 192, 2 * MB - 128, 2 * MB - 64,
                                 2 * MB, 2 * MB + 1};
  if (rng_bool(0.2)) return edges[rng_int(0, sizeof edges / sizeof edges[0] - 1)];
  const int64_t bits = rng_int(0, 22); /* up to 4 MB */
  return (size_t)rng_int(0, ((int64_t)1 << bits));
}

/* Blocks are whole cache lines apart, so two that overlapped would share the first byte of a
 * line: marking that byte of every line, and the last byte, finds any overlap. */
static void block_fill(block_t* b) {
  for (size_t i = 0; i < b->bytes; i += 64) b->data[i] = (uint8_t)(b->pattern + i / 64);
  if (b->bytes > 0) b->data[b->bytes - 1] = (uint8_t)(b->pattern + (b->bytes - 1) / 64);
}

static bool block_intact(const block_t* b) {
  for (size_t i = 0; i < b->bytes; i += 64) {
    if (b->data[i] != (uint8_t)(b->pattern + i / 64)) return false;
  }
  return b->bytes == 0 || b->data[b->bytes - 1] == (uint8_t)(b->pattern + (b->bytes - 1) / 64);
}

static bool block_new(block_t* b, size_t bytes, uint8_t pattern) {
  b->data = ic_weights_alloc(bytes);
  b->bytes = bytes;
  b->pattern = pattern;
  if (b->data == NULL) return false;
  block_fill(b);
  return true;
}

/* Allocates and frees at random, MAX_LIVE blocks at most: a block that overlapped another
 * would change its bytes, checked when it is freed. */
static bool churn(int rounds, uint8_t salt, char* failure, size_t failure_size) {
  block_t live[MAX_LIVE] = {{0}};
  int count = 0;
  bool ok = true;
  for (int round = 0; round < rounds && ok; round++) {
    if (count < MAX_LIVE && (count == 0 || rng_bool(0.55))) {
      const size_t bytes = random_size();
      if (!block_new(&live[count], bytes, (uint8_t)(salt + round))) {
        snprintf(failure, failure_size, "round %d: %zu bytes: NULL", round, bytes);
        ok = false;
      } else if ((uintptr_t)live[count].data % 64 != 0) {
        snprintf(failure, failure_size, "round %d: %zu bytes at %p: not 64-byte aligned", round,
                 bytes, (void*)live[count].data);
        ok = false;
      }
      count++;
    } else {
      const int victim = (int)rng_int(0, count - 1);
      if (!block_intact(&live[victim])) {
        snprintf(failure, failure_size, "round %d: a block of %zu bytes was overwritten", round,
                 live[victim].bytes);
        ok = false;
      }
      ic_weights_free(live[victim].data);
      live[victim] = live[--count];
    }
  }
  for (int i = 0; i < count; i++) {
    if (ok && !block_intact(&live[i])) {
      snprintf(failure, failure_size, "at the end: a block of %zu bytes was overwritten",
               live[i].bytes);
      ok = false;
    }
    ic_weights_free(live[i].data);
  }
  return ok;
}

static void test_blocks_aligned_and_disjoint(void) {
  char failure[160] = "";
  const bool ok = churn(1500, 0, failure, sizeof failure);
  CHECK_MSG(ok, "%s", failure);
  CHECK_MSG(ic_weights_reserved_bytes() == 0, "%zu bytes still reserved after every free",
            ic_weights_reserved_bytes());
}

static void test_free_null_and_huge_sizes(void) {
  ic_weights_free(NULL);
  CHECK(ic_weights_alloc(SIZE_MAX) == NULL);
  CHECK(ic_weights_alloc(SIZE_MAX / 2 + 1) == NULL);
  CHECK(ic_weights_copy(NULL, SIZE_MAX / 2) == NULL);
  const float values[3] = {1.5f, -2.0f, 3.25f};
  float* copy = ic_weights_copy(values, 3);
  CHECK(copy != NULL && memcmp(copy, values, sizeof values) == 0);
  ic_weights_free(copy);
  CHECK(ic_weights_reserved_bytes() == 0);
}

/* Blocks of one region, freed in the order they came and the reverse: the region is kept
 * while it is the open one, and the next block is cut from its start again. */
static void test_regions_returned(void) {
  for (int reverse = 0; reverse <= 1; reverse++) {
    block_t blocks[40];
    for (int i = 0; i < 40; i++) CHECK(block_new(&blocks[i], (size_t)(i + 1) * 100000, 3));
    CHECK_MSG(ic_weights_reserved_bytes() >= (size_t)40 * 41 / 2 * 100000,
              "%zu bytes reserved for 82 MB of blocks", ic_weights_reserved_bytes());
    for (int i = 0; i < 40; i++) {
      const int k = reverse ? 39 - i : i;
      CHECK(block_intact(&blocks[k]));
      ic_weights_free(blocks[k].data);
    }
    CHECK_MSG(ic_weights_reserved_bytes() == 0, "%zu bytes still reserved",
              ic_weights_reserved_bytes());
  }
}

typedef struct worker {
  uint64_t seed;
  bool ok;
  char failure[160];
} worker_t;

static void* churn_thread(void* arg) {
  worker_t* w = arg;
  /* The rng is the test's own and not thread-safe: each thread draws from a private stream. */
  w->ok = true;
  block_t live[8] = {{0}};
  uint64_t state = w->seed;
  for (int round = 0; round < 1000 && w->ok; round++) {
    state = state * 6364136223846793005u + 1442695040888963407u;
    const int slot = (int)((state >> 33) % 8);
    if (live[slot].data != NULL) {
      if (!block_intact(&live[slot])) {
        snprintf(w->failure, sizeof w->failure, "round %d: a block was overwritten", round);
        w->ok = false;
      }
      ic_weights_free(live[slot].data);
      live[slot].data = NULL;
    } else {
      const size_t bytes = (size_t)((state >> 40) % (3 * MB));
      if (!block_new(&live[slot], bytes, (uint8_t)round)) {
        snprintf(w->failure, sizeof w->failure, "round %d: %zu bytes: NULL", round, bytes);
        w->ok = false;
      }
    }
  }
  for (int i = 0; i < 8; i++) ic_weights_free(live[i].data);
  return NULL;
}

static void test_threads(void) {
  enum { THREADS = 4 };
  pthread_t threads[THREADS];
  worker_t workers[THREADS];
  for (int t = 0; t < THREADS; t++) {
    workers[t] = (worker_t){.seed = test_seed() * 31 + (uint64_t)t};
    CHECK(pthread_create(&threads[t], NULL, churn_thread, &workers[t]) == 0);
  }
  for (int t = 0; t < THREADS; t++) {
    pthread_join(threads[t], NULL);
    CHECK_MSG(workers[t].ok, "thread %d: %s", t, workers[t].failure);
  }
  CHECK_MSG(ic_weights_reserved_bytes() == 0, "%zu bytes still reserved",
            ic_weights_reserved_bytes());
}

/* Scratch: 64-byte aligned, every byte writable (under AddressSanitizer an access past the
 * size asked for is reported: not done here), small and large; impossible sizes fail. */
static void test_scratch_alloc(void) {
  static const size_t sizes[] = {0, 1, 100, MB - 65, MB - 64, MB - 1, MB, MB + 1, 3 * MB + 5,
                                 4 * MB - 64, 4 * MB};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    const size_t bytes = sizes[i];
    uint8_t* p = ic_scratch_alloc(bytes);
    CHECK_MSG(p != NULL, "%zu bytes: NULL", bytes);
    if (p == NULL) continue;
    CHECK_MSG((uintptr_t)p % 64 == 0, "%zu bytes at %p: not 64-byte aligned", bytes, (void*)p);
    memset(p, 0xA5, bytes);
    CHECK_MSG(bytes == 0 || (p[0] == 0xA5 && p[bytes - 1] == 0xA5), "%zu bytes: not kept", bytes);
    ic_scratch_free(p);
  }
  ic_scratch_free(NULL);
  CHECK(ic_scratch_alloc(SIZE_MAX - 10) == NULL);
}

/* The transparent huge page mode, or NULL where the kernel has none. */
static const char* thp_mode(char* text, size_t size) {
  FILE* f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  if (f == NULL) return NULL;
  const bool read = fgets(text, (int)size, f) != NULL;
  fclose(f);
  return read ? text : NULL;
}

/* AnonHugePages (kB) of the mapping that holds address, from /proc/self/smaps; -1 if none. */
static int64_t huge_kb_at(const void* address) {
  FILE* f = fopen("/proc/self/smaps", "r");
  if (f == NULL) return -1;
  char line[512];
  bool inside = false;
  int64_t kb = -1;
  while (fgets(line, sizeof line, f) != NULL) {
    uintptr_t lo, hi;
    if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &lo, &hi) == 2 && strchr(line, '-') != NULL &&
        line[0] != ' ') {
      inside = (uintptr_t)address >= lo && (uintptr_t)address < hi;
    } else if (inside && sscanf(line, "AnonHugePages: %" SCNd64 " kB", &kb) == 1) {
      break;
    }
  }
  fclose(f);
  return inside ? kb : -1;
}

static int run_huge_pages(void) {
  char mode[256];
  if (thp_mode(mode, sizeof mode) == NULL || strstr(mode, "[never]") != NULL) {
    printf("memory-test huge-pages: skipped, this kernel offers no transparent huge pages (%s)\n",
           thp_mode(mode, sizeof mode) != NULL ? mode : "no /sys/kernel/mm/transparent_hugepage");
    return 77;
  }
  /* First, while the heap holds nothing advised (AnonHugePages counts a whole mapping): 3 MB
   * of scratch lie in huge pages. (Memory malloc hands back after a JVM freed other blocks did
   * not get them from the advice alone: ActivationMemoryTest checks that case.) */
  uint8_t* scratch = ic_scratch_alloc(3 * MB);
  if (scratch == NULL) {
    fprintf(stderr, "FAIL: 3 MB of scratch: NULL\n");
    return 1;
  }
  memset(scratch, 1, 3 * MB);
  const int64_t scratch_kb = huge_kb_at(scratch + MB);
  ic_scratch_free(scratch);
  printf("a 3 MB scratch buffer lies in %" PRId64 " kB of huge pages\n", scratch_kb);
  if (scratch_kb < 2048) {
    fprintf(stderr, "FAIL: 3 MB of scratch hold %" PRId64 " kB of huge pages (at least 2048 "
                    "expected)\n", scratch_kb);
    return 1;
  }
  block_t b;
  if (!block_new(&b, 6 * MB, 9)) {
    fprintf(stderr, "FAIL: 6 MB block: NULL\n");
    return 1;
  }
  const int64_t kb = huge_kb_at(b.data + 3 * MB);
  const bool intact = block_intact(&b);
  ic_weights_free(b.data);
  printf("transparent huge pages %.*s: a 6 MB block lies in %" PRId64 " kB of huge pages\n",
         (int)strcspn(mode, "\n"), mode, kb);
  if (!intact || kb < 4096) {
    fprintf(stderr, "FAIL: a 6 MB block of weights holds %" PRId64 " kB of huge pages (at least "
                    "4096 expected)%s\n", kb, intact ? "" : ", and its bytes changed");
    return 1;
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "huge-pages") == 0) return run_huge_pages();
  test_init(argc, argv, 11);
  RUN_TEST(test_blocks_aligned_and_disjoint);
  RUN_TEST(test_free_null_and_huge_sizes);
  RUN_TEST(test_regions_returned);
  RUN_TEST(test_threads);
  RUN_TEST(test_scratch_alloc);
  return test_finish();
}
