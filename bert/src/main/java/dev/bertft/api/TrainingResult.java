package dev.bertft.api;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How a {@link FineTuning} run ended, as all_results.json records it.
 *
 * @param outputDir           the folder holding the fine-tuned model ({@link BertClassifier#load} and
 *                            {@code bert-ft predict} load it), its checkpoints and trainer_state.json
 * @param globalStep          updates made, counting those before a resume
 * @param stepsRun            updates made by this run
 * @param epoch               the epoch reached (fractional)
 * @param trainLoss           the mean training loss over this run's updates (NaN when none had a finite loss)
 * @param trainRuntimeSeconds the time this run trained
 * @param trainSamples        the examples this run trained on, repeats counted
 * @param evalMetrics         the final evaluation under Hugging Face's names ("eval_loss", "eval_accuracy", ...);
 *                            empty without evaluation data
 * @param bestCheckpoint      the checkpoint with the best metric for the best model, or null when no evaluation
 *                            was saved with a checkpoint
 * @param bestMetric          that checkpoint's metric, or null
 */
public record TrainingResult(Path outputDir, long globalStep, long stepsRun, double epoch, double trainLoss,
                             double trainRuntimeSeconds, long trainSamples, Map<String, Double> evalMetrics, Path bestCheckpoint,
                             Double bestMetric) {
    public TrainingResult {
        evalMetrics = Collections.unmodifiableMap(new LinkedHashMap<>(evalMetrics));
    }
}
