package dev.bertft.train;

/**
 * Classification metrics from a confusion matrix. F1 is the F1 of class 1 for two classes
 * (as sklearn's default binary average) and the macro average over classes otherwise.
 */
public record Metrics(double loss, long[][] confusion) {

    /** confusion[true][predicted]. */
    public static long[][] confusion(int[] labels, int[] predictions, int classes) {
        long[][] c = new long[classes][classes];
        for (int i = 0; i < labels.length; i++) c[labels[i]][predictions[i]]++;
        return c;
    }

    public long count() {
        long n = 0;
        for (long[] row : confusion) for (long v : row) n += v;
        return n;
    }

    public double accuracy() {
        long right = 0;
        for (int k = 0; k < confusion.length; k++) right += confusion[k][k];
        return count() == 0 ? Double.NaN : (double) right / count();
    }

    public double f1() {
        if (confusion.length == 2) return f1(1);
        double sum = 0;
        for (int k = 0; k < confusion.length; k++) sum += f1(k);
        return sum / confusion.length;
    }

    /** 2·tp / (2·tp + fp + fn); 0 when the class never occurs nor is predicted. */
    private double f1(int k) {
        long tp = confusion[k][k], fp = 0, fn = 0;
        for (int j = 0; j < confusion.length; j++) {
            if (j == k) continue;
            fp += confusion[j][k];
            fn += confusion[k][j];
        }
        return tp == 0 ? 0.0 : 2.0 * tp / (2.0 * tp + fp + fn);
    }

    /** The value named by --metric-for-best-model. */
    public double get(String name) {
        return switch (name) {
            case "loss" -> loss;
            case "accuracy" -> accuracy();
            case "f1" -> f1();
            default -> throw new IllegalArgumentException("unknown metric " + name);
        };
    }
}
