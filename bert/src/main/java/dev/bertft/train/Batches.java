package dev.bertft.train;

import dev.bertft.classifier.Batch;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Data order and collation. The order of epoch e is a pure function of (seed, e), so a resumed
 * run sees exactly the batches the uninterrupted run would have; each batch is padded only to
 * its own longest example (dynamic padding).
 */
public final class Batches {
    private Batches() {}

    /**
     * One tokenized example: ids with special tokens, token type ids, and its label: a class id, or
     * (regression, multi-label) float targets and the class id −1, as {@code data.Example}.
     */
    public record Tokenized(int[] ids, int[] typeIds, int label, float[] targets) {
        /** A single-label example. */
        public Tokenized(int[] ids, int[] typeIds, int label) {
            this(ids, typeIds, label, null);
        }
    }

    /**
     * The example order of one epoch: as given, a seeded shuffle, or (group-by-length, as HF's
     * LengthGroupedSampler) a seeded shuffle cut into mega-batches of 50 batches, each sorted by
     * length, longest first, so that batches waste little padding yet stay random.
     */
    public static int[] epochOrder(int[] lengths, long seed, int epoch, boolean shuffle, boolean groupByLength, int batchSize) {
        int n = lengths.length;
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        if (!shuffle && !groupByLength) return order;
        SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch);
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        if (!groupByLength) return order;
        int mega = 50 * batchSize;
        for (int start = 0; start < n; start += mega) {
            Integer[] chunk = new Integer[Math.min(mega, n - start)];
            for (int i = 0; i < chunk.length; i++) chunk[i] = order[start + i];
            Arrays.sort(chunk, Comparator.comparingInt((Integer i) -> lengths[i]).reversed());
            for (int i = 0; i < chunk.length; i++) order[start + i] = chunk[i];
        }
        return order;
    }

    /**
     * The examples longest first, equal lengths in their given order: the order evaluation and prediction run
     * in, so that each batch pads its texts to nearly their own length instead of to the longest of a random
     * handful (at BERT's 512 tokens almost every batch of 32 IMDB reviews holds one that long), and the batch
     * that needs the most memory comes first. Each example's logits are put back in place; whom it shares a
     * batch with changes only the float rounding, not the answer.
     */
    public static int[] longestFirst(int[] lengths) {
        return IntStream.range(0, lengths.length).boxed()
                .sorted(Comparator.comparingInt((Integer i) -> -lengths[i]))
                .mapToInt(Integer::intValue).toArray();
    }

    /** Cuts an order into batches of {@code batchSize} (the last one may be smaller). */
    public static List<int[]> split(int[] order, int batchSize) {
        List<int[]> out = new ArrayList<>();
        for (int start = 0; start < order.length; start += batchSize) {
            out.add(Arrays.copyOfRange(order, start, Math.min(order.length, start + batchSize)));
        }
        return out;
    }

    /** Pads the chosen examples to their longest and moves them to the device. */
    public static Batch collate(List<Tokenized> data, int[] indices, Backend backend, int padId) {
        int b = indices.length, t = 0, real = 0;
        for (int i : indices) t = Math.max(t, data.get(i).ids().length);
        int[] ids = new int[b * t], types = new int[b * t], mask = new int[b * t], labels = new int[b];
        float[] first = data.get(indices[0]).targets();
        float[] targets = first == null ? null : new float[b * first.length];
        Arrays.fill(ids, padId);
        for (int r = 0; r < b; r++) {
            Tokenized x = data.get(indices[r]);
            System.arraycopy(x.ids(), 0, ids, r * t, x.ids().length);
            System.arraycopy(x.typeIds(), 0, types, r * t, x.typeIds().length);
            Arrays.fill(mask, r * t, r * t + x.ids().length, 1);
            labels[r] = x.label();
            if (targets != null) System.arraycopy(x.targets(), 0, targets, r * first.length, first.length);
            real += x.ids().length;
        }
        Tensor labelTensor = targets == null ? Tensor.of(backend, labels, b) : Tensor.of(backend, targets, b, first.length);
        return new Batch(Tensor.of(backend, ids, b, t), Tensor.of(backend, types, b, t), Tensor.of(backend, mask, b, t),
                labelTensor, b, real);
    }
}
