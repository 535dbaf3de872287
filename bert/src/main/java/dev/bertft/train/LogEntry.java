package dev.bertft.train;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One entry of the run's log history, as trainer_state.json's log_history and log.jsonl hold it: the values
 * under Hugging Face's names, in its order ("loss", "grad_norm", "learning_rate" at a logging step;
 * "eval_loss", "eval_accuracy", ... at an evaluation; "train_runtime", ..., "train_loss" at the end), with the
 * epoch and the update step reached. A value that was not finite is NaN here and null in the files.
 */
public record LogEntry(long step, double epoch, Map<String, Double> values) {
    public LogEntry {
        values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    /** The mean training loss since the previous logging step, or null when this entry is not a training log. */
    public Double loss() {
        return values.get("loss");
    }

    /** The learning rate after this step's update, or null when this entry is not a training log. */
    public Double learningRate() {
        return values.get("learning_rate");
    }

    /** The gradient norm before clipping, or null when this entry is not a training log. */
    public Double gradNorm() {
        return values.get("grad_norm");
    }

    /** An evaluation's values ("eval_loss", "eval_accuracy", ..., "eval_runtime"); empty in the other entries. */
    public Map<String, Double> evalMetrics() {
        Map<String, Double> out = new LinkedHashMap<>();
        values.forEach((k, v) -> {
            if (k.startsWith("eval_")) out.put(k, v);
        });
        return Collections.unmodifiableMap(out);
    }
}
