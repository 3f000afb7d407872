# IC_FUZZ: build the libFuzzer targets of native/fuzz/. Off by default: they need clang, and
# they instrument the whole library (coverage + ASan + UBSan), which no shipped build may have.
#
#   cmake -S native -B build-fuzz -DCMAKE_C_COMPILER=clang -DIC_FUZZ=ON
#   ./build-fuzz/fuzz/ic-fuzz-operators -max_total_time=60
#
# build.sh fuzz BUILD_DIR [SECONDS] does exactly that and finds clang by itself.
include_guard(GLOBAL)

option(IC_FUZZ "Build the libFuzzer targets (needs clang)" OFF)

if(IC_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR
      "IC_FUZZ=ON needs clang (libFuzzer), but the C compiler is ${CMAKE_C_COMPILER_ID} "
      "(${CMAKE_C_COMPILER}). Configure with -DCMAKE_C_COMPILER=clang; on Debian/Ubuntu: "
      "apt-get install clang")
  endif()
  # Coverage instrumentation for everything; the fuzzer executables add the libFuzzer main.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
endif()

# ic_add_fuzzer(NAME source... LIBRARIES lib...)
function(ic_add_fuzzer name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "LIBRARIES")
  add_executable(${name} ${arg_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE ${arg_LIBRARIES})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
endfunction()
