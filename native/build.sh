#!/usr/bin/env bash
# Drives CMake for Maven (native/pom.xml); usable by hand as well.
#   build.sh build BUILD_DIR RESOURCES_DIR   configure + build (Release, warnings as errors) and
#                                            copy the library to
#                                            RESOURCES_DIR/dev/invconv/native/OS-ARCH/
#   build.sh test  BUILD_DIR RESOURCES_DIR   run the C tests with ctest, then build them with
#                                            AddressSanitizer + UBSan in BUILD_DIR-asan and
#                                            run them all again (SPEC §7), and with
#                                            ThreadSanitizer in BUILD_DIR-tsan for the tests
#                                            that use threads (SANITIZE_CC picks
#                                            their compiler, e.g. clang).
#                                            INVCONV_SKIP_SANITIZERS=1 skips both passes.
#   build.sh fuzz  BUILD_DIR [SECONDS]       build the libFuzzer targets with clang and run
#                                            each for SECONDS (default 20)
set -euo pipefail

mode=${1:?usage: build.sh build|test|fuzz BUILD_DIR [RESOURCES_DIR|SECONDS]}
build_dir=${2:?missing BUILD_DIR}
source_dir=$(cd "$(dirname "$0")" && pwd)

fail() { echo "invconv native build: $*" >&2; exit 1; }

command -v cmake >/dev/null 2>&1 ||
  fail "CMake (3.20 or newer) is needed to build the C library and was not found on PATH. On Debian/Ubuntu: apt-get install cmake"
cmake_version=$(cmake --version | sed -n 's/^cmake version \([0-9]*\.[0-9]*\).*/\1/p')
if [ "$(printf '%s\n' 3.20 "$cmake_version" | sort -V | head -n1)" != 3.20 ]; then
  fail "CMake 3.20 or newer is needed; found $cmake_version at $(command -v cmake)"
fi
command -v ctest >/dev/null 2>&1 ||
  fail "ctest (part of CMake) was not found on PATH next to cmake"
cc=${CC:-}
if [ -z "$cc" ]; then
  for candidate in cc gcc clang; do
    if command -v "$candidate" >/dev/null 2>&1; then cc=$candidate; break; fi
  done
fi
[ -n "$cc" ] && command -v "$cc" >/dev/null 2>&1 ||
  fail "a C compiler (gcc or clang) is needed and none was found (CC=${CC:-unset}). On Debian/Ubuntu: apt-get install gcc"

jobs=$(nproc 2>/dev/null || echo 2)

# Can $1 compile and link a program with -fsanitize=$2? (libasan/libubsan may be missing.)
sanitizers_work() {
  local probe
  probe=$(mktemp -d)
  echo 'int main(void) { return 0; }' > "$probe/probe.c"
  if "$1" -fsanitize="$2" "$probe/probe.c" -o "$probe/probe" >/dev/null 2>&1 && "$probe/probe"; then
    rm -rf "$probe"; return 0
  fi
  rm -rf "$probe"; return 1
}

case "$mode" in
  build)
    resources_dir=${3:?missing RESOURCES_DIR}
    cmake -S "$source_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER="$cc" \
      -DIC_WARNINGS_AS_ERRORS=ON -DIC_JAVA_RESOURCES_DIR="$resources_dir"
    cmake --build "$build_dir" --parallel "$jobs"
    ;;
  test)
    [ -f "$build_dir/CTestTestfile.cmake" ] ||
      fail "no build in $build_dir: run 'build.sh build $build_dir RESOURCES_DIR' first"
    ctest --test-dir "$build_dir" --output-on-failure --parallel "$jobs"

    if [ "${INVCONV_SKIP_SANITIZERS:-0}" = 1 ]; then
      echo "invconv native build: INVCONV_SKIP_SANITIZERS=1, skipping the ASan+UBSan pass"
      exit 0
    fi
    # SANITIZE_CC=clang builds the instrumented passes with clang, whose UBSan keeps checks that
    # gcc's optimizer drops on products whose result is dead (it reported an int64 overflow of a
    # depthwise kernel's pixel step that gcc's did not). Not the default: clang spends ~200 s on
    # the AVX-512 depthwise kernel alone under ASan+UBSan (3 s uninstrumented; 264 s before its
    # 3x3 rows and guarded runs became one function per case), and its whole instrumented build
    # took 478 s against gcc's 247 before that split, four minutes more for mvn verify.
    # `build.sh fuzz` runs clang's sanitizers on every operator.
    san_cc=${SANITIZE_CC:-$cc}
    echo "invconv native build: sanitizer passes built with $san_cc"
    sanitizers_work "$san_cc" address,undefined ||
      fail "$san_cc cannot build with -fsanitize=address,undefined, which the test pass needs (SPEC §7). On Debian/Ubuntu the runtimes come with gcc (libasan8, libubsan1) and clang; set INVCONV_SKIP_SANITIZERS=1 to skip this pass"
    sanitizers_work "$san_cc" thread ||
      fail "$san_cc cannot build with -fsanitize=thread, which the test pass needs for the thread pool. On Debian/Ubuntu the runtime comes with gcc (libtsan2) and clang; set INVCONV_SKIP_SANITIZERS=1 to skip this pass"
    # Never pass IC_JAVA_RESOURCES_DIR here: an instrumented library must not be packaged.
    # The shipped Release build above is the one held to zero warnings (-Werror); instrumented
    # builds change the compiler's inlining (gcc then raises spurious -Wmaybe-uninitialized on
    # the SIMD kernels' accumulator arrays), so here warnings are printed but do not stop the tests.
    asan_dir="${build_dir%/}-asan"
    cmake -S "$source_dir" -B "$asan_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_COMPILER="$san_cc" -DIC_WARNINGS_AS_ERRORS=OFF -DIC_SANITIZE=address,undefined
    cmake --build "$asan_dir" --parallel "$jobs"
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
      ctest --test-dir "$asan_dir" --output-on-failure --parallel "$jobs"
    # ThreadSanitizer for the worker pool and concurrent runs (cannot be combined with ASan).
    tsan_dir="${build_dir%/}-tsan"
    cmake -S "$source_dir" -B "$tsan_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_COMPILER="$san_cc" -DIC_WARNINGS_AS_ERRORS=OFF -DIC_SANITIZE=thread
    cmake --build "$tsan_dir" --parallel "$jobs"
    TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1} \
      ctest --test-dir "$tsan_dir" --output-on-failure --parallel "$jobs" \
        -R 'context-test|memory-test|threads-test|conv2d-test|involution-test|^pool2d-test|conv2d-pool2d-test$|layout-test'
    ;;
  fuzz)
    seconds=${3:-20}
    clang=${CLANG:-}
    if [ -z "$clang" ]; then
      for candidate in clang clang-19 clang-18 clang-17 clang-16 clang-15 clang-14; do
        if command -v "$candidate" >/dev/null 2>&1; then clang=$candidate; break; fi
      done
    fi
    [ -n "$clang" ] ||
      fail "fuzzing needs clang with libFuzzer and none was found (set CLANG=...). On Debian/Ubuntu: apt-get install clang"
    clang_major=$("$clang" -dumpversion | cut -d. -f1)
    sanitizers_work "$clang" fuzzer-no-link,address,undefined ||
      fail "$clang cannot build with libFuzzer and ASan/UBSan (the compiler-rt runtimes are missing; they are one of clang's recommends). On Debian/Ubuntu: apt-get install libclang-rt-$clang_major-dev"
    cmake -S "$source_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_COMPILER="$clang" -DIC_FUZZ=ON -DIC_BUILD_TESTS=OFF
    cmake --build "$build_dir" --parallel "$jobs"
    for fuzzer in "$build_dir"/fuzz/ic-fuzz-*; do
      [ -x "$fuzzer" ] || continue
      corpus="$build_dir/corpus/$(basename "$fuzzer")"
      mkdir -p "$corpus"
      echo "invconv native build: running $(basename "$fuzzer") for ${seconds}s"
      "$fuzzer" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="${build_dir%/}/$(basename "$fuzzer")-" "$corpus"
    done
    ;;
  *) fail "unknown mode '$mode' (build, test or fuzz)" ;;
esac
