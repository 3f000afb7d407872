# Per-ISA compile flags for microkernel sources.
#
# The library is built for the baseline of its architecture (never -march=native): only the
# files of one ISA's kernels get that ISA's flags, and runtime dispatch (src/common/isa.c,
# src/configs/ukernel-config.c) decides whether they run. Each level also gets -mno-<next level>
# so that instructions of a higher ISA cannot leak into its code (the compiler may otherwise
# use, say, AVX-512 encodings in an AVX2 file when auto-vectorising). Kernel files check the
# matching macros with #error as a second guard (src/isa-check.h); test/CMakeLists.txt
# builds one probe file per ISA to prove both guards agree.
#
#   ic_isa_sources(TARGET ISA file...)   ISA is scalar, avx2 or avx512
#
# IC_ARCH is x86_64, aarch64 or the lower-cased processor name; IC_X86_64 is TRUE on x86-64.
include_guard(GLOBAL)

string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" _ic_processor)
if(_ic_processor MATCHES "^(x86_64|amd64|x64)$")
  set(IC_ARCH x86_64)
elseif(_ic_processor MATCHES "^(aarch64|arm64)$")
  set(IC_ARCH aarch64)
else()
  set(IC_ARCH "${_ic_processor}")
endif()
if(IC_ARCH STREQUAL "x86_64")
  set(IC_X86_64 TRUE)
else()
  set(IC_X86_64 FALSE)
endif()

set(IC_ISA_FLAGS_scalar "")
if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  set(IC_ISA_FLAGS_avx2 -mavx2 -mfma -mf16c -mno-avx512f)
  set(IC_ISA_FLAGS_avx512 -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512dq)
elseif(MSVC)
  set(IC_ISA_FLAGS_avx2 /arch:AVX2)
  set(IC_ISA_FLAGS_avx512 /arch:AVX512)
endif()

function(ic_isa_sources target isa)
  if(NOT isa MATCHES "^(scalar|avx2|avx512)$")
    message(FATAL_ERROR "ic_isa_sources: unknown ISA '${isa}' (scalar, avx2 or avx512)")
  endif()
  if(NOT isa STREQUAL "scalar" AND NOT IC_X86_64)
    message(FATAL_ERROR "ic_isa_sources: ${isa} kernels need an x86-64 target, not ${IC_ARCH}")
  endif()
  target_sources(${target} PRIVATE ${ARGN})
  if(IC_ISA_FLAGS_${isa})
    set_source_files_properties(${ARGN} TARGET_DIRECTORY ${target}
      PROPERTIES COMPILE_OPTIONS "${IC_ISA_FLAGS_${isa}}")
  endif()
endfunction()
