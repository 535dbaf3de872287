package dev.bertft.safetensors;

import java.util.Arrays;

/**
 * One header entry: the tensor's name, element type, shape (row major) and its byte range
 * [begin, end) relative to the start of the data buffer (the byte after the header).
 * The shape array is copied in and out, so an instance cannot be changed.
 */
public record TensorInfo(String name, StoredType dtype, long[] shape, long begin, long end) {

    public TensorInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Product of the shape; 1 for a scalar (shape []). Validated not to overflow when opened. */
    public long elementCount() {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    public long byteSize() {
        return end - begin;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype
                && Arrays.equals(shape, t.shape) && begin == t.begin && end == t.end;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + dtype + " " + Arrays.toString(shape) + " bytes [" + begin + ", " + end + ")";
    }
}
