package dev.bertft.tensor.cpu;

import dev.bertft.tensor.DType;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Arrays that memory scopes gave back, for the next tensors: a training step makes the same tensors
 * as the one before, so after the first step they come from here instead of from the allocator
 * (which zeroes each one and later collects it).
 *
 * <p>A tensor takes the shortest free array of its kind that holds it, up to twice its size, so an
 * array may be longer than its tensor (the CPU backend reads only a tensor's own elements). Steps of a
 * fixed shape find arrays of their exact sizes; evaluation and prediction, whose batches shrink as
 * they go (longest texts first) and differ in length by a few tokens, reuse the previous batch's
 * arrays instead of leaving them to the collector at every batch.
 *
 * <p>The pool never holds more bytes than the scopes ever had out at once (the peak of one step);
 * past that, the arrays given back longest ago go to the collector. Thread-safe.
 */
final class ArrayPool {
    /** A request takes an array of at most this many times its own length. */
    private static final int MOST_LONGER = 2;

    /** Free arrays of each kind by length. */
    private final Map<Class<?>, TreeMap<Integer, ArrayDeque<Object>>> free = new HashMap<>();
    /** Every free array and its kind, the one given back longest ago first (arrays hash by identity). */
    private final LinkedHashMap<Object, Class<?>> byAge = new LinkedHashMap<>();
    private long heldBytes;
    /** Bytes of the arrays scopes have out now, and the most they ever had. */
    private long lentBytes, peakLentBytes;

    /**
     * A free array of {@code dtype} with at least {@code n} elements (at most twice as many), holding
     * old values; null if there is none.
     */
    synchronized Object take(DType dtype, int n) {
        TreeMap<Integer, ArrayDeque<Object>> lengths = free.get(kind(dtype));
        Map.Entry<Integer, ArrayDeque<Object>> fit = lengths == null ? null : lengths.ceilingEntry(n);
        if (fit == null || fit.getKey() / MOST_LONGER > n) return null;
        Object array = fit.getValue().pop();
        if (fit.getValue().isEmpty()) lengths.remove(fit.getKey());
        byAge.remove(array);
        heldBytes -= bytes(array);
        return array;
    }

    /** A scope now owns {@code array}. */
    synchronized void lent(Object array) {
        lentBytes += bytes(array);
        peakLentBytes = Math.max(peakLentBytes, lentBytes);
    }

    /** A scope's array left every scope (its tensor was kept by the outermost one): the collector frees it. */
    synchronized void forget(Object array) {
        lentBytes -= bytes(array);
    }

    /** A scope gives back an array. */
    synchronized void give(Object array) {
        long bytes = bytes(array);
        lentBytes -= bytes;
        free.computeIfAbsent(array.getClass(), k -> new TreeMap<>()).computeIfAbsent(length(array), k -> new ArrayDeque<>()).push(array);
        byAge.put(array, array.getClass());
        heldBytes += bytes;
        var oldest = byAge.entrySet().iterator();
        while (heldBytes > peakLentBytes) {
            Map.Entry<Object, Class<?>> e = oldest.next();
            oldest.remove();
            TreeMap<Integer, ArrayDeque<Object>> lengths = free.get(e.getValue());
            int length = length(e.getKey());
            ArrayDeque<Object> same = lengths.get(length);
            same.removeFirstOccurrence(e.getKey());
            if (same.isEmpty()) lengths.remove(length);
            heldBytes -= bytes(e.getKey());
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

    private static int length(Object array) {
        return java.lang.reflect.Array.getLength(array);
    }

    private static long bytes(Object array) {
        long n = length(array);
        if (array instanceof double[]) return 8 * n;
        return array instanceof short[] ? 2 * n : 4 * n;
    }
}
