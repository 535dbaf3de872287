package dev.bertft.cuda;

/** GPU memory ran out even after the allocator returned its cached blocks to the driver. */
public final class DeviceOutOfMemoryException extends CudaFailureException {
    public DeviceOutOfMemoryException(String message) {
        super(message);
    }
}
