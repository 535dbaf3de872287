package dev.bertft.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bertft.classifier.ProblemType;

import java.util.Map;

/**
 * What {@code predict} prints for one text, by problem type, as transformers' text-classification
 * pipeline reads the logits: single-label, {"label", "label_id", "probs" (softmax), "logits"};
 * regression, {"score", the output itself}; multi-label, {"labels" and "label_ids" whose sigmoid
 * is above 0.5, "probs" (sigmoid per label), "logits"}.
 */
final class PredictionLine {
    private PredictionLine() {
    }

    /** The line for {@code logits[from, from + c)}. */
    static ObjectNode of(ProblemType type, Map<Integer, String> id2label, float[] logits, int from, int c) {
        ObjectNode line = JsonNodeFactory.instance.objectNode();
        switch (type) {
            case REGRESSION -> line.put("score", logits[from]);
            case SINGLE_LABEL_CLASSIFICATION -> {
                // softmax in double, max-subtracted
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                int best = 0;
                for (int j = 0; j < c; j++) {
                    if (logits[from + j] > max) {
                        max = logits[from + j];
                        best = j;
                    }
                }
                double[] probs = new double[c];
                for (int j = 0; j < c; j++) sum += probs[j] = Math.exp(logits[from + j] - max);
                line.put("label", id2label.get(best));
                line.put("label_id", best);
                ArrayNode p = line.putArray("probs");
                for (int j = 0; j < c; j++) p.add((float) (probs[j] / sum));
                logits(line, logits, from, c);
            }
            case MULTI_LABEL_CLASSIFICATION -> {
                ArrayNode names = line.putArray("labels"), ids = line.putArray("label_ids"), p = line.putArray("probs");
                for (int j = 0; j < c; j++) {
                    double sigmoid = 1 / (1 + Math.exp(-logits[from + j]));
                    p.add((float) sigmoid);
                    if (sigmoid > 0.5) {
                        names.add(id2label.get(j));
                        ids.add(j);
                    }
                }
                logits(line, logits, from, c);
            }
        }
        return line;
    }

    private static void logits(ObjectNode line, float[] logits, int from, int c) {
        ArrayNode l = line.putArray("logits");
        for (int j = 0; j < c; j++) l.add(logits[from + j]);
    }
}
