import java.util.*;

/** Scratch: the old IdSegments.of (sorting packed pairs) against the counting sort, per step's three embeddings. */
public class IdSegHarness {
    static int[] keep;
    static int[] sortPairs(int[] tokenIds) {
        int n = tokenIds.length;
        long[] keys = new long[n];
        for (int t = 0; t < n; t++) keys[t] = ((long) tokenIds[t] << 32) | t;
        Arrays.sort(keys);
        int[] order = new int[n], ids = new int[n], start = new int[n + 1];
        int segments = 0;
        for (int i = 0; i < n; i++) {
            int id = (int) (keys[i] >>> 32);
            order[i] = (int) keys[i];
            if (segments == 0 || id != ids[segments - 1]) { ids[segments] = id; start[segments++] = i; }
        }
        start[segments] = n;
        keep = Arrays.copyOf(ids, segments);
        keep = Arrays.copyOf(start, segments + 1);
        return order;
    }
    static int[] counting(int[] tokenIds) {
        int n = tokenIds.length;
        int lo = Integer.MAX_VALUE, hi = Integer.MIN_VALUE;
        for (int id : tokenIds) { lo = Math.min(lo, id); hi = Math.max(hi, id); }
        int[] next = new int[hi - lo + 2];
        for (int id : tokenIds) next[id - lo + 1]++;
        int segments = 0;
        for (int v = 1; v < next.length; v++) { if (next[v] > 0) segments++; next[v] += next[v - 1]; }
        int[] order = new int[n];
        for (int t = 0; t < n; t++) order[next[tokenIds[t] - lo]++] = t;
        int[] ids = new int[segments], start = new int[segments + 1];
        for (int s = 0, i = 0; i < n; s++) { int id = tokenIds[order[i]]; ids[s] = id; start[s] = i; i = next[id - lo]; }
        start[segments] = n;
        return order;
    }
    public static void main(String[] a) {
        int tokens = Integer.parseInt(a[0]);
        Random r = new Random(1);
        int[] word = new int[tokens], pos = new int[tokens], type = new int[tokens];
        int len = tokens / 32;
        for (int t = 0; t < tokens; t++) { word[t] = r.nextInt(30522); pos[t] = t % len; type[t] = t % len < len / 2 ? 0 : 1; }
        long sink = 0;
        for (int round = 0; round < 7; round++) {
            double[] ms = new double[2];
            for (int v = 0; v < 2; v++) {
                int reps = 200;
                long t0 = System.nanoTime();
                for (int k = 0; k < reps; k++) {
                    for (int[] ids : new int[][] {word, pos, type}) sink += (v == 0 ? sortPairs(ids) : counting(ids))[k % tokens];
                }
                ms[v] = (System.nanoTime() - t0) / 1e6 / reps;
            }
            System.out.printf("round %d, %d tokens, three embeddings a step: sorted pairs %.3f ms, counting sort %.3f ms%n", round, tokens, ms[0], ms[1]);
        }
        System.out.println(sink == 42 ? "" : "done");
    }
}
