package dev.bertft.cuda;

/**
 * The GPU cannot be used, with the reason in words: no CUDA driver (libcuda.so.1), no device,
 * a driver too old for our PTX, or a kernel module that failed to load. Thrown by
 * {@link CudaBackend#open} so that {@code --device cuda} fails with one clear line instead of
 * falling back to the CPU.
 */
public final class CudaUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CudaUnavailableException(String message) {
        super(message);
    }

    public CudaUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
