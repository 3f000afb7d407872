package dev.invconv.safetensors;

/**
 * A safetensors file is malformed, or does not hold the tensor asked for (missing, or of
 * another dtype or shape). The message names the file and, where there is one, the tensor.
 *
 * <p>Unchecked, like the other validation errors of this library, so that looking tensors up
 * while building a model needs no {@code throws} clauses. Failures to read the file at all
 * (missing, unreadable) remain {@link java.io.IOException}s from {@link SafeTensors#open}.
 */
public class SafeTensorsException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** An exception with a message naming the file and tensor. */
    public SafeTensorsException(String message) {
        super(message);
    }

    /** An exception with a message naming the file and tensor, and the underlying cause. */
    public SafeTensorsException(String message, Throwable cause) {
        super(message, cause);
    }
}
