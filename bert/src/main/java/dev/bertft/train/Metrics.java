package dev.bertft.train;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Evaluation metrics under the names Hugging Face's examples log them with (without "eval_"): the mean
 * loss, and per problem type ({@link ProblemType#metricNames}) accuracy and F1 (of class 1 for two
 * classes, as sklearn's default binary average, else the macro average); mse, rmse, pearson and
 * spearmanr (ties get their average rank, as scipy.stats.spearmanr); exact-match accuracy (every label
 * of an example right, sklearn's accuracy_score on multi-hot rows), f1_micro and f1_macro, with a
 * label predicted when its sigmoid exceeds 0.5. An undefined F1 (a class never true nor predicted)
 * counts 0, as sklearn's zero_division; a correlation of constant values is NaN.
 *
 * @param confusion confusion[true][predicted] for single-label classification, else null
 */
public record Metrics(double loss, long count, Map<String, Double> scores, long[][] confusion) {
    public Metrics {
        scores = Collections.unmodifiableMap(new LinkedHashMap<>(scores));
    }

    /** confusion[true][predicted]. */
    public static long[][] confusion(int[] labels, int[] predictions, int classes) {
        long[][] c = new long[classes][classes];
        for (int i = 0; i < labels.length; i++) c[labels[i]][predictions[i]]++;
        return c;
    }

    public static Metrics singleLabel(double loss, int[] labels, int[] predictions, int classes) {
        long[][] c = confusion(labels, predictions, classes);
        long right = 0;
        for (int k = 0; k < classes; k++) right += c[k][k];
        double f1;
        if (classes == 2) {
            f1 = f1(c[1][1], c[0][1], c[1][0]);
        } else {
            double sum = 0;
            for (int k = 0; k < classes; k++) {
                long fp = 0, fn = 0;
                for (int j = 0; j < classes; j++) {
                    if (j == k) continue;
                    fp += c[j][k];
                    fn += c[k][j];
                }
                sum += f1(c[k][k], fp, fn);
            }
            f1 = sum / classes;
        }
        Map<String, Double> s = new LinkedHashMap<>();
        s.put("accuracy", labels.length == 0 ? Double.NaN : (double) right / labels.length);
        s.put("f1", f1);
        return new Metrics(loss, labels.length, s, c);
    }

    public static Metrics regression(double loss, double[] labels, double[] predictions) {
        double squares = 0;
        for (int i = 0; i < labels.length; i++) squares += (predictions[i] - labels[i]) * (predictions[i] - labels[i]);
        double mse = squares / labels.length;
        Map<String, Double> s = new LinkedHashMap<>();
        s.put("mse", mse);
        s.put("rmse", Math.sqrt(mse));
        s.put("pearson", pearson(predictions, labels));
        s.put("spearmanr", pearson(ranks(predictions), ranks(labels)));
        return new Metrics(loss, labels.length, s, null);
    }

    /** labels and predicted: [N][C] 0/1 rows. */
    public static Metrics multiLabel(double loss, boolean[][] labels, boolean[][] predicted) {
        int n = labels.length, classes = n == 0 ? 0 : labels[0].length;
        long exact = 0, tpAll = 0, fpAll = 0, fnAll = 0;
        long[] tp = new long[classes], fp = new long[classes], fn = new long[classes];
        for (int i = 0; i < n; i++) {
            if (Arrays.equals(labels[i], predicted[i])) exact++;
            for (int k = 0; k < classes; k++) {
                if (labels[i][k] && predicted[i][k]) tp[k]++;
                else if (predicted[i][k]) fp[k]++;
                else if (labels[i][k]) fn[k]++;
            }
        }
        double macro = 0;
        for (int k = 0; k < classes; k++) {
            macro += f1(tp[k], fp[k], fn[k]);
            tpAll += tp[k];
            fpAll += fp[k];
            fnAll += fn[k];
        }
        Map<String, Double> s = new LinkedHashMap<>();
        s.put("accuracy", n == 0 ? Double.NaN : (double) exact / n);
        s.put("f1_micro", f1(tpAll, fpAll, fnAll));
        s.put("f1_macro", classes == 0 ? Double.NaN : macro / classes);
        return new Metrics(loss, n, s, null);
    }

    /** 2·tp / (2·tp + fp + fn); 0 when the class never occurs nor is predicted. */
    private static double f1(long tp, long fp, long fn) {
        return tp == 0 ? 0.0 : 2.0 * tp / (2.0 * tp + fp + fn);
    }

    private static double pearson(double[] x, double[] y) {
        int n = x.length;
        double mx = 0, my = 0;
        for (int i = 0; i < n; i++) {
            mx += x[i] / n;
            my += y[i] / n;
        }
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < n; i++) {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxx == 0 || syy == 0 ? Double.NaN : sxy / Math.sqrt(sxx * syy);
    }

    /** 1-based ranks, tied values sharing the mean of the ranks they span. */
    static double[] ranks(double[] v) {
        Integer[] order = new Integer[v.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Double.compare(v[a], v[b]));
        double[] rank = new double[v.length];
        for (int start = 0; start < order.length; ) {
            int end = start;
            while (end + 1 < order.length && v[order[end + 1]] == v[order[start]]) end++;
            double shared = (start + end) / 2.0 + 1;
            for (int i = start; i <= end; i++) rank[order[i]] = shared;
            start = end + 1;
        }
        return rank;
    }

    /** The value named by --metric-for-best-model ("loss" or one of {@link #scores}). */
    public double get(String name) {
        if (name.equals("loss")) return loss;
        Double v = scores.get(name);
        if (v == null) throw new IllegalArgumentException("no metric " + name + " here (loss, " + String.join(", ", scores.keySet()) + ")");
        return v;
    }
}
