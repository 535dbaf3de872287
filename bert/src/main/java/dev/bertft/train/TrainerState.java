package dev.bertft.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bertft.io.AtomicFiles;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * trainer_state.json as HF Trainer writes it: global step, fractional epoch, the best metric
 * with its step and checkpoint, the log history (one entry per logging step and evaluation),
 * and the stateful callbacks: the loop's TrainerControl, and EarlyStoppingCallback only when
 * early stopping was asked for.
 */
public final class TrainerState {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    long globalStep;
    /**
     * The learning-rate scheduler's steps (torch's last_epoch): the updates minus those the fp16 GradScaler
     * skipped, which HF's Trainer does not step the scheduler for. Kept in scheduler.json, not in this file.
     */
    long schedulerSteps;
    double epoch;
    Double bestMetric;
    Long bestGlobalStep;
    String bestModelCheckpoint;
    long maxSteps;
    /** HF's estimate of the training FLOPs so far: 6 × non-embedding parameters × input tokens. */
    double totalFlos;
    /** Input tokens of the batches trained on, padding included (HF counts input_ids.numel()); counted with include_num_input_tokens_seen. */
    long numInputTokensSeen;
    /** Whether each log entry carries {@link #numInputTokensSeen}, as HF's with include_num_input_tokens_seen. */
    boolean logTokensSeen;
    double numTrainEpochs;
    int loggingSteps, evalSteps, saveSteps, trainBatchSize;
    public long globalStep() {
        return globalStep;
    }

    /** The epoch reached, fractional. */
    public double epoch() {
        return epoch;
    }

    /** The checkpoint folder with the best metric so far, or null. */
    public String bestModelCheckpoint() {
        return bestModelCheckpoint;
    }

    /** The best value of the metric for the best model so far, or null before the first evaluation. */
    public Double bestMetric() {
        return bestMetric;
    }

    /** Evaluations since the best metric last improved (early stopping). */
    int evalsWithoutImprovement;
    /** The run's --early-stopping-patience; 0 leaves EarlyStoppingCallback out, as a Trainer without that callback does. */
    int earlyStoppingPatience;
    final TrainerControl control = new TrainerControl();
    final ArrayNode logHistory = JSON.createArrayNode();

    /** Appends a log entry: the given values, then epoch, the input tokens seen when counted, and step, as HF orders them. */
    ObjectNode log(Map<String, Double> values) {
        ObjectNode e = logHistory.addObject();
        values.forEach((k, v) -> {
            if (v == null || v.isNaN() || v.isInfinite()) e.putNull(k);
            else e.put(k, v);
        });
        e.put("epoch", round(epoch));
        if (logTokensSeen) e.put("num_input_tokens_seen", numInputTokensSeen);
        e.put("step", globalStep);
        return e;
    }

    static double round(double epoch) {
        return Math.round(epoch * 10_000) / 10_000.0;
    }

    ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        if (bestGlobalStep == null) o.putNull("best_global_step");
        else o.put("best_global_step", bestGlobalStep);
        if (bestMetric == null) o.putNull("best_metric");
        else o.put("best_metric", bestMetric);
        o.put("best_model_checkpoint", bestModelCheckpoint);
        o.put("epoch", round(epoch));
        o.put("eval_steps", evalSteps);
        o.put("global_step", globalStep);
        o.put("is_hyper_param_search", false);
        o.put("is_local_process_zero", true);
        o.put("is_world_process_zero", true);
        o.set("log_history", logHistory);
        o.put("logging_steps", loggingSteps);
        o.put("max_steps", maxSteps);
        o.put("num_input_tokens_seen", numInputTokensSeen);
        o.put("num_train_epochs", numTrainEpochs);
        o.put("save_steps", saveSteps);
        ObjectNode callbacks = o.putObject("stateful_callbacks");
        if (earlyStoppingPatience > 0) {
            ObjectNode early = callbacks.putObject("EarlyStoppingCallback");
            early.putObject("args").put("early_stopping_patience", earlyStoppingPatience).put("early_stopping_threshold", 0.0);
            early.putObject("attributes").put("early_stopping_patience_counter", evalsWithoutImprovement);
        }
        callbacks.set("TrainerControl", control.toJson());
        o.put("total_flos", totalFlos);
        o.put("train_batch_size", trainBatchSize);
        o.putNull("trial_name");
        o.putNull("trial_params");
        return o;
    }

    void write(Path file) throws IOException {
        AtomicFiles.write(file, JSON.writeValueAsBytes(toJson()));
    }

    static TrainerState read(Path file) throws IOException {
        JsonNode o;
        try {
            o = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException(file + ": not a readable trainer_state.json (" + e.getMessage() + ")", e);
        }
        if (o == null || !o.isObject() || !o.has("global_step") || !o.path("log_history").isArray()) {
            throw new IOException(file + ": not a trainer_state.json (global_step or log_history missing)");
        }
        TrainerState s = new TrainerState();
        s.globalStep = o.path("global_step").asLong();
        s.epoch = o.path("epoch").asDouble();
        s.bestMetric = o.path("best_metric").isNumber() ? o.path("best_metric").asDouble() : null;
        s.bestGlobalStep = o.path("best_global_step").isIntegralNumber() ? o.path("best_global_step").asLong() : null;
        s.bestModelCheckpoint = o.path("best_model_checkpoint").isTextual() ? o.path("best_model_checkpoint").asText() : null;
        s.maxSteps = o.path("max_steps").asLong();
        s.totalFlos = o.path("total_flos").asDouble();
        s.numInputTokensSeen = o.path("num_input_tokens_seen").asLong();
        s.numTrainEpochs = o.path("num_train_epochs").asDouble();
        s.loggingSteps = o.path("logging_steps").asInt();
        s.evalSteps = o.path("eval_steps").asInt();
        s.saveSteps = o.path("save_steps").asInt();
        s.trainBatchSize = o.path("train_batch_size").asInt();
        s.evalsWithoutImprovement = o.path("stateful_callbacks").path("EarlyStoppingCallback").path("attributes")
                .path("early_stopping_patience_counter").asInt();
        o.path("log_history").forEach(s.logHistory::add);
        return s;
    }

    static Map<String, Double> entry(Object... kv) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], ((Number) kv[i + 1]).doubleValue());
        return m;
    }
}
