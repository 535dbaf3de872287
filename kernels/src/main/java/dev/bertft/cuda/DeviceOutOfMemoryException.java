package dev.bertft.cuda;

/** GPU memory ran out even after the allocator returned its cached blocks to the driver. */
public final class DeviceOutOfMemoryException extends CudaFailureException {
    private static final long serialVersionUID = 1L;

    public DeviceOutOfMemoryException(String message) {
        super(message);
    }
}
