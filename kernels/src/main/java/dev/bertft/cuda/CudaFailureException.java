package dev.bertft.cuda;

/**
 * A CUDA call failed while the backend was working: a kernel fault, a launch error, a failed
 * copy. The message names what was being done; the driver's error code is in the message too.
 * After a kernel fault the CUDA context is unusable and the process should end.
 */
public class CudaFailureException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CudaFailureException(String message, Throwable cause) {
        super(message, cause);
    }

    public CudaFailureException(String message) {
        super(message);
    }
}
