/*
 * Build-time check of the per-ISA flags: compiled through ic_isa_sources(... avx2 ...), this
 * file only builds if cmake/IsaFlags.cmake gave it exactly the avx2 flags (src/isa-check.h).
 */
#define IC_EXPECT_ISA_AVX2
#include "isa-check.h"

int ic_isa_flags_avx2_probe(void);
int ic_isa_flags_avx2_probe(void) { return 1; }
