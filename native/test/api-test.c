/*
 * The small API: version, ABI, status strings, last error, NULL handling of destroy and
 * kernel_name, buffers for activations, and ISA detection and limits (INVCONV_MAX_ISA; ctest
 * runs this binary with the variable unset, "scalar" and "AVX2").
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"

static void test_version(void) {
  CHECK(strcmp(ic_version_string(), "0.1.0") == 0);
  CHECK(ic_abi_version() == IC_ABI_VERSION);
  char expected[32];
  snprintf(expected, sizeof expected, "%d.%d.%d", IC_VERSION_MAJOR, IC_VERSION_MINOR,
           IC_VERSION_PATCH);
  CHECK(strcmp(ic_version_string(), expected) == 0);
}

static void test_status_strings(void) {
  CHECK(strcmp(ic_status_string(IC_STATUS_SUCCESS), "success") == 0);
  CHECK(strcmp(ic_status_string(IC_STATUS_INVALID_ARGUMENT), "invalid argument") == 0);
  CHECK(strcmp(ic_status_string(IC_STATUS_UNSUPPORTED), "unsupported") == 0);
  CHECK(strcmp(ic_status_string(IC_STATUS_OUT_OF_MEMORY), "out of memory") == 0);
  CHECK(strcmp(ic_status_string(IC_STATUS_INTERNAL_ERROR), "internal error") == 0);
  CHECK(strcmp(ic_status_string((ic_status_t)42), "unknown status") == 0);
}

static void test_null_objects(void) {
  ic_conv2d_destroy(NULL);
  ic_separable_conv2d_destroy(NULL);
  ic_involution_aggregate_destroy(NULL);
  ic_involution2d_destroy(NULL);
  ic_pool2d_destroy(NULL);
  CHECK(strcmp(ic_conv2d_kernel_name(NULL), "") == 0);
  CHECK(strcmp(ic_separable_conv2d_kernel_name(NULL), "") == 0);
  CHECK(strcmp(ic_involution_aggregate_kernel_name(NULL), "") == 0);
  CHECK(strcmp(ic_involution2d_kernel_name(NULL), "") == 0);
  CHECK(strcmp(ic_pool2d_kernel_name(NULL), "") == 0);
}

/* Buffers: 64-byte aligned and usable to the last byte, small and page-sized; bad arguments
 * and impossible sizes are reported, with the out-pointer cleared. */
static void test_buffers(void) {
  static const size_t sizes[] = {1, 63, 4096, (1 << 20) - 1, (1 << 20), (3 << 20) + 7};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    void* buffer = (void*)&sizes; /* not NULL: the call must set it */
    CHECK(ic_buffer_alloc(sizes[i], &buffer) == IC_STATUS_SUCCESS);
    CHECK_MSG(buffer != NULL && (uintptr_t)buffer % 64 == 0, "%zu bytes at %p", sizes[i],
              buffer);
    if (buffer == NULL) continue;
    memset(buffer, 0x5A, sizes[i]);
    CHECK(((unsigned char*)buffer)[sizes[i] - 1] == 0x5A);
    ic_buffer_free(buffer);
  }
  ic_buffer_free(NULL);
  void* buffer = (void*)&sizes;
  CHECK(ic_buffer_alloc(0, &buffer) == IC_STATUS_INVALID_ARGUMENT);
  CHECK(buffer == NULL);
  CHECK(strstr(ic_last_error(), "bytes=0") != NULL);
  CHECK(ic_buffer_alloc(64, NULL) == IC_STATUS_INVALID_ARGUMENT);
  CHECK(strstr(ic_last_error(), "buffer_out is NULL") != NULL);
  buffer = (void*)&sizes;
  CHECK(ic_buffer_alloc(SIZE_MAX - 100, &buffer) == IC_STATUS_OUT_OF_MEMORY);
  CHECK(buffer == NULL);
  CHECK(strstr(ic_last_error(), "out of memory") != NULL);
}

/* The CPU's flags as Linux reports them (already masked by what the kernel enabled). */
static bool cpuinfo_has(const char* flag) {
  FILE* f = fopen("/proc/cpuinfo", "r");
  if (f == NULL) return false;
  char line[8192];
  bool found = false;
  while (!found && fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, "flags", 5) != 0) continue;
    char pattern[64];
    snprintf(pattern, sizeof pattern, " %s ", flag);
    line[strcspn(line, "\n")] = ' ';
    found = strstr(line, pattern) != NULL;
    break;
  }
  fclose(f);
  return found;
}

static void test_detection_matches_cpuinfo(void) {
  const ic_isa_t detected = ic_detected_isa();
  printf("detected ISA: %s\n", ic_isa_name(detected));
#if defined(__x86_64__) && defined(__linux__)
  const bool avx2 = cpuinfo_has("avx2") && cpuinfo_has("fma");
  const bool avx512 = avx2 && cpuinfo_has("avx512f") && cpuinfo_has("avx512bw") &&
                      cpuinfo_has("avx512vl") && cpuinfo_has("avx512dq");
  const ic_isa_t expected = avx512 ? IC_ISA_AVX512 : avx2 ? IC_ISA_AVX2 : IC_ISA_SCALAR;
  CHECK_MSG(detected == expected, "detected %s, /proc/cpuinfo says %s", ic_isa_name(detected),
            ic_isa_name(expected));
#else
  CHECK(detected >= IC_ISA_SCALAR && detected <= IC_ISA_AVX512);
#endif
}

static ic_isa_t min_isa(ic_isa_t a, ic_isa_t b) { return a < b ? a : b; }

/* Must run first: it checks the limit INVCONV_MAX_ISA set before any other call, and the
 * last error of a thread on which nothing has failed yet. */
static void test_environment_limit(void) {
  CHECK(strcmp(ic_last_error(), "") == 0);
  const char* env = getenv("INVCONV_MAX_ISA");
  ic_isa_t limit = IC_ISA_AVX512;
  if (env != NULL && (strcmp(env, "scalar") == 0 || strcmp(env, "SCALAR") == 0)) {
    limit = IC_ISA_SCALAR;
  }
  if (env != NULL && (strcmp(env, "avx2") == 0 || strcmp(env, "AVX2") == 0)) limit = IC_ISA_AVX2;
  printf("INVCONV_MAX_ISA=%s\n", env != NULL ? env : "(unset)");
  CHECK_MSG(ic_active_isa() == min_isa(ic_detected_isa(), limit), "active %s, detected %s",
            ic_isa_name(ic_active_isa()), ic_isa_name(ic_detected_isa()));
}

static void test_set_max_isa(void) {
  const ic_isa_t detected = ic_detected_isa();
  for (int isa = IC_ISA_SCALAR; isa <= IC_ISA_AVX512; isa++) {
    CHECK_OK(ic_set_max_isa((ic_isa_t)isa));
    CHECK(ic_active_isa() == min_isa(detected, (ic_isa_t)isa));
    CHECK(ic_detected_isa() == detected);
    /* The conv kernel chosen follows the limit, and its name says which ISA it is. */
    static const char* const direct[] = {"f32_conv2d_direct__scalar", "f32_conv2d_6x16c__avx2",
                                         "f32_conv2d_14x32c__avx512"};
    ic_conv2d_params_t p = {IC_DATATYPE_F32, 0, 0, 0, 2, 1, 1, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0};
    float w[18] = {0};
    ic_conv2d_t* conv = NULL;
    CHECK_OK(ic_conv2d_create(&p, w, sizeof w, NULL, 0, &conv));
    CHECK_MSG(strcmp(ic_conv2d_kernel_name(conv), direct[ic_active_isa()]) == 0,
              "kernel %s at limit %s", ic_conv2d_kernel_name(conv), ic_isa_name((ic_isa_t)isa));
    ic_conv2d_destroy(conv);
  }
  CHECK_STATUS(ic_set_max_isa((ic_isa_t)7), IC_STATUS_INVALID_ARGUMENT, "isa=7");
  CHECK(ic_active_isa() == detected); /* a refused call changes nothing */
  CHECK(strcmp(ic_isa_name(IC_ISA_SCALAR), "scalar") == 0);
  CHECK(strcmp(ic_isa_name(IC_ISA_AVX2), "avx2") == 0);
  CHECK(strcmp(ic_isa_name(IC_ISA_AVX512), "avx512") == 0);
  CHECK(strcmp(ic_isa_name((ic_isa_t)9), "unknown") == 0);
}

int main(int argc, char** argv) {
  test_init(argc, argv, 1);
  RUN_TEST(test_environment_limit);
  RUN_TEST(test_version);
  RUN_TEST(test_status_strings);
  RUN_TEST(test_null_objects);
  RUN_TEST(test_buffers);
  RUN_TEST(test_detection_matches_cpuinfo);
  RUN_TEST(test_set_max_isa);
  return test_finish();
}
