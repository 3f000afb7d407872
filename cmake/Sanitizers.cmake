# IC_SANITIZE: a comma-separated list of sanitizers, e.g. "address,undefined" or "thread",
# applied to every target of the build (library, tests, fuzzers). Used by build.sh's test mode
# for the ASan+UBSan pass that SPEC §7 requires. Any UBSan finding aborts the test: a sanitizer
# report that scrolls past in a passing run is worth nothing.
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
