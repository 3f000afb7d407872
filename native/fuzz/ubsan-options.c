/*
 * Linked into every fuzzer by ic_add_fuzzer (cmake/Fuzz.cmake). The fuzz build's UBSan checks
 * are recoverable, which clang compiles many times faster than -fno-sanitize-recover; the first
 * report still ends the run, and libFuzzer saves the input that caused it.
 */
const char* __ubsan_default_options(void);

const char* __ubsan_default_options(void) { return "halt_on_error=1:print_stacktrace=1"; }
