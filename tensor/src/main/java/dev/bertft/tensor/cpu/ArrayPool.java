package dev.bertft.tensor.cpu;

import dev.bertft.tensor.DType;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Arrays that memory scopes gave back, by kind and length, for the next tensors of the same size:
 * a training step makes the same tensors as the one before, so after the first step they come from
 * here instead of from the allocator (which zeroes each one and later collects it).
 * It never holds more bytes than the scopes ever had out at once (the peak of one step); past
 * that, the sizes used least recently go to the collector. Thread-safe.
 */
final class ArrayPool {
    private record Key(Class<?> kind, int length, long bytes) {
        static Key of(DType dtype, int n) {
            return new Key(ArrayPool.kind(dtype), n, (long) n * dtype.bytes());
        }
    }

    /** Free arrays by size, least recently used size first. */
    private final LinkedHashMap<Key, ArrayDeque<Object>> free = new LinkedHashMap<>(64, 0.75f, true);
    private long heldBytes;
    /** Bytes of the arrays scopes have out now, and the most they ever had. */
    private long lentBytes, peakLentBytes;

    /** A free array of {@code n} elements of {@code dtype}, holding old values; null if there is none. */
    synchronized Object take(DType dtype, int n) {
        Key key = Key.of(dtype, n);
        ArrayDeque<Object> arrays = free.get(key);
        if (arrays == null || arrays.isEmpty()) return null;
        heldBytes -= key.bytes();
        return arrays.pop();
    }

    /** A scope now owns {@code bytes} more. */
    synchronized void lent(long bytes) {
        lentBytes += bytes;
        peakLentBytes = Math.max(peakLentBytes, lentBytes);
    }

    /** A scope's tensor left every scope (it was kept by the outermost one): the collector frees it. */
    synchronized void forget(long bytes) {
        lentBytes -= bytes;
    }

    /** A scope gives back an array of {@code n} elements of {@code dtype}. */
    synchronized void give(Object array, DType dtype, int n) {
        Key key = Key.of(dtype, n);
        lentBytes -= key.bytes();
        free.computeIfAbsent(key, k -> new ArrayDeque<>()).push(array);
        heldBytes += key.bytes();
        Iterator<Map.Entry<Key, ArrayDeque<Object>>> sizes = free.entrySet().iterator();
        while (heldBytes > peakLentBytes && sizes.hasNext()) {
            Map.Entry<Key, ArrayDeque<Object>> e = sizes.next();
            while (heldBytes > peakLentBytes && !e.getValue().isEmpty()) {
                e.getValue().pop();
                heldBytes -= e.getKey().bytes();
            }
            if (e.getValue().isEmpty()) sizes.remove();
        }
    }

    synchronized long heldBytes() {
        return heldBytes;
    }

    private static Class<?> kind(DType dtype) {
        return switch (dtype) {
            case F32 -> float[].class;
            case F64 -> double[].class;
            case I32 -> int[].class;
            case BF16, F16 -> short[].class;
        };
    }
}
