# IC_SANITIZE: a comma-separated list of sanitizers, e.g. "address,undefined" or "thread",
# applied to every target of the build (library, tests, fuzzers). Used by build.sh's test mode
# for the ASan+UBSan pass that SPEC §7 requires. Any UBSan finding aborts the test: a sanitizer
# report that scrolls past in a passing run is worth nothing.
#
#   ic_sanitize_with_calls(TARGET file...)   with ASan (here or in the fuzz build, Fuzz.cmake),
#                                            those files call its check of each load and store
#                                            instead of inlining it
include_guard(GLOBAL)

set(IC_SANITIZE "" CACHE STRING "Sanitizers to build with, e.g. address,undefined (empty: none)")

if(IC_SANITIZE)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    message(FATAL_ERROR "IC_SANITIZE=${IC_SANITIZE} needs gcc or clang, not ${CMAKE_C_COMPILER_ID}")
  endif()
  add_compile_options(-fsanitize=${IC_SANITIZE} -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=${IC_SANITIZE})
  if(IC_SANITIZE MATCHES "undefined")
    add_compile_options(-fno-sanitize-recover=all)
  endif()
  message(STATUS "invconv: sanitizers ${IC_SANITIZE}")
endif()

# The same accesses are checked either way. Inline checks in the AVX-512 direct conv's fully
# unrolled register tiles leave gcc so much code to allocate that the file alone took 194 s to
# build, 71 s with calls; the build.sh test pass's ASan build went 340 -> 269 s, its ctest
# 78 -> 105 s (the conv tests run 2-3x slower). The next heaviest files gain too little for
# that: the depthwise kernels 67 -> 61 s (AVX-512) and 58 -> 45 s (AVX2). clang in the fuzz
# build: 555 s for that file with inline checks, 94 s with calls.
function(ic_sanitize_with_calls target)
  if(NOT IC_SANITIZE MATCHES "address" AND NOT IC_FUZZ)
    return()
  endif()
  if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
    set(flags --param=asan-instrumentation-with-call-threshold=0)
  else()
    set(flags -mllvm -asan-instrumentation-with-call-threshold=0)
  endif()
  set_property(SOURCE ${ARGN} TARGET_DIRECTORY ${target} APPEND PROPERTY COMPILE_OPTIONS ${flags})
endfunction()
