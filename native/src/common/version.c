/* Library version and ABI version. */
#include "internal.h"

#define IC_STRINGIFY_(x) #x
#define IC_STRINGIFY(x) IC_STRINGIFY_(x)

const char* ic_version_string(void) {
  return IC_STRINGIFY(IC_VERSION_MAJOR) "." IC_STRINGIFY(IC_VERSION_MINOR) "." IC_STRINGIFY(
      IC_VERSION_PATCH);
}

uint32_t ic_abi_version(void) { return IC_ABI_VERSION; }
