/*
 * Aligned allocation for packed weights and scratch. 64 bytes is one cache line and one
 * AVX-512 register, the widest load any kernel issues.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#if defined(_WIN32)
#include <malloc.h>
#endif

enum { IC_ALIGNMENT = 64 };

void* ic_aligned_alloc(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes > SIZE_MAX - IC_ALIGNMENT) return NULL;
#if defined(_WIN32)
  return _aligned_malloc(bytes, IC_ALIGNMENT);
#else
  void* pointer = NULL;
  if (posix_memalign(&pointer, IC_ALIGNMENT, bytes) != 0) return NULL;
  return pointer;
#endif
}

void ic_aligned_free(void* pointer) {
#if defined(_WIN32)
  _aligned_free(pointer);
#else
  free(pointer);
#endif
}

float* ic_copy_floats(const void* source, size_t count) {
  if (count > SIZE_MAX / sizeof(float)) return NULL;
  float* copy = ic_aligned_alloc(count * sizeof(float));
  if (copy != NULL && count > 0) memcpy(copy, source, count * sizeof(float));
  return copy;
}
