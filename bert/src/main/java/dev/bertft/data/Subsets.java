package dev.bertft.data;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Seeded random choices of examples. Both keep the chosen examples in their original order, so a choice is
 * a pure filter, and the same seed on the same data always makes the same choice.
 */
final class Subsets {
    /** Train and eval parts of a list after holding out round(fraction * n) examples (at least one each). */
    record Split<T>(List<T> train, List<T> eval) {
    }

    private Subsets() {
    }

    static <T> Split<T> holdOut(List<T> all, double fraction, SplittableRandom random, String source) throws DataException {
        int n = all.size();
        if (n < 2) throw new DataException(source + ": " + n + " example(s), too few to split off a validation set");
        int k = (int) Math.max(1, Math.min(n - 1, Math.round(fraction * n)));
        boolean[] held = chosen(n, k, random);
        List<T> train = new ArrayList<>(n - k), eval = new ArrayList<>(k);
        for (int i = 0; i < n; i++) (held[i] ? eval : train).add(all.get(i));
        return new Split<>(train, eval);
    }

    /** {@code max} examples chosen uniformly at random, or all of them when max is 0 or at least the size. */
    static <T> List<T> sample(List<T> all, int max, SplittableRandom random) {
        int n = all.size();
        if (max <= 0 || max >= n) return all;
        boolean[] keep = chosen(n, max, random);
        List<T> out = new ArrayList<>(max);
        for (int i = 0; i < n; i++) if (keep[i]) out.add(all.get(i));
        return out;
    }

    /** k of n indices without replacement: the first k steps of a Fisher-Yates shuffle. */
    private static boolean[] chosen(int n, int k, SplittableRandom random) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        boolean[] picked = new boolean[n];
        for (int i = 0; i < k; i++) {
            int j = i + random.nextInt(n - i);   // uniform in [i, n)
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
            picked[order[i]] = true;
        }
        return picked;
    }
}
