package dev.bertft.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bertft.classifier.ProblemType;
import dev.bertft.nn.LearningRateSchedule;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * How a fine-tuning run trains: what Hugging Face's TrainingArguments hold for this job. Each setting is
 * declared once below, as a {@link Hyperparameter} with its Hugging Face name, default, description and rule;
 * {@link #builder()} sets them from Java and {@code bert-ft train} makes one option of each (--learning-rate,
 * also spelled --learning_rate). The defaults are the classic IMDB recipe {@code bert-ft train} runs with no
 * arguments (batch 32, eval batch 64, 500 warmup steps, weight decay 0.01, a log every 10 steps); the
 * descriptions give Hugging Face's default where it differs. Immutable; the Trainer reads nothing else.
 *
 * <p>A new setting (a precision, say) is one more constant here, listed in {@link #HYPERPARAMETERS}: the
 * builder's {@code set} takes it, training_args.json records it, and {@code bert-ft train} has its option.
 */
public final class TrainingArgs {
    /** When to log, evaluate or save; BEST (save_strategy only): after each evaluation that finds a new best metric. */
    public enum Strategy { NO, STEPS, EPOCH, BEST }

    /** transformers' names for the optimizer bert-ft implements: torch's AdamW, one update per tensor or fused. */
    public static final List<String> OPTIMIZERS = List.of("adamw_torch", "adamw_torch_fused");
    /** The integrations this build has: "all" means every one of them, as in HF. */
    public static final List<String> REPORT_TO_VALUES = List.of("none", "all", "tensorboard");
    /** The classic IMDB recipe's warmup, used when neither warmup steps nor a warmup ratio is given. */
    public static final long RECIPE_WARMUP_STEPS = 500;

    /** Every metric name some problem type logs; the Trainer checks the one chosen against the model's problem type. */
    public static final List<String> METRICS = Stream.concat(Stream.of("loss"),
            Arrays.stream(ProblemType.values()).flatMap(p -> p.metricNames().stream())).distinct().toList();

    public static final Hyperparameter<Path> OUTPUT_DIR = Hyperparameter.of("output_dir", "output folder", Path.class,
            Path.of("./results"), "Checkpoints and the final model.");
    public static final Hyperparameter<Path> LOGGING_DIR = Hyperparameter.of("logging_dir", "logging folder", Path.class, null,
            "JSON log lines and the training chart. Default: <output folder>/runs/<time>_<host>, as Hugging Face's.");
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static final Hyperparameter<List<String>> REPORT_TO = Hyperparameter.of("report_to", "report to", (Class<List<String>>) (Class) List.class,
            List.of("none"), "Also log to: tensorboard (event files in the logging folder for 'tensorboard --logdir'), all (the same), "
                    + "or none, as in recent transformers.");
    public static final Hyperparameter<Double> EPOCHS = Hyperparameter.of("epochs", "number of epochs", Double.class, 3.0,
            "Passes over the training data (Hugging Face's default, too).").hf("num_train_epochs");
    public static final Hyperparameter<Long> MAX_STEPS = Hyperparameter.of("max_steps", "maximum number of steps", Long.class, -1L,
            "Stop after this many updates; above 0 it overrides the number of epochs.");
    public static final Hyperparameter<Integer> BATCH_SIZE = Hyperparameter.of("batch_size", "batch size", Integer.class, 32,
            "Training examples per micro-batch (Hugging Face's default: 8).").hf("per_device_train_batch_size", "per_gpu_train_batch_size").requires(v -> v > 0, "must be > 0");
    public static final Hyperparameter<Boolean> AUTO_FIND_BATCH_SIZE = Hyperparameter.of("auto_find_batch_size",
            "finding the batch size", Boolean.class, false,
            "On running out of memory, start training again from the pretrained weights with 0.9 times the batch size"
                    + " (accelerate's rule), down to 1; trainer_state.json records the batch size that ran.");
    public static final Hyperparameter<Integer> EVAL_BATCH_SIZE = Hyperparameter.of("eval_batch_size", "evaluation batch size",
            Integer.class, 64, "Examples per evaluation batch (Hugging Face's default: 8).").hf("per_device_eval_batch_size", "per_gpu_eval_batch_size")
            .requires(v -> v > 0, "must be > 0");
    public static final Hyperparameter<Double> LEARNING_RATE = Hyperparameter.of("learning_rate", "learning rate", Double.class, 5e-5,
            "Peak learning rate of the linear warmup and decay.").requires(v -> v >= 0, "must be >= 0");
    public static final Hyperparameter<Long> WARMUP_STEPS = Hyperparameter.of("warmup_steps", "warmup steps", Long.class, null,
            "Updates of linear warmup. Default: " + RECIPE_WARMUP_STEPS + " (the recipe's), unless a warmup ratio is given; "
                    + "given with one, steps above 0 win (Hugging Face's rule).").requires(v -> v >= 0, "must be >= 0");
    public static final Hyperparameter<Double> WARMUP_RATIO = Hyperparameter.of("warmup_ratio", "warmup ratio", Double.class, null,
            "Warmup as a fraction of all updates, instead of the recipe's steps.").requires(v -> v >= 0 && v <= 1, "must be in [0, 1]");
    public static final Hyperparameter<LearningRateSchedule.Kind> LR_SCHEDULER_TYPE = Hyperparameter.of("lr_scheduler_type",
            "learning-rate schedule", LearningRateSchedule.Kind.class, LearningRateSchedule.Kind.LINEAR,
            "How the rate moves after the warmup: linear, cosine, cosine_with_restarts, polynomial, constant, "
                    + "constant_with_warmup, inverse_sqrt, cosine_with_min_lr, cosine_warmup_with_min_lr, warmup_stable_decay or "
                    + "reduce_lr_on_plateau, as in transformers.");
    public static final Hyperparameter<String> LR_SCHEDULER_KWARGS = Hyperparameter.of("lr_scheduler_kwargs",
            "learning-rate schedule options", String.class, "{}",
            "The schedule's options as a JSON object: num_cycles (the cosines), lr_end and power (polynomial), timescale "
                    + "(inverse_sqrt), min_lr or min_lr_rate (one required by the two with min_lr), warmup_lr_rate "
                    + "(cosine_warmup_with_min_lr), num_decay_steps (required), num_stable_steps, warmup_type, decay_type and "
                    + "min_lr_ratio (warmup_stable_decay); mode, factor, patience, threshold, threshold_mode, cooldown, min_lr and "
                    + "eps (reduce_lr_on_plateau).")
            .requires(v -> parseOptions(v) != null, "must be a JSON object of numbers and names, e.g. {\"num_cycles\": 2}");
    public static final Hyperparameter<Double> LABEL_SMOOTHING_FACTOR = Hyperparameter.of("label_smoothing_factor",
            "label smoothing", Double.class, 0.0,
            "Train against (1 - f) on the label plus f spread over all classes, as transformers' LabelSmoother "
                    + "(single-label classification).").requires(v -> v >= 0 && v < 1, "must be in [0, 1)");
    public static final Hyperparameter<Double> WEIGHT_DECAY = Hyperparameter.of("weight_decay", "weight decay", Double.class, 0.01,
            "AdamW's decoupled weight decay, not applied to biases and LayerNorm weights (Hugging Face's default: 0).")
            .requires(v -> v >= 0, "must be >= 0");
    public static final Hyperparameter<Double> ADAM_BETA1 = Hyperparameter.of("adam_beta1", "Adam beta1", Double.class, 0.9,
            "AdamW's first-moment decay.").requires(v -> v >= 0 && v < 1, "must be in [0, 1)").advanced();
    public static final Hyperparameter<Double> ADAM_BETA2 = Hyperparameter.of("adam_beta2", "Adam beta2", Double.class, 0.999,
            "AdamW's second-moment decay.").requires(v -> v >= 0 && v < 1, "must be in [0, 1)").advanced();
    public static final Hyperparameter<Double> ADAM_EPSILON = Hyperparameter.of("adam_epsilon", "Adam epsilon", Double.class, 1e-8,
            "AdamW's denominator term.").requires(v -> v > 0, "must be > 0").advanced();
    public static final Hyperparameter<String> OPTIM = Hyperparameter.of("optim", "optimizer", String.class, "adamw_torch",
            "The optimizer, by transformers' name: adamw_torch (torch.optim.AdamW, decoupled weight decay) or adamw_torch_fused "
                    + "(the same update in one kernel), which bert-ft runs.")
            .requires(OPTIMIZERS::contains, "must be " + String.join(" or ", OPTIMIZERS) + ": the AdamW bert-ft runs");
    public static final Hyperparameter<Double> MAX_GRAD_NORM = Hyperparameter.of("max_grad_norm", "maximum gradient norm", Double.class,
            1.0, "Gradient clipping (0: off).");
    public static final Hyperparameter<Integer> GRAD_ACCUM_STEPS = Hyperparameter.of("grad_accum_steps", "gradient accumulation steps",
            Integer.class, 1, "Micro-batches per update.").hf("gradient_accumulation_steps").requires(v -> v > 0, "must be > 0");
    public static final Hyperparameter<Boolean> GRADIENT_CHECKPOINTING = Hyperparameter.of("gradient_checkpointing",
            "gradient checkpointing", Boolean.class, false, "Recompute each layer's activations in the backward pass instead of "
                    + "keeping them: about one layer's activations in memory, for one more forward of each layer; the same gradients.");
    public static final Hyperparameter<String> GRADIENT_CHECKPOINTING_KWARGS = Hyperparameter.of("gradient_checkpointing_kwargs",
            "gradient checkpointing options", String.class, "{}",
            "torch.utils.checkpoint's options as a JSON object: use_reentrant (either way the same gradients here) and "
                    + "preserve_rng_state (true: the dropout masks are always replayed).");
    public static final Hyperparameter<Long> SEED = Hyperparameter.of("seed", "seed", Long.class, 42L,
            "Seed for subsets, splits, head init, data order and dropout.");
    public static final Hyperparameter<Long> DATA_SEED = Hyperparameter.of("data_seed", "data seed", Long.class, null,
            "Seed for the order of the training data each epoch alone (HF's data_seed). Default: --seed.");
    public static final Hyperparameter<Integer> MAX_LENGTH = Hyperparameter.of("max_length", "maximum length", Integer.class, 0,
            "Maximum sequence length in tokens (0: the model's, 512 for BERT).").hf("max_length", "max_seq_length")
            .requires(v -> v >= 0, "must be >= 0");
    public static final Hyperparameter<Integer> LOGGING_STEPS = Hyperparameter.of("logging_steps", "logging steps", Integer.class, 10,
            "Updates between log entries (Hugging Face's default: 500).").requires(v -> v > 0, "must be > 0");
    public static final Hyperparameter<Strategy> LOGGING_STRATEGY = Hyperparameter.of("logging_strategy", "logging strategy",
            Strategy.class, Strategy.STEPS, "When to log the training loss, gradient norm and rate: no, steps or epoch.")
            .requires(v -> v != Strategy.BEST, "must be no, steps or epoch");
    public static final Hyperparameter<Boolean> LOGGING_FIRST_STEP = Hyperparameter.of("logging_first_step", "logging the first step",
            Boolean.class, false, "Log after the first update too.");
    public static final Hyperparameter<Boolean> INCLUDE_NUM_INPUT_TOKENS_SEEN = Hyperparameter.of("include_num_input_tokens_seen",
            "counting input tokens", Boolean.class, false,
            "Log num_input_tokens_seen, the input tokens trained on so far (padding included, as HF counts them).");
    public static final Hyperparameter<Boolean> INCLUDE_TOKENS_PER_SECOND = Hyperparameter.of("include_tokens_per_second",
            "reporting tokens per second", Boolean.class, false,
            "Report train_tokens_per_second beside the samples per second (input tokens, padding included).");
    public static final Hyperparameter<Strategy> EVAL_STRATEGY = Hyperparameter.of("eval_strategy", "evaluation strategy",
            Strategy.class, Strategy.NO, "When to evaluate: no, steps or epoch.").hf("eval_strategy", "evaluation_strategy")
            .requires(v -> v != Strategy.BEST, "must be no, steps or epoch");
    public static final Hyperparameter<Integer> EVAL_STEPS = Hyperparameter.of("eval_steps", "evaluation steps", Integer.class, 0,
            "Updates between evaluations with the steps strategy (0: the logging steps).").requires(v -> v >= 0, "must be >= 0");
    public static final Hyperparameter<Double> EVAL_DELAY = Hyperparameter.of("eval_delay", "evaluation delay", Double.class, 0.0,
            "Updates (steps strategy) or epochs (epoch strategy) before the first evaluation may run.")
            .requires(v -> v >= 0, "must be >= 0");
    public static final Hyperparameter<Boolean> EVAL_ON_START = Hyperparameter.of("eval_on_start", "evaluating on start",
            Boolean.class, false, "Evaluate once before the first update (a check that evaluation works, and the baseline).");
    public static final Hyperparameter<Boolean> DO_EVAL = Hyperparameter.of("do_eval", "evaluating at the end", Boolean.class, false,
            "HF scripts' do_eval: a run without evaluation data is refused (with some, bert-ft evaluates at the end anyway).")
            .advanced();
    public static final Hyperparameter<Strategy> SAVE_STRATEGY = Hyperparameter.of("save_strategy", "save strategy", Strategy.class,
            Strategy.STEPS, "When to save a checkpoint: no, steps, epoch, or best (after each evaluation that finds a new best"
                    + " --metric-for-best-model).");
    public static final Hyperparameter<Integer> SAVE_STEPS = Hyperparameter.of("save_steps", "save steps", Integer.class, 500,
            "Updates between checkpoints with the steps strategy.");
    public static final Hyperparameter<Integer> SAVE_TOTAL_LIMIT = Hyperparameter.of("save_total_limit", "checkpoint limit",
            Integer.class, 0, "Keep only the newest N checkpoints (and the best); 0 keeps all.");
    public static final Hyperparameter<Boolean> SAVE_ONLY_MODEL = Hyperparameter.of("save_only_model", "saving only the model",
            Boolean.class, false, "Checkpoints without AdamW's moments, the schedule and the random state: a third of the size, "
                    + "but a run cannot resume from them.");
    public static final Hyperparameter<Boolean> LOAD_BEST_MODEL_AT_END = Hyperparameter.of("load_best_model_at_end",
            "loading the best model at the end", Boolean.class, false, "Finish with the best checkpoint's weights.");
    public static final Hyperparameter<String> METRIC_FOR_BEST_MODEL = Hyperparameter.of("metric_for_best_model",
            "metric for the best model", String.class, "loss",
            "loss, or the problem type's: accuracy, f1; mse, rmse, pearson, spearmanr; accuracy, f1_micro, f1_macro "
                    + "(an eval_ prefix is accepted).")
            .requires(v -> METRICS.contains(v.startsWith("eval_") ? v.substring(5) : v), "must be one of " + String.join(", ", METRICS));
    public static final Hyperparameter<Boolean> GREATER_IS_BETTER = Hyperparameter.of("greater_is_better", "greater is better",
            Boolean.class, null, "Whether a higher metric for the best model is better. Default: true for accuracy, F1 and the "
                    + "correlations, false for loss, mse and rmse (Hugging Face's default is false only for names ending in loss).");
    public static final Hyperparameter<Integer> EARLY_STOPPING_PATIENCE = Hyperparameter.of("early_stopping_patience",
            "early stopping patience", Integer.class, 0, "Stop after N evaluations without improvement (0: never).")
            .requires(v -> v >= 0, "must be >= 0");
    public static final Hyperparameter<Double> EARLY_STOPPING_THRESHOLD = Hyperparameter.of("early_stopping_threshold",
            "early stopping threshold", Double.class, 0.0,
            "How much the metric must improve on the best so far for early stopping to count it an improvement.")
            .requires(v -> v >= 0, "must be >= 0");
    public static final Hyperparameter<Boolean> SHUFFLE = Hyperparameter.of("shuffle", "shuffling", Boolean.class, true,
            "a new seeded order of the training data each epoch; off keeps the data's order");
    public static final Hyperparameter<Boolean> GROUP_BY_LENGTH = Hyperparameter.of("group_by_length", "grouping by length",
            Boolean.class, false, "Batch examples of similar length together (less padding).");
    public static final Hyperparameter<Boolean> DATALOADER_DROP_LAST = Hyperparameter.of("dataloader_drop_last",
            "dropping the last batch", Boolean.class, false, "Leave out each epoch's last, incomplete batch.");
    public static final Hyperparameter<Boolean> SKIP_NONFINITE = Hyperparameter.of("skip_nonfinite", "skipping non-finite updates",
            Boolean.class, false, "Skip updates whose loss or gradient is NaN/Inf instead of stopping.");

    /** The settings given as JSON objects (HF's dicts), which training_args.json records as objects. */
    public static final List<Hyperparameter<String>> JSON_SETTINGS = List.of(LR_SCHEDULER_KWARGS, GRADIENT_CHECKPOINTING_KWARGS);

    /** Every setting, in the order the command line's help lists them. */
    public static final List<Hyperparameter<?>> HYPERPARAMETERS = List.of(OUTPUT_DIR, LOGGING_DIR, REPORT_TO, EPOCHS, MAX_STEPS,
            BATCH_SIZE, AUTO_FIND_BATCH_SIZE, EVAL_BATCH_SIZE, LEARNING_RATE, WARMUP_STEPS, WARMUP_RATIO, LR_SCHEDULER_TYPE,
            LR_SCHEDULER_KWARGS, WEIGHT_DECAY, OPTIM, ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON, MAX_GRAD_NORM, LABEL_SMOOTHING_FACTOR,
            GRAD_ACCUM_STEPS, GRADIENT_CHECKPOINTING, GRADIENT_CHECKPOINTING_KWARGS, SEED, DATA_SEED, MAX_LENGTH, LOGGING_STRATEGY,
            LOGGING_STEPS, LOGGING_FIRST_STEP, INCLUDE_NUM_INPUT_TOKENS_SEEN, INCLUDE_TOKENS_PER_SECOND, EVAL_STRATEGY, EVAL_STEPS,
            EVAL_DELAY, EVAL_ON_START, DO_EVAL, SAVE_STRATEGY, SAVE_STEPS, SAVE_TOTAL_LIMIT, SAVE_ONLY_MODEL, LOAD_BEST_MODEL_AT_END, METRIC_FOR_BEST_MODEL, GREATER_IS_BETTER,
            EARLY_STOPPING_PATIENCE, EARLY_STOPPING_THRESHOLD, SHUFFLE, GROUP_BY_LENGTH, DATALOADER_DROP_LAST, SKIP_NONFINITE);

    private final Map<Hyperparameter<?>, Object> values;
    private final Map<String, Object> recorded;

    private TrainingArgs(Map<Hyperparameter<?>, Object> given, Map<String, Object> recorded) {
        Map<Hyperparameter<?>, Object> v = new LinkedHashMap<>();
        for (Hyperparameter<?> p : HYPERPARAMETERS) v.put(p, p.check(given.get(p)));
        require((Double) v.get(EPOCHS) > 0 || (Long) v.get(MAX_STEPS) > 0, "{0} or {1} must be > 0", EPOCHS, MAX_STEPS);
        // The effective warmup: the recipe's steps unless a ratio is given; both given, HF's rule (steps above 0 win) applies in the Trainer.
        Double ratio = (Double) v.get(WARMUP_RATIO);
        if (v.get(WARMUP_STEPS) == null) v.put(WARMUP_STEPS, ratio == null ? RECIPE_WARMUP_STEPS : 0L);
        if (ratio == null) v.put(WARMUP_RATIO, 0.0);
        try {   // the schedule's options against its kind and the rate, before any step
            LearningRateSchedule.checkOptions((LearningRateSchedule.Kind) v.get(LR_SCHEDULER_TYPE), (Double) v.get(LEARNING_RATE),
                    parseOptions((String) v.get(LR_SCHEDULER_KWARGS)));
        } catch (IllegalArgumentException e) {
            throw new HyperparameterException("{0} " + e.getMessage(), LR_SCHEDULER_KWARGS);
        }
        checkCheckpointingOptions((String) v.get(GRADIENT_CHECKPOINTING_KWARGS), (Boolean) v.get(GRADIENT_CHECKPOINTING));
        if (v.get(LOGGING_DIR) == null) v.put(LOGGING_DIR, defaultLoggingDir((Path) v.get(OUTPUT_DIR)));
        if ((Integer) v.get(EVAL_STEPS) == 0) v.put(EVAL_STEPS, v.get(LOGGING_STEPS));   // as in HF
        require(v.get(SAVE_STRATEGY) != Strategy.STEPS || (Integer) v.get(SAVE_STEPS) > 0, "{0} must be > 0", SAVE_STEPS);
        require(!(Boolean) v.get(LOAD_BEST_MODEL_AT_END) || (v.get(EVAL_STRATEGY) != Strategy.NO
                        && (v.get(EVAL_STRATEGY) == v.get(SAVE_STRATEGY) || v.get(SAVE_STRATEGY) == Strategy.BEST)),
                "{0} needs the same {1} and {2} (not 'no'), or {2} best", LOAD_BEST_MODEL_AT_END, EVAL_STRATEGY, SAVE_STRATEGY);
        require(v.get(SAVE_STRATEGY) != Strategy.BEST || v.get(EVAL_STRATEGY) != Strategy.NO,
                "{0} best needs an {1}: it saves after the evaluations that find a new best", SAVE_STRATEGY, EVAL_STRATEGY);
        require((Integer) v.get(EARLY_STOPPING_PATIENCE) == 0 || v.get(EVAL_STRATEGY) != Strategy.NO, "{0} needs an {1}",
                EARLY_STOPPING_PATIENCE, EVAL_STRATEGY);
        require(v.get(LR_SCHEDULER_TYPE) != LearningRateSchedule.Kind.REDUCE_LR_ON_PLATEAU || v.get(EVAL_STRATEGY) != Strategy.NO,
                "{0} reduce_lr_on_plateau needs an {1}: it moves the rate after each evaluation", LR_SCHEDULER_TYPE, EVAL_STRATEGY);
        String metric = (String) v.get(METRIC_FOR_BEST_MODEL);
        if (metric.startsWith("eval_")) v.put(METRIC_FOR_BEST_MODEL, metric.substring(5));
        List<String> reportTo = List.copyOf(REPORT_TO.type().cast(v.get(REPORT_TO)));
        for (String r : reportTo) {
            require(REPORT_TO_VALUES.contains(r), "{0}: '" + r + "' is not supported; use one of " + String.join(", ", REPORT_TO_VALUES),
                    REPORT_TO);
        }
        require(!reportTo.contains("none") || reportTo.size() == 1, "{0}: 'none' cannot be combined with other values", REPORT_TO);
        v.put(REPORT_TO, reportTo);
        this.values = Collections.unmodifiableMap(v);
        this.recorded = Collections.unmodifiableMap(new LinkedHashMap<>(recorded));   // in order, nulls kept (options not given)
    }

    /**
     * gradient_checkpointing_kwargs as transformers passes them to torch.utils.checkpoint: use_reentrant chooses between
     * two implementations that give the same gradients, preserve_rng_state false would draw new dropout masks in the
     * recomputation, which bert-ft never does; anything else is torch's own machinery.
     */
    private static void checkCheckpointingOptions(String json, boolean checkpointing) {
        JsonNode node = optionsTree(json);
        require(node != null && node.isObject(), "{0} must be a JSON object, e.g. {\"use_reentrant\": false}",
                GRADIENT_CHECKPOINTING_KWARGS);
        for (var fields = node.fields(); fields.hasNext(); ) {
            var f = fields.next();
            require(f.getKey().equals("use_reentrant") || f.getKey().equals("preserve_rng_state"),
                    "{0} takes use_reentrant and preserve_rng_state, not " + f.getKey(), GRADIENT_CHECKPOINTING_KWARGS);
            require(f.getValue().isBoolean(), "{0} " + f.getKey() + " must be true or false", GRADIENT_CHECKPOINTING_KWARGS);
            require(!f.getKey().equals("preserve_rng_state") || f.getValue().asBoolean(),
                    "{0} preserve_rng_state false: bert-ft always replays the forward's dropout masks", GRADIENT_CHECKPOINTING_KWARGS);
        }
        require(checkpointing || node.isEmpty(), "{0} needs {1}", GRADIENT_CHECKPOINTING_KWARGS, GRADIENT_CHECKPOINTING);
    }

    /** lr_scheduler_kwargs' JSON object as names and values (Double or String), or null when it is not one. */
    private static Map<String, Object> parseOptions(String json) {
        JsonNode node = optionsTree(json);
        if (node == null || !node.isObject()) return null;
        Map<String, Object> out = new LinkedHashMap<>();
        for (var fields = node.fields(); fields.hasNext(); ) {
            var f = fields.next();
            if (f.getValue().isNumber()) out.put(f.getKey(), f.getValue().asDouble());
            else if (f.getValue().isTextual()) out.put(f.getKey(), f.getValue().asText());
            else return null;
        }
        return out;
    }

    /** The JSON text as a tree, or null when it is not JSON. */
    private static JsonNode optionsTree(String json) {
        try {
            return TrainerState.JSON.readTree(json);
        } catch (IOException e) {
            return null;
        }
    }

    private static void require(boolean ok, String template, Hyperparameter<?>... subjects) {
        if (!ok) throw new HyperparameterException(template, subjects);
    }

    /** Every setting at its defaults: the recipe {@code bert-ft train} runs (see the top). */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding these settings, to change some of them. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.values.putAll(values);
        b.recorded = recorded;
        return b;
    }

    /** The value of one setting, after the defaults that depend on others were settled (warmup, logging folder, eval steps). */
    public <T> T get(Hyperparameter<T> p) {
        return p.type().cast(values.get(p));
    }

    /**
     * Every setting by Hugging Face's name (training_args.json's keys), paths and choices as text: what a run
     * started from Java records in training_args.json.
     */
    public Map<String, Object> hfValues() {
        Map<String, Object> out = new LinkedHashMap<>();
        values.forEach((p, v) -> out.put(p.hfName(), v instanceof Path || v instanceof Enum<?> ? Hyperparameter.text(v) : v));
        for (Hyperparameter<String> p : JSON_SETTINGS) out.put(p.hfName(), tree(p));
        return out;
    }

    public Path outputDir() { return get(OUTPUT_DIR); }
    public Path loggingDir() { return get(LOGGING_DIR); }
    public List<String> reportTo() { return get(REPORT_TO); }
    public double epochs() { return get(EPOCHS); }
    /** Above 0 it overrides {@link #epochs()}. */
    public long maxSteps() { return get(MAX_STEPS); }
    public int batchSize() { return get(BATCH_SIZE); }
    public boolean autoFindBatchSize() { return get(AUTO_FIND_BATCH_SIZE); }
    public int evalBatchSize() { return get(EVAL_BATCH_SIZE); }
    public double learningRate() { return get(LEARNING_RATE); }
    public long warmupSteps() { return get(WARMUP_STEPS); }
    /** Used when {@link #warmupSteps()} is 0. */
    public double warmupRatio() { return get(WARMUP_RATIO); }
    public LearningRateSchedule.Kind lrSchedulerType() { return get(LR_SCHEDULER_TYPE); }
    /** {@link #LR_SCHEDULER_KWARGS} read: the schedule's options by transformers' names, numbers as Double, names as String. */
    public Map<String, Object> lrSchedulerKwargs() { return parseOptions(get(LR_SCHEDULER_KWARGS)); }
    /** One of {@link #JSON_SETTINGS} as the JSON object given, what training_args.json records (as HF's dict). */
    public JsonNode tree(Hyperparameter<String> p) { return optionsTree(get(p)); }
    /** 0: the plain cross-entropy. */
    public double labelSmoothingFactor() { return get(LABEL_SMOOTHING_FACTOR); }
    public double weightDecay() { return get(WEIGHT_DECAY); }
    public double adamBeta1() { return get(ADAM_BETA1); }
    public double adamBeta2() { return get(ADAM_BETA2); }
    public double adamEpsilon() { return get(ADAM_EPSILON); }
    /** At most 0: no clipping. */
    public double maxGradNorm() { return get(MAX_GRAD_NORM); }
    public int gradAccumSteps() { return get(GRAD_ACCUM_STEPS); }
    public boolean gradientCheckpointing() { return get(GRADIENT_CHECKPOINTING); }
    public long seed() { return get(SEED); }
    /** The seed of the training data's order: {@link #DATA_SEED}, else {@link #seed()}. */
    public long dataSeed() { return get(DATA_SEED) != null ? get(DATA_SEED) : seed(); }
    public boolean includeNumInputTokensSeen() { return get(INCLUDE_NUM_INPUT_TOKENS_SEEN); }
    public boolean includeTokensPerSecond() { return get(INCLUDE_TOKENS_PER_SECOND); }
    /** 0: the model's. */
    public int maxLength() { return get(MAX_LENGTH); }
    public Strategy loggingStrategy() { return get(LOGGING_STRATEGY); }
    public int loggingSteps() { return get(LOGGING_STEPS); }
    public boolean loggingFirstStep() { return get(LOGGING_FIRST_STEP); }
    public Strategy evalStrategy() { return get(EVAL_STRATEGY); }
    public int evalSteps() { return get(EVAL_STEPS); }
    public double evalDelay() { return get(EVAL_DELAY); }
    public boolean evalOnStart() { return get(EVAL_ON_START); }
    public boolean doEval() { return get(DO_EVAL); }
    public Strategy saveStrategy() { return get(SAVE_STRATEGY); }
    public int saveSteps() { return get(SAVE_STEPS); }
    /** At most 0: keep all. */
    public int saveTotalLimit() { return get(SAVE_TOTAL_LIMIT); }
    public boolean saveOnlyModel() { return get(SAVE_ONLY_MODEL); }
    public boolean loadBestModelAtEnd() { return get(LOAD_BEST_MODEL_AT_END); }
    /** "loss" or a ProblemType metric name, without the "eval_" prefix. */
    public String metricForBestModel() { return get(METRIC_FOR_BEST_MODEL); }
    /** At most 0: off. */
    public int earlyStoppingPatience() { return get(EARLY_STOPPING_PATIENCE); }
    public double earlyStoppingThreshold() { return get(EARLY_STOPPING_THRESHOLD); }
    public boolean shuffle() { return get(SHUFFLE); }
    public boolean groupByLength() { return get(GROUP_BY_LENGTH); }
    public boolean dataloaderDropLast() { return get(DATALOADER_DROP_LAST); }
    public boolean skipNonFiniteSteps() { return get(SKIP_NONFINITE); }

    /** What training_args.json holds, in its order: every option as the command line named it, or {@link #hfValues()}; empty: no file. */
    public Map<String, Object> recorded() {
        return recorded;
    }

    /** TensorBoard event files in the logging folder. */
    public boolean reportsToTensorBoard() {
        return reportTo().contains("tensorboard") || reportTo().contains("all");
    }

    /**
     * {@link #GREATER_IS_BETTER} when given, else what the metric means: lower loss and errors (mse, rmse)
     * are better, higher accuracy, F1 and correlations are. (HF's default thinks only a name ending in
     * "loss" lower-better, so with mse it would keep the worst checkpoint unless told.)
     */
    public boolean greaterIsBetter() {
        Boolean given = get(GREATER_IS_BETTER);
        return given != null ? given : !List.of("loss", "mse", "rmse").contains(metricForBestModel());
    }

    /** Hugging Face's default logging_dir: a folder per run under the output folder, so runs never share a log. */
    private static Path defaultLoggingDir(Path outputDir) {
        String time = DateTimeFormatter.ofPattern("MMMdd_HH-mm-ss", Locale.ROOT).format(LocalDateTime.now());
        return outputDir.resolve("runs").resolve(time + "_" + hostName());
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "localhost";
        }
    }

    /** Sets settings one at a time; {@link #build()} checks each against its rule and the combinations. */
    public static final class Builder {
        private final Map<Hyperparameter<?>, Object> values = new LinkedHashMap<>();
        private Map<String, Object> recorded = Map.of();

        private Builder() {
            for (Hyperparameter<?> p : HYPERPARAMETERS) values.put(p, p.defaultValue());
        }

        /** Any setting by its declaration; null unsets one whose default is unset (warmup steps or ratio, logging folder). */
        public <T> Builder set(Hyperparameter<T> p, T value) {
            values.put(p, value);
            return this;
        }

        public Builder outputDir(Path v) { return set(OUTPUT_DIR, v); }
        public Builder loggingDir(Path v) { return set(LOGGING_DIR, v); }
        public Builder reportTo(List<String> v) { return set(REPORT_TO, v); }
        public Builder epochs(double v) { return set(EPOCHS, v); }
        public Builder maxSteps(long v) { return set(MAX_STEPS, v); }
        public Builder batchSize(int v) { return set(BATCH_SIZE, v); }
        public Builder autoFindBatchSize(boolean v) { return set(AUTO_FIND_BATCH_SIZE, v); }
        public Builder evalBatchSize(int v) { return set(EVAL_BATCH_SIZE, v); }
        public Builder learningRate(double v) { return set(LEARNING_RATE, v); }
        public Builder warmupSteps(long v) { return set(WARMUP_STEPS, v); }
        public Builder warmupRatio(double v) { return set(WARMUP_RATIO, v); }
        public Builder lrSchedulerType(LearningRateSchedule.Kind v) { return set(LR_SCHEDULER_TYPE, v); }
        /** A JSON object, as transformers takes it: {"num_cycles": 2}. */
        public Builder lrSchedulerKwargs(String v) { return set(LR_SCHEDULER_KWARGS, v); }
        public Builder labelSmoothingFactor(double v) { return set(LABEL_SMOOTHING_FACTOR, v); }
        public Builder weightDecay(double v) { return set(WEIGHT_DECAY, v); }
        public Builder optim(String v) { return set(OPTIM, v); }
        public Builder adamBeta1(double v) { return set(ADAM_BETA1, v); }
        public Builder adamBeta2(double v) { return set(ADAM_BETA2, v); }
        public Builder adamEpsilon(double v) { return set(ADAM_EPSILON, v); }
        public Builder maxGradNorm(double v) { return set(MAX_GRAD_NORM, v); }
        public Builder gradAccumSteps(int v) { return set(GRAD_ACCUM_STEPS, v); }
        public Builder gradientCheckpointing(boolean v) { return set(GRADIENT_CHECKPOINTING, v); }
        public Builder seed(long v) { return set(SEED, v); }
        public Builder dataSeed(long v) { return set(DATA_SEED, v); }
        public Builder includeNumInputTokensSeen(boolean v) { return set(INCLUDE_NUM_INPUT_TOKENS_SEEN, v); }
        public Builder includeTokensPerSecond(boolean v) { return set(INCLUDE_TOKENS_PER_SECOND, v); }
        public Builder maxLength(int v) { return set(MAX_LENGTH, v); }
        public Builder loggingStrategy(Strategy v) { return set(LOGGING_STRATEGY, v); }
        public Builder loggingSteps(int v) { return set(LOGGING_STEPS, v); }
        public Builder loggingFirstStep(boolean v) { return set(LOGGING_FIRST_STEP, v); }
        public Builder evalStrategy(Strategy v) { return set(EVAL_STRATEGY, v); }
        public Builder evalSteps(int v) { return set(EVAL_STEPS, v); }
        public Builder evalDelay(double v) { return set(EVAL_DELAY, v); }
        public Builder evalOnStart(boolean v) { return set(EVAL_ON_START, v); }
        public Builder doEval(boolean v) { return set(DO_EVAL, v); }
        public Builder saveStrategy(Strategy v) { return set(SAVE_STRATEGY, v); }
        public Builder saveSteps(int v) { return set(SAVE_STEPS, v); }
        public Builder saveTotalLimit(int v) { return set(SAVE_TOTAL_LIMIT, v); }
        public Builder saveOnlyModel(boolean v) { return set(SAVE_ONLY_MODEL, v); }
        public Builder loadBestModelAtEnd(boolean v) { return set(LOAD_BEST_MODEL_AT_END, v); }
        public Builder metricForBestModel(String v) { return set(METRIC_FOR_BEST_MODEL, v); }
        /** Null: what the metric means (see {@link TrainingArgs#greaterIsBetter()}). */
        public Builder greaterIsBetter(Boolean v) { return set(GREATER_IS_BETTER, v); }
        public Builder earlyStoppingPatience(int v) { return set(EARLY_STOPPING_PATIENCE, v); }
        public Builder earlyStoppingThreshold(double v) { return set(EARLY_STOPPING_THRESHOLD, v); }
        public Builder shuffle(boolean v) { return set(SHUFFLE, v); }
        public Builder groupByLength(boolean v) { return set(GROUP_BY_LENGTH, v); }
        public Builder dataloaderDropLast(boolean v) { return set(DATALOADER_DROP_LAST, v); }
        public Builder skipNonFiniteSteps(boolean v) { return set(SKIP_NONFINITE, v); }
        /** What training_args.json records (the command line's every option); none by default. */
        public Builder recorded(Map<String, Object> v) { recorded = v; return this; }

        /**
         * The settings, checked.
         *
         * @throws HyperparameterException naming the setting (or the combination) that cannot be, and why
         */
        public TrainingArgs build() {
            return new TrainingArgs(values, recorded);
        }
    }
}
