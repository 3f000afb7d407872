/*
 * isa-check.h — the second guard of per-ISA compilation (the first is cmake/IsaFlags.cmake).
 *
 * A kernel file for one ISA defines which it is and includes this first:
 *
 *   #define IC_EXPECT_ISA_AVX2    // or IC_EXPECT_ISA_AVX512
 *   #include "isa-check.h"
 *
 * so that a file added to the wrong ic_isa_sources() list, or compiled without its flags,
 * fails to build instead of silently running slower code or faulting on an older CPU.
 */
#ifndef IC_ISA_CHECK_H
#define IC_ISA_CHECK_H

#if defined(IC_EXPECT_ISA_AVX2)
#if !defined(__AVX2__) || !defined(__FMA__)
#error "AVX2 kernel compiled without -mavx2 -mfma: list it with ic_isa_sources(... avx2 ...)"
#endif
#if defined(__AVX512F__)
#error "AVX2 kernel compiled with AVX-512 enabled: it would fault on AVX2-only CPUs"
#endif
#elif defined(IC_EXPECT_ISA_AVX512)
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VL__) || \
    !defined(__AVX512DQ__)
#error "AVX-512 kernel compiled without -mavx512f/bw/vl/dq: list it with ic_isa_sources(... avx512 ...)"
#endif
#else
#error "define IC_EXPECT_ISA_AVX2 or IC_EXPECT_ISA_AVX512 before including isa-check.h"
#endif

#endif /* IC_ISA_CHECK_H */
