/*
 * Status strings and the thread-local last-error message.
 *
 * The message lives in a fixed thread-local buffer: recording an error must not allocate (it
 * reports out-of-memory too), and ic_last_error() must stay valid after the failing call
 * returns, until the thread's next failing call overwrites it.
 */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

/* Long enough for any message we format; vsnprintf truncates anything longer. */
static _Thread_local char ic_last_error_message[512];

ic_status_t ic_error(ic_status_t status, const char* format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(ic_last_error_message, sizeof ic_last_error_message, format, args);
  va_end(args);
  return status;
}

const char* ic_last_error(void) { return ic_last_error_message; }

const char* ic_status_string(ic_status_t status) {
  switch (status) {
    case IC_STATUS_SUCCESS: return "success";
    case IC_STATUS_INVALID_ARGUMENT: return "invalid argument";
    case IC_STATUS_UNSUPPORTED: return "unsupported";
    case IC_STATUS_OUT_OF_MEMORY: return "out of memory";
    case IC_STATUS_INTERNAL_ERROR: return "internal error";
  }
  return "unknown status";
}
