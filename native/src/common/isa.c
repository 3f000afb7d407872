/*
 * Which instruction sets the kernels may use.
 *
 *   detected  what the CPU and the OS support, found once with cpuid + xgetbv
 *   limit     INVCONV_MAX_ISA (read once), then ic_set_max_isa()
 *   active    min(detected, limit): the ceiling for kernels of operators created from now on
 *   Intel     the CPU vendor, found with the ISA: how its prefetch hints behave
 *             (ic_nta_prefetch_skips_l2, internal.h)
 *
 * AVX2 needs AVX2 + FMA and the OS saving ymm state (XCR0 bits 1-2); AVX-512 needs F, BW, VL
 * and DQ and the OS saving opmask and zmm state (XCR0 bits 5-7). Without the OS bits the
 * instructions would fault or corrupt state on a context switch, whatever cpuid says.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "internal.h"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define IC_X86_CPUID 1
#include <cpuid.h>
#else
#define IC_X86_CPUID 0
#endif

#if IC_X86_CPUID && defined(__APPLE__)
#include <sys/sysctl.h>
#endif

static pthread_once_t ic_isa_once = PTHREAD_ONCE_INIT;
static ic_isa_t ic_detected = IC_ISA_SCALAR;
static bool ic_intel = false;
static atomic_int ic_limit = IC_ISA_AVX512;

#if IC_X86_CPUID
static uint64_t ic_read_xcr0(void) {
  uint32_t eax, edx;
  __asm__ __volatile__("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return ((uint64_t)edx << 32) | eax;
}

static bool ic_os_saves_avx512_state(uint64_t xcr0) {
  if ((xcr0 & 0xE6) == 0xE6) return true;
#if defined(__APPLE__)
  /* macOS enables AVX-512 state lazily, on first use: XCR0 does not show it up front. */
  int enabled = 0;
  size_t size = sizeof enabled;
  if (sysctlbyname("hw.optional.avx512f", &enabled, &size, NULL, 0) == 0 && enabled) {
    return true;
  }
#endif
  return false;
}

static ic_isa_t ic_detect_x86(void) {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return IC_ISA_SCALAR;
  const bool fma = (ecx >> 12) & 1, osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1;
  if (!fma || !osxsave || !avx) return IC_ISA_SCALAR;
  const uint64_t xcr0 = ic_read_xcr0();
  if ((xcr0 & 0x6) != 0x6) return IC_ISA_SCALAR;
  if (__get_cpuid_max(0, NULL) < 7) return IC_ISA_SCALAR;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  if (!((ebx >> 5) & 1)) return IC_ISA_SCALAR; /* AVX2 */
  const unsigned avx512 = (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31); /* F DQ BW VL */
  if ((ebx & avx512) == avx512 && ic_os_saves_avx512_state(xcr0)) return IC_ISA_AVX512;
  return IC_ISA_AVX2;
}

static bool ic_detect_intel(void) {
  unsigned max, ebx, ecx, edx;
  if (!__get_cpuid(0, &max, &ebx, &ecx, &edx)) return false;
  /* "GenuineIntel" in ebx, edx, ecx */
  return ebx == 0x756e6547u && edx == 0x49656e69u && ecx == 0x6c65746eu;
}
#endif

/* Case-insensitive equality with a lower-case ASCII word. */
static bool ic_equals_word(const char* text, const char* word) {
  for (; *word != '\0'; text++, word++) {
    char ch = *text;
    if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
    if (ch != *word) return false;
  }
  return *text == '\0';
}

static void ic_isa_init(void) {
#if IC_X86_CPUID
  ic_detected = ic_detect_x86();
  ic_intel = ic_detect_intel();
#endif
  /* An unknown value is ignored: there is no call to report it from, and nothing may print. */
  const char* limit = getenv("INVCONV_MAX_ISA");
  if (limit != NULL) {
    if (ic_equals_word(limit, "scalar")) atomic_store(&ic_limit, IC_ISA_SCALAR);
    if (ic_equals_word(limit, "avx2")) atomic_store(&ic_limit, IC_ISA_AVX2);
    if (ic_equals_word(limit, "avx512")) atomic_store(&ic_limit, IC_ISA_AVX512);
  }
}

ic_isa_t ic_detected_isa(void) {
  pthread_once(&ic_isa_once, ic_isa_init);
  return ic_detected;
}

ic_isa_t ic_active_isa(void) {
  pthread_once(&ic_isa_once, ic_isa_init);
  const int limit = atomic_load(&ic_limit);
  return (int)ic_detected < limit ? ic_detected : (ic_isa_t)limit;
}

ic_status_t ic_set_max_isa(ic_isa_t isa) {
  const int value = (int)isa;
  if (value < IC_ISA_SCALAR || value > IC_ISA_AVX512) {
    return ic_error(IC_STATUS_INVALID_ARGUMENT,
                    "ic_set_max_isa: isa=%d is not a valid ic_isa_t (0 scalar, 1 avx2, 2 avx512)",
                    value);
  }
  /* Initialise first, so that a later first read of INVCONV_MAX_ISA cannot undo this call. */
  pthread_once(&ic_isa_once, ic_isa_init);
  atomic_store(&ic_limit, value);
  return IC_STATUS_SUCCESS;
}

bool ic_nta_prefetch_skips_l2(void) {
  pthread_once(&ic_isa_once, ic_isa_init);
  return ic_intel;
}

const char* ic_isa_name(ic_isa_t isa) {
  switch ((int)isa) {
    case IC_ISA_SCALAR: return "scalar";
    case IC_ISA_AVX2: return "avx2";
    case IC_ISA_AVX512: return "avx512";
    default: return "unknown";
  }
}
