package dev.bertft.api;

import java.util.Arrays;
import java.util.Map;

/**
 * What the model says about one text (or pair): the most likely label, softmax probabilities over all of the
 * model's labels, and the raw logits they come from, as {@code bert-ft predict} prints them.
 *
 * <p>The arrays are this prediction's own (a caller changing them changes nothing else); they are indexed by
 * label id, the keys of config.json's id2label.
 *
 * @param label         the name of the most likely label, from config.json's id2label
 * @param labelId       its index (the first of equally likely ones)
 * @param probabilities softmax of the logits: one per label, summing to 1
 * @param logits        the classifier's outputs before the softmax
 */
public record Prediction(String label, int labelId, float[] probabilities, float[] logits) {

    /** The prediction for {@code logits[from, from + labels)}; the softmax in double, max-subtracted, then rounded to float. */
    static Prediction ofLogits(float[] logits, int from, Map<Integer, String> id2label) {
        int c = id2label.size();
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        int best = 0;
        for (int j = 0; j < c; j++) {
            if (logits[from + j] > max) {
                max = logits[from + j];
                best = j;
            }
        }
        double[] exp = new double[c];
        for (int j = 0; j < c; j++) sum += exp[j] = Math.exp(logits[from + j] - max);
        float[] probs = new float[c];
        for (int j = 0; j < c; j++) probs[j] = (float) (exp[j] / sum);
        return new Prediction(id2label.get(best), best, probs, Arrays.copyOfRange(logits, from, from + c));
    }

    /** Equal labels and equal numbers, element by element (a record alone would compare the arrays' identity). */
    @Override
    public boolean equals(Object o) {
        return o instanceof Prediction p && label.equals(p.label) && labelId == p.labelId
                && Arrays.equals(probabilities, p.probabilities) && Arrays.equals(logits, p.logits);
    }

    /** Consistent with {@link #equals}. */
    @Override
    public int hashCode() {
        return 31 * (31 * label.hashCode() + labelId) + Arrays.hashCode(probabilities);
    }

    /** The label and the numbers, for logs. */
    @Override
    public String toString() {
        return "Prediction[label=" + label + ", labelId=" + labelId + ", probabilities=" + Arrays.toString(probabilities)
                + ", logits=" + Arrays.toString(logits) + "]";
    }
}
