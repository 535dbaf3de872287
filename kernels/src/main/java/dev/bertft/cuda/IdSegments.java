package dev.bertft.cuda;

import java.util.stream.IntStream;

/**
 * Token positions grouped by id for the embedding backward: segment s covers id ids[s] and the
 * positions order[start[s] .. start[s+1]), increasing. Ids increase from segment to segment.
 *
 * <p>Built by a counting sort over the ids' range, stable, so each id's positions keep their
 * order: O(tokens + range), where sorting (id, position) pairs took O(tokens · log tokens). It is
 * host work of every training step on the GPU (three embeddings, up to 16,384 tokens each), and
 * the range is at most the vocabulary, the ids having been checked against it by the forward.
 */
record IdSegments(int[] ids, int[] start, int[] order) {

    int count() {
        return ids.length;
    }

    /**
     * The segments of {@link EmbeddingKernels#LONG_SEGMENT} positions or more (every token's token
     * type 0, a batch's padding), in order: the embedding backward gives each a block of its own.
     */
    int[] longOnes() {
        return IntStream.range(0, count()).filter(s -> start[s + 1] - start[s] >= EmbeddingKernels.LONG_SEGMENT).toArray();
    }

    /** How many long segments {@code tokens} positions can hold (at least 1, a grid's least). */
    static int mostLong(int tokens) {
        return Math.max(1, tokens / EmbeddingKernels.LONG_SEGMENT);
    }

    static IdSegments of(int[] tokenIds) {
        int n = tokenIds.length;
        if (n == 0) return new IdSegments(new int[0], new int[] {0}, new int[0]);
        int lo = Integer.MAX_VALUE, hi = Integer.MIN_VALUE;
        for (int id : tokenIds) {
            lo = Math.min(lo, id);
            hi = Math.max(hi, id);
        }
        // next[v]: where the next position of id lo + v goes; first the number of ids below it
        int[] next = new int[hi - lo + 2];
        for (int id : tokenIds) next[id - lo + 1]++;
        int segments = 0;
        for (int v = 1; v < next.length; v++) {
            if (next[v] > 0) segments++;
            next[v] += next[v - 1];
        }
        int[] order = new int[n];
        for (int t = 0; t < n; t++) order[next[tokenIds[t] - lo]++] = t;
        // next[v] now ends id lo + v's run
        int[] ids = new int[segments], start = new int[segments + 1];
        for (int s = 0, i = 0; i < n; s++) {
            int id = tokenIds[order[i]];
            ids[s] = id;
            start[s] = i;
            i = next[id - lo];
        }
        start[segments] = n;
        return new IdSegments(ids, start, order);
    }
}
