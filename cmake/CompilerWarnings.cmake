# ic_target_warnings(TARGET)
#
# The warning set every invconv C target is built with. IC_WARNINGS_AS_ERRORS (ON in the Maven
# build) turns them into errors, so a warning can never land unnoticed.
#
# -Wfloat-conversion makes every double -> float rounding an explicit cast: the kernels
# accumulate in double on purpose, and the one place each value is rounded should be visible.
# -Wvla keeps stack use bounded: worker threads and JVM threads have small stacks.
include_guard(GLOBAL)

option(IC_WARNINGS_AS_ERRORS "Treat compiler warnings as errors" OFF)

function(ic_target_warnings target)
  if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE
      -Wall -Wextra -Wpedantic
      -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wold-style-definition
      -Wformat=2 -Wundef -Wvla -Wpointer-arith -Wwrite-strings -Wcast-qual
      -Wfloat-conversion -Wimplicit-fallthrough)
    if(IC_WARNINGS_AS_ERRORS)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  elseif(MSVC)
    target_compile_options(${target} PRIVATE /W4)
    if(IC_WARNINGS_AS_ERRORS)
      target_compile_options(${target} PRIVATE /WX)
    endif()
  endif()
endfunction()
