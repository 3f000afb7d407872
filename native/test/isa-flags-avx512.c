/*
 * Build-time check of the per-ISA flags: compiled through ic_isa_sources(... avx512 ...), this
 * file only builds if cmake/IsaFlags.cmake gave it exactly the avx512 flags (src/isa-check.h).
 */
#define IC_EXPECT_ISA_AVX512
#include "isa-check.h"

int ic_isa_flags_avx512_probe(void);
int ic_isa_flags_avx512_probe(void) { return 1; }
