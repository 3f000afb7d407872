# cmake -DNM=nm -DLIBRARY=libinvconv.so -DHEADER=invconv.h -P check-exports.cmake
#
# Fails unless the library's exported functions are exactly the header's IC_API functions.
execute_process(COMMAND ${NM} -D --defined-only ${LIBRARY}
                OUTPUT_VARIABLE symbols RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "${NM} failed on ${LIBRARY}")
endif()
string(REGEX MATCHALL "[0-9a-fA-F]+ [TtWw] [A-Za-z_][A-Za-z0-9_]*" lines "${symbols}")
set(exported "")
foreach(line IN LISTS lines)
  string(REGEX REPLACE "^[0-9a-fA-F]+ [TtWw] " "" name "${line}")
  # Toolchain symbols that every shared library carries.
  if(NOT name MATCHES "^(_init|_fini|__.*)$")
    list(APPEND exported ${name})
  endif()
endforeach()

file(READ ${HEADER} header)
string(REGEX MATCHALL "IC_API[^;(]*[ *](ic_[a-z0-9_]+)\\(" declarations "${header}")
set(declared "")
foreach(declaration IN LISTS declarations)
  string(REGEX REPLACE ".*[ *](ic_[a-z0-9_]+)\\($" "\\1" name "${declaration}")
  list(APPEND declared ${name})
endforeach()

list(SORT exported)
list(SORT declared)
if(NOT exported STREQUAL declared)
  set(extra ${exported})
  list(REMOVE_ITEM extra ${declared})
  set(missing ${declared})
  list(REMOVE_ITEM missing ${exported})
  message(FATAL_ERROR "exported symbols differ from invconv.h\n  exported but not declared: "
                      "${extra}\n  declared but not exported: ${missing}")
endif()
list(LENGTH exported count)
message("exported-symbols: the ${count} IC_API functions of invconv.h, nothing else")
