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
  # Coverage instrumentation for the library (its SIMD kernel files excepted, below); the fuzzer
  # executables add the libFuzzer main.
  # UBSan's checks are built recoverable, and __ubsan_default_options (fuzz/ubsan-options.c,
  # in every fuzzer) makes the first report fatal all the same: with
  # -fno-sanitize-recover=all, clang 14 spends over 7 minutes on the AVX2 pointwise kernel
  # file, 17 s with recoverable checks.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
  # The SIMD kernel files keep ASan and UBSan but not the coverage: with all three clang spends
  # over 10 minutes on the AVX-512 pointwise file (235 s with ASan + UBSan), and the kernels'
  # branches follow the shape, which the operator code's coverage already steers.
  # ic_isa_sources (IsaFlags.cmake) reads these lists when a file is added.
  list(APPEND IC_ISA_FLAGS_avx2 -fno-sanitize=fuzzer-no-link)
  list(APPEND IC_ISA_FLAGS_avx512 -fno-sanitize=fuzzer-no-link)
endif()

# ic_add_fuzzer(NAME source... LIBRARIES lib...): a libFuzzer executable, with fuzz/ubsan-options.c.
function(ic_add_fuzzer name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "LIBRARIES")
  add_executable(${name} ${arg_UNPARSED_ARGUMENTS}
                 ${PROJECT_SOURCE_DIR}/fuzz/ubsan-options.c)
  target_link_libraries(${name} PRIVATE ${arg_LIBRARIES})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
endfunction()
