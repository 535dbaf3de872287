package dev.bertft.api;

import dev.bertft.classifier.ProblemType;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * What the model says about one text (or pair), read as its config.json's {@code problem_type} says, the way
 * {@code bert-ft predict} and transformers' text-classification pipeline read the logits:
 * <ul>
 * <li><b>single_label_classification</b> (one class per text): {@link #label()} and {@link #labelId()} are the
 *     most likely label; {@link #probabilities()} the softmax over all labels, summing to 1; {@link #score()}
 *     the probability of the label; {@link #labels()} the label alone.</li>
 * <li><b>multi_label_classification</b> (any number of labels per text): {@link #labels()} and
 *     {@link #labelIds()} are every label whose probability is above 0.5, none or several;
 *     {@link #probabilities()} the sigmoid of each logit, each label on its own; {@link #label()},
 *     {@link #labelId()} and {@link #score()} the most likely label and its probability, even below 0.5.</li>
 * <li><b>regression</b> (a number per text): {@link #score()} is the predicted value, the model's one
 *     output; {@link #label()} the name of that output (id2label[0], "LABEL_0" unless renamed);
 *     {@link #labels()} and {@link #probabilities()} are empty.</li>
 * </ul>
 * The arrays are this prediction's own (a caller changing them changes nothing else) and indexed by label id,
 * the keys of config.json's id2label.
 *
 * @param problemType   how the logits are read: single-label, multi-label or regression
 * @param label         the most likely label's name, from config.json's id2label (regression: the output's name)
 * @param labelId       its index (the first of equally likely ones)
 * @param score         the label's probability; for regression the predicted value
 * @param labels        the labels the model assigns: the one label, those above 0.5 (multi-label), none (regression)
 * @param labelIds      their indices, ascending
 * @param probabilities per label: softmax (single-label) or sigmoid (multi-label); empty for regression
 * @param logits        the classifier's raw outputs
 */
public record Prediction(ProblemType problemType, String label, int labelId, float score, List<String> labels, int[] labelIds,
                         float[] probabilities, float[] logits) {

    /** Multi-label: a label is assigned when its sigmoid is above this, as transformers' pipeline does. */
    static final double ASSIGNED = 0.5;

    /** The prediction for {@code logits[from, from + labels)} of a model of this problem type. */
    static Prediction ofLogits(ProblemType type, float[] logits, int from, Map<Integer, String> id2label) {
        float[] own = Arrays.copyOfRange(logits, from, from + id2label.size());
        return switch (type) {
            case REGRESSION -> new Prediction(type, id2label.get(0), 0, own[0], List.of(), new int[0], new float[0], own);
            case SINGLE_LABEL_CLASSIFICATION -> {
                float[] probs = softmax(own);
                int best = argmax(own);
                yield new Prediction(type, id2label.get(best), best, probs[best], List.of(id2label.get(best)), new int[] {best}, probs, own);
            }
            case MULTI_LABEL_CLASSIFICATION -> {
                float[] probs = new float[own.length];
                List<String> names = new ArrayList<>();
                List<Integer> ids = new ArrayList<>();
                for (int j = 0; j < own.length; j++) {
                    double sigmoid = 1 / (1 + Math.exp(-own[j]));
                    probs[j] = (float) sigmoid;
                    if (sigmoid > ASSIGNED) {
                        names.add(id2label.get(j));
                        ids.add(j);
                    }
                }
                int best = argmax(own);
                yield new Prediction(type, id2label.get(best), best, probs[best], List.copyOf(names),
                        ids.stream().mapToInt(Integer::intValue).toArray(), probs, own);
            }
        };
    }

    /** The first index of the largest logit. */
    private static int argmax(float[] logits) {
        int best = 0;
        for (int j = 1; j < logits.length; j++) if (logits[j] > logits[best]) best = j;
        return best;
    }

    /** Softmax in double, max-subtracted, then rounded to float. */
    private static float[] softmax(float[] logits) {
        double max = logits[argmax(logits)], sum = 0;
        double[] exp = new double[logits.length];
        for (int j = 0; j < logits.length; j++) sum += exp[j] = Math.exp(logits[j] - max);
        float[] probs = new float[logits.length];
        for (int j = 0; j < logits.length; j++) probs[j] = (float) (exp[j] / sum);
        return probs;
    }

    /** Equal kinds, labels and numbers, element by element (a record alone would compare the arrays' identity). */
    @Override
    public boolean equals(Object o) {
        return o instanceof Prediction p && problemType == p.problemType && label.equals(p.label) && labelId == p.labelId
                && Float.compare(score, p.score) == 0 && labels.equals(p.labels) && Arrays.equals(labelIds, p.labelIds)
                && Arrays.equals(probabilities, p.probabilities) && Arrays.equals(logits, p.logits);
    }

    /** Consistent with {@link #equals}. */
    @Override
    public int hashCode() {
        return 31 * (31 * label.hashCode() + labels.hashCode()) + Arrays.hashCode(logits);
    }

    /** The kind, the labels and the numbers, for logs. */
    @Override
    public String toString() {
        return "Prediction[" + problemType.hfName() + ", label=" + label + ", labelId=" + labelId + ", score=" + score
                + ", labels=" + labels + ", probabilities=" + Arrays.toString(probabilities) + ", logits=" + Arrays.toString(logits) + "]";
    }
}
