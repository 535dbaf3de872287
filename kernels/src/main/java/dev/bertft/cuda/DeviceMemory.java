package dev.bertft.cuda;

/**
 * Raw device memory as the {@link CachingAllocator} sees it: allocate and free whole blocks.
 * The driver implementation wraps cuMemAlloc/cuMemFree; tests use a fake.
 *
 * @param <P> the handle of one block (a device pointer)
 */
public interface DeviceMemory<P> {
    /** A new block of exactly {@code bytes}, or null when the device is out of memory. */
    P allocate(long bytes);

    void free(P block);
}
