# IC_PLATFORM: the <os>-<arch> directory name the Java loader looks for under
# dev/invconv/native/ (os: linux, macos, windows; arch: x86_64, aarch64). Keep in step with the
# loader in java-api.
include_guard(GLOBAL)
include(${CMAKE_CURRENT_LIST_DIR}/IsaFlags.cmake) # for IC_ARCH

if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  set(_ic_os linux)
elseif(CMAKE_SYSTEM_NAME STREQUAL "Darwin")
  set(_ic_os macos)
elseif(CMAKE_SYSTEM_NAME STREQUAL "Windows")
  set(_ic_os windows)
else()
  string(TOLOWER "${CMAKE_SYSTEM_NAME}" _ic_os)
endif()
set(IC_PLATFORM "${_ic_os}-${IC_ARCH}")
