package dev.invconv;

import dev.invconv.bindings.invconv_h;

import java.lang.foreign.MemorySegment;

/** Turns the C library's status codes into Java exceptions carrying its message. */
final class Status {

    private Status() {}

    /**
     * Throws the exception for a failed native call, with the library's thread-local message.
     * Invalid arguments become {@link IllegalArgumentException}, unsupported requests
     * {@link UnsupportedOperationException}, failed allocations {@link OutOfMemoryError}; anything
     * else is a bug of ours and becomes {@link IllegalStateException}.
     */
    static void check(int status) {
        if (status == invconv_h.IC_STATUS_SUCCESS()) {
            return;
        }
        String message = string(invconv_h.ic_last_error());
        if (message.isEmpty()) {
            message = string(invconv_h.ic_status_string(status));
        }
        if (status == invconv_h.IC_STATUS_INVALID_ARGUMENT()) {
            throw new IllegalArgumentException(message);
        } else if (status == invconv_h.IC_STATUS_UNSUPPORTED()) {
            throw new UnsupportedOperationException(message);
        } else if (status == invconv_h.IC_STATUS_OUT_OF_MEMORY()) {
            throw new OutOfMemoryError("invconv: " + message);
        }
        throw new IllegalStateException("invconv internal error (status " + status + "): " + message);
    }

    /** Reads a NUL-terminated string of static or thread-local native storage. */
    static String string(MemorySegment cString) {
        return cString.equals(MemorySegment.NULL) ? "" : cString.reinterpret(Long.MAX_VALUE).getString(0);
    }
}
