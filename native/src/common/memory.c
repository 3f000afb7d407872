/*
 * Memory: 64-byte aligned blocks (ic_aligned_alloc), the buffers runs reuse and activations
 * (ic_scratch_alloc, ic_buffer_alloc), and the operators' weights (ic_weights_alloc), which
 * share 2 MB pages. 64 bytes is one cache line and one AVX-512 register, the widest load any
 * kernel issues.
 *
 * Why the weights get huge pages: a ResNet-50 pass streams ~100 MB of packed weights, 25,000
 * 4 KB pages against the 2,048 entries of an Emerald Rapids core's L2 TLB, so every layer
 * walks the page tables for its weights page by page, and the hardware prefetchers, which stop
 * at each 4 KB boundary, start over on every page. In 2 MB pages the pass took 2-3 % less
 * (RedNet-50 5 %; docs/BENCHMARKS.md, "Weights in huge pages").
 *
 * How: blocks are cut one after the other from regions of whole 2 MB pages, advised as huge
 * pages (Linux's transparent huge pages, in their default madvise mode; elsewhere, or where
 * the kernel refuses, they stay 4 KB pages and only the alignment remains). A region goes back
 * to the system when its last block is freed. A model's weights are created and destroyed
 * with it, so they fill regions of their own; a block that outlives its neighbours keeps its
 * region (at most 2 MB beyond itself) until it is freed.
 */
#define _DEFAULT_SOURCE /* madvise */

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#if defined(_WIN32)
#include <malloc.h>
#else
#include <sys/mman.h>
#endif

/* Under AddressSanitizer a region's free space and the headers between blocks are poisoned, so
 * that an overrun of a block is reported as it would be between two malloc'd blocks. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IC_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define IC_ASAN 1
#endif
#if defined(IC_ASAN)
#include <sanitizer/asan_interface.h>
#define IC_POISON(address, bytes) ASAN_POISON_MEMORY_REGION(address, bytes)
#define IC_UNPOISON(address, bytes) ASAN_UNPOISON_MEMORY_REGION(address, bytes)
#else
#define IC_POISON(address, bytes) ((void)(address), (void)(bytes))
#define IC_UNPOISON(address, bytes) ((void)(address), (void)(bytes))
#endif

enum { IC_ALIGNMENT = 64, IC_HUGE_PAGE = 2 << 20 };

static void* ic_allocate(size_t alignment, size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes > SIZE_MAX - alignment) return NULL;
#if defined(_WIN32)
  return _aligned_malloc(bytes, alignment);
#else
  void* pointer = NULL;
  if (posix_memalign(&pointer, alignment, bytes) != 0) return NULL;
  return pointer;
#endif
}

void* ic_aligned_alloc(size_t bytes) { return ic_allocate(IC_ALIGNMENT, bytes); }

static size_t ic_round_up(size_t value, size_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

/* `bytes` (whole 2 MB pages) of fresh memory, 2 MB aligned and advised as huge pages; refused
 * advice leaves 4 KB pages. Fresh: malloc may hand back memory the process already touched in
 * 4 KB pages, which the advice does not turn into huge pages (in a JVM that had freed other
 * blocks, a 6 MB buffer from posix_memalign got none), so the pages are mapped here. */
#if !defined(_WIN32) && defined(MAP_ANONYMOUS)
#define IC_MAP_PAGES 1 /* else aligned heap blocks, freed with ic_aligned_free */
#endif

static void* ic_map_huge(size_t bytes) {
#if !defined(IC_MAP_PAGES)
  void* base = ic_allocate(IC_HUGE_PAGE, bytes);
#if defined(MADV_HUGEPAGE)
  if (base != NULL) (void)madvise(base, bytes, MADV_HUGEPAGE);
#endif
  return base;
#else
  if (bytes > SIZE_MAX - IC_HUGE_PAGE) return NULL;
  const size_t span = bytes + IC_HUGE_PAGE;
  char* raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return NULL;
  char* base = (char*)ic_round_up((uintptr_t)raw, IC_HUGE_PAGE);
  if (base > raw) munmap(raw, (size_t)(base - raw));
  const size_t tail = (size_t)(raw + span - (base + bytes));
  if (tail > 0) munmap(base + bytes, tail);
#if defined(MADV_HUGEPAGE)
  (void)madvise(base, bytes, MADV_HUGEPAGE);
#endif
  return base;
#endif
}

static void ic_unmap_huge(void* base, size_t bytes) {
#if !defined(IC_MAP_PAGES)
  (void)bytes;
  ic_aligned_free(base);
#else
  munmap(base, bytes);
#endif
}

/* The scratch runs reuse holds the packed images, tiles and rows every layer writes and reads
 * (RedNet-50's stem conv packs 1.7 MB, its involutions a few MB), and the activations of
 * ic_buffer_alloc; in 4 KB pages each pass walks the page tables for them again, as it did for
 * the weights. From 1 MB on a buffer lies in whole 2 MB pages of its own: at most 2 MB more
 * per buffer, a few buffers per context and thread. A header in the cache line before the
 * buffer says how it was allocated. */
enum { IC_SCRATCH_HUGE_BYTES = IC_HUGE_PAGE / 2 };

typedef struct ic_scratch_header {
  /* The huge pages the buffer lies in, from the header on; 0: a heap block. */
  _Alignas(IC_ALIGNMENT) size_t mapping_bytes;
} ic_scratch_header_t;

void* ic_scratch_alloc(size_t bytes) {
  if (bytes > SIZE_MAX - 2 * IC_HUGE_PAGE) return NULL;
  const size_t total = sizeof(ic_scratch_header_t) + bytes;
  ic_scratch_header_t* header;
  if (bytes < IC_SCRATCH_HUGE_BYTES) {
    header = ic_allocate(IC_ALIGNMENT, total);
    if (header == NULL) return NULL;
    header->mapping_bytes = 0;
  } else {
    const size_t mapping_bytes = ic_round_up(total, IC_HUGE_PAGE);
    header = ic_map_huge(mapping_bytes);
    if (header == NULL) return NULL;
    header->mapping_bytes = mapping_bytes;
    IC_POISON((char*)header + total, mapping_bytes - total); /* an overrun is reported */
  }
  IC_POISON(header, sizeof *header);
  return header + 1;
}

void ic_scratch_free(void* pointer) {
  if (pointer == NULL) return;
  ic_scratch_header_t* header = (ic_scratch_header_t*)pointer - 1;
  IC_UNPOISON(header, sizeof *header);
  const size_t mapping_bytes = header->mapping_bytes;
  if (mapping_bytes == 0) {
    ic_aligned_free(header);
    return;
  }
  IC_UNPOISON(header, mapping_bytes);
  ic_unmap_huge(header, mapping_bytes);
}

ic_status_t ic_buffer_alloc(size_t bytes, void** buffer_out) {
  if (buffer_out == NULL) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT, "buffer_alloc: buffer_out is NULL");
  }
  *buffer_out = NULL;
  if (bytes == 0) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT, "buffer_alloc: bytes=0 (a buffer holds at least "
                                                "one byte)");
  }
  *buffer_out = ic_scratch_alloc(bytes);
  if (*buffer_out == NULL) {
    return ic_error(IC_STATUS_OUT_OF_MEMORY, "buffer_alloc: out of memory for %zu bytes", bytes);
  }
  return IC_STATUS_SUCCESS;
}

void ic_buffer_free(void* buffer) { ic_scratch_free(buffer); }

void ic_aligned_free(void* pointer) {
#if defined(_WIN32)
  _aligned_free(pointer);
#else
  free(pointer);
#endif
}

/* At the start of a region, in a cache line of its own. */
typedef struct ic_region {
  _Alignas(IC_ALIGNMENT) size_t bytes; /* whole 2 MB pages */
  size_t used;                         /* from the region's start: where the next block goes */
  size_t live;                         /* blocks cut and not yet freed */
} ic_region_t;

/* Before every block, in the cache line that keeps the block aligned. */
typedef struct ic_block_header {
  _Alignas(IC_ALIGNMENT) ic_region_t* region;
  size_t bytes; /* the block's, a multiple of 64 */
} ic_block_header_t;

static pthread_mutex_t ic_weights_lock = PTHREAD_MUTEX_INITIALIZER;
/* Guarded by ic_weights_lock: */
static ic_region_t* ic_open_region; /* where the next blocks are cut from, or NULL */
static size_t ic_reserved_bytes;    /* all regions' */

static ic_region_t* ic_region_create(size_t bytes) {
  void* base = ic_map_huge(bytes);
  if (base == NULL) return NULL;
  ic_region_t* region = base;
  region->bytes = bytes;
  region->used = sizeof *region;
  region->live = 0;
  ic_reserved_bytes += bytes;
  IC_POISON((char*)base + region->used, bytes - region->used);
  return region;
}

static void ic_region_destroy(ic_region_t* region) {
  ic_reserved_bytes -= region->bytes;
  IC_UNPOISON(region, region->bytes);
  ic_unmap_huge(region, region->bytes);
}

static size_t ic_region_room(const ic_region_t* region) { return region->bytes - region->used; }

void* ic_weights_alloc(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes > SIZE_MAX / 2) return NULL;
  const size_t need = sizeof(ic_block_header_t) + ic_round_up(bytes, IC_ALIGNMENT);
  pthread_mutex_lock(&ic_weights_lock);
  ic_region_t* region = ic_open_region;
  if (region == NULL || ic_region_room(region) < need) {
    region = ic_region_create(ic_round_up(sizeof(ic_region_t) + need, IC_HUGE_PAGE));
    if (region == NULL) {
      pthread_mutex_unlock(&ic_weights_lock);
      return NULL;
    }
    /* The region with more room after this block stays open. The other one holds blocks (an
     * empty region is returned at once), so it goes back with the last of them. */
    if (ic_open_region == NULL || ic_region_room(region) - need > ic_region_room(ic_open_region)) {
      ic_open_region = region;
    }
  }
  ic_block_header_t* header = (ic_block_header_t*)((char*)region + region->used);
  region->used += need;
  region->live++;
  IC_UNPOISON(header, sizeof *header);
  header->region = region;
  header->bytes = need - sizeof *header;
  IC_POISON(header, sizeof *header);
  pthread_mutex_unlock(&ic_weights_lock);
  void* block = header + 1;
  IC_UNPOISON(block, bytes);
  return block;
}

void ic_weights_free(void* pointer) {
  if (pointer == NULL) return;
  ic_block_header_t* header = (ic_block_header_t*)pointer - 1;
  IC_UNPOISON(header, sizeof *header);
  ic_region_t* region = header->region;
  IC_POISON(header, sizeof *header + header->bytes);
  pthread_mutex_lock(&ic_weights_lock);
  region->live--;
  if (region->live == 0) {
    if (region == ic_open_region) ic_open_region = NULL;
    ic_region_destroy(region);
  }
  pthread_mutex_unlock(&ic_weights_lock);
}

size_t ic_weights_reserved_bytes(void) {
  pthread_mutex_lock(&ic_weights_lock);
  const size_t bytes = ic_reserved_bytes;
  pthread_mutex_unlock(&ic_weights_lock);
  return bytes;
}

float* ic_weights_copy(const void* source, size_t count) {
  if (count > SIZE_MAX / sizeof(float)) return NULL;
  float* copy = ic_weights_alloc(count * sizeof(float));
  if (copy != NULL && count > 0) memcpy(copy, source, count * sizeof(float));
  return copy;
}
