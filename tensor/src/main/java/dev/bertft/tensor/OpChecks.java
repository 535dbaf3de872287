package dev.bertft.tensor;

/**
 * The argument checks every backend makes where {@link Tensor} cannot: on values (labels, ids) and
 * on the destinations of in-place ops, which are backend calls, not tensor ops. One place, so the
 * CPU and CUDA backends refuse the same inputs with the same words.
 */
public final class OpChecks {
    private OpChecks() {
    }

    /**
     * Cross-entropy labels: each is {@code ignoreIndex} or a class in [0, classes).
     *
     * @return how many rows count (those not ignored)
     */
    public static int countedLabels(int[] labels, int classes, int ignoreIndex) {
        int counted = 0;
        for (int r = 0; r < labels.length; r++) {
            int l = labels[r];
            if (l == ignoreIndex) continue;
            if (l < 0 || l >= classes) {
                throw new IllegalArgumentException("cross_entropy: label " + l + " at row " + r + " is outside [0, " + classes + ")");
            }
            counted++;
        }
        return counted;
    }

    /** Embedding ids: each in [0, vocab). */
    public static void checkIds(int[] ids, int vocab) {
        for (int t = 0; t < ids.length; t++) {
            if (ids[t] < 0 || ids[t] >= vocab) {
                throw new IllegalArgumentException("embedding: id " + ids[t] + " at position " + t + " is outside [0, " + vocab + ")");
            }
        }
    }

    /** An in-place op's destination: contiguous, with {@code src}'s shape and dtype. */
    public static void checkInPlace(Tensor dst, Tensor src) {
        if (!dst.isContiguous() || !dst.sameShape(src) || dst.dtype() != src.dtype()) {
            throw new IllegalArgumentException("in-place op: destination " + dst + " must be contiguous and match " + src);
        }
    }

    /** {@link Backend#copyInPlace}: any layout, but {@code src}'s shape and dtype. */
    public static void checkCopy(Tensor dst, Tensor src) {
        if (!dst.sameShape(src) || dst.dtype() != src.dtype()) {
            throw new IllegalArgumentException("copy: " + src + " does not match destination " + dst);
        }
    }
}
