package dev.bertft.cuda;

import java.util.Arrays;

/**
 * Token positions grouped by id for the embedding backward: segment s covers id ids[s] and the
 * positions order[start[s] .. start[s+1]), increasing. Ids increase from segment to segment.
 * Built by sorting (id, position) pairs packed into longs.
 */
record IdSegments(int[] ids, int[] start, int[] order) {

    int count() {
        return ids.length;
    }

    static IdSegments of(int[] tokenIds) {
        int n = tokenIds.length;
        long[] keys = new long[n];
        for (int t = 0; t < n; t++) keys[t] = ((long) tokenIds[t] << 32) | t;
        Arrays.sort(keys);
        int[] order = new int[n], ids = new int[n], start = new int[n + 1];
        int segments = 0;
        for (int i = 0; i < n; i++) {
            int id = (int) (keys[i] >>> 32);
            order[i] = (int) keys[i];
            if (segments == 0 || id != ids[segments - 1]) {
                ids[segments] = id;
                start[segments++] = i;
            }
        }
        start[segments] = n;
        return new IdSegments(Arrays.copyOf(ids, segments), Arrays.copyOf(start, segments + 1), order);
    }
}
