package dev.bertft.tensor;

/**
 * The memory behind one or more tensors. Each backend has its own kind (a Java array on the CPU,
 * a device allocation on a GPU); a tensor's view (shape, strides, offset) sits on top of it.
 */
public interface Storage {
    /** The backend that owns this memory and runs every op on it. */
    Backend backend();

    DType dtype();

    /** Number of elements held. */
    long size();
}
