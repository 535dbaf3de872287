package dev.bertft.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bertft.autograd.GradMode;
import dev.bertft.autograd.Var;
import dev.bertft.classifier.Batch;
import dev.bertft.classifier.ProblemType;
import dev.bertft.classifier.SequenceClassifier;
import dev.bertft.io.AtomicFiles;
import dev.bertft.nn.AdamW;
import dev.bertft.nn.LearningRateSchedule;
import dev.bertft.nn.PlateauReduction;
import dev.bertft.nn.Module;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * The training loop of HF's Trainer for sequence classification: epochs of seeded batches,
 * gradient accumulation, clipping, AdamW with linear warmup/decay, periodic logging, evaluation
 * and atomic checkpoints, best-model tracking, early stopping and exact resumption.
 */
public final class Trainer {
    /**
     * What a run tells as it goes, in plain Java values: each update, each log entry, lines in words, evaluation
     * progress. The command line's console adapts it to a progress bar; a Java caller implements what it needs.
     */
    public interface Listener {
        /**
         * Update {@code step} is done and its loss read. The next update may already be queued by then (see
         * {@link UpdateStep#queue}), so a change this makes to the weights reaches the update after it.
         */
        default void onStep(long step, long maxSteps, double epoch, double loss, double lr, double samplesPerSecond) {}

        /** An entry of the log history: at each logging step, each evaluation, and the end of training. */
        default void onLog(LogEntry entry) {}

        default void onMessage(String line) {}

        /** During an evaluation: {@code done} of {@code batches} batches evaluated, 0 when it starts. */
        default void onEvalStep(long done, long batches) {}
    }

    /** The run stops with this when the loss or gradient is not finite and skipping is off. */
    public static final class NonFiniteLossException extends RuntimeException {
        NonFiniteLossException(String message) {
            super(message);
        }
    }

    /** The run stops with this at a step boundary after {@link #requestStop()}; what is on disk is complete. */
    public static final class StoppedException extends RuntimeException {
        StoppedException(String message) {
            super(message);
        }
    }

    /**
     * {@code trainSamples} and {@code stepsRun} count this run only: a resumed run starts counting at its checkpoint;
     * {@code trainLoss} is the mean over this run's finite updates (NaN when none was).
     */
    public record Result(TrainerState state, Metrics finalEval, double trainRuntimeSeconds, long trainSamples, long stepsRun,
                         double trainLoss) {}

    private final SequenceClassifier model;
    private final TrainingArgs args;
    private final Backend backend;
    private final List<Batches.Tokenized> train;
    private final List<Batches.Tokenized> eval;
    private final int padId;
    private final int numLabels;
    private final Listener listener;
    private final TrainingLog log;
    private volatile boolean stopRequested;
    private DType saveDtype = DType.F32;

    public Trainer(SequenceClassifier model, TrainingArgs args, Backend backend, List<Batches.Tokenized> train,
                   List<Batches.Tokenized> eval, int padId, int numLabels, Listener listener) {
        this.model = model;
        this.args = args;
        this.backend = backend;
        this.train = train;
        this.eval = eval;
        this.padId = padId;
        this.numLabels = numLabels;
        this.listener = listener;
        this.log = new TrainingLog(args.loggingDir(), args.reportsToTensorBoard(), listener::onMessage);
    }

    /** The type the final model's weights are saved in (F32 by default, as HF); checkpoints keep float32 for an exact resume. */
    public void saveWeightsAs(DType weights) {
        saveDtype = weights;
    }

    /**
     * Asks the loop to stop after the update in progress (and its evaluation and checkpoint, when due),
     * or after the one queued behind it, where the loop had queued the next before this was asked.
     */
    public void requestStop() {
        stopRequested = true;
    }

    /** Optimizer updates in one epoch: a last, shorter accumulation group still makes an update. */
    long updatesPerEpoch() {
        int size = args.batchSize();
        long batches = args.dataloaderDropLast() ? train.size() / size : (train.size() + size - 1) / size;
        return Math.max(1, (batches + args.gradAccumSteps() - 1) / args.gradAccumSteps());
    }

    /** Trains from scratch, or from {@code resumeFrom} (a checkpoint folder) when given. */
    public Result train(Path resumeFrom) throws IOException {
        if (train.isEmpty()) throw new IllegalArgumentException("no training examples");
        if (args.dataloaderDropLast() && train.size() < args.batchSize()) {
            throw new HyperparameterException("{0} leaves no batch: " + train.size() + " training examples, batches of " + args.batchSize(),
                    TrainingArgs.DATALOADER_DROP_LAST);
        }
        String metric = args.metricForBestModel();
        if (!metric.equals("loss") && !model.problemType().metricNames().contains(metric)) {
            throw new HyperparameterException("{0} " + metric + " is not a metric of " + model.problemType().hfName()
                    + " (loss, " + String.join(", ", model.problemType().metricNames()) + ")", TrainingArgs.METRIC_FOR_BEST_MODEL);
        }
        for (var needsEvaluation : List.of(TrainingArgs.EVAL_ON_START, TrainingArgs.DO_EVAL)) {
            if (args.get(needsEvaluation) && eval.isEmpty()) {
                throw new HyperparameterException("{0} needs evaluation data", needsEvaluation);
            }
        }
        Checkpoints.clearLeftovers(args.outputDir());
        long perEpoch = updatesPerEpoch();
        long maxSteps = args.maxSteps() > 0 ? args.maxSteps() : (long) Math.ceil(args.epochs() * perEpoch);
        long warmup = args.warmupSteps() > 0 ? args.warmupSteps() : (long) Math.ceil(args.warmupRatio() * maxSteps);
        LearningRateSchedule schedule;
        try {
            schedule = new LearningRateSchedule(args.lrSchedulerType(), args.learningRate(), warmup, maxSteps, args.lrSchedulerKwargs());
        } catch (IllegalArgumentException e) {   // what the run's number of updates decides (warmup_stable_decay's phases)
            throw new HyperparameterException("{0} " + e.getMessage(), TrainingArgs.LR_SCHEDULER_KWARGS);
        }
        if (args.labelSmoothingFactor() > 0 && model.problemType() != ProblemType.SINGLE_LABEL_CLASSIFICATION) {
            throw new HyperparameterException("{0} applies to single-label classification only, not " + model.problemType().hfName(),
                    TrainingArgs.LABEL_SMOOTHING_FACTOR);
        }
        try {
            model.setGradientCheckpointing(args.gradientCheckpointing());
        } catch (UnsupportedOperationException e) {
            throw new HyperparameterException("{0}: " + e.getMessage(), TrainingArgs.GRADIENT_CHECKPOINTING);
        }
        AdamW optimizer = new AdamW(AdamW.decayGroups(model.trainableParameters(), args.weightDecay()), args.adamBeta1(),
                args.adamBeta2(), args.adamEpsilon());
        UpdateStep step = new UpdateStep(model, optimizer, args.maxGradNorm(), args.labelSmoothingFactor(), !args.skipNonFiniteSteps(),
                backend);
        PlateauReduction plateau = schedule.kind() == LearningRateSchedule.Kind.REDUCE_LR_ON_PLATEAU
                ? new PlateauReduction(args.learningRate(), args.lrSchedulerKwargs(), args.greaterIsBetter()) : null;
        Checkpoint checkpoint = new Checkpoint(model, optimizer, schedule, plateau, backend, step.scaler());

        TrainerState state = new TrainerState();
        state.maxSteps = maxSteps;
        state.numTrainEpochs = args.maxSteps() > 0 ? Math.ceil((double) maxSteps / perEpoch) : args.epochs();
        state.loggingSteps = args.loggingSteps();
        state.evalSteps = args.evalSteps();
        state.saveSteps = args.saveSteps();
        state.trainBatchSize = args.batchSize();
        if (resumeFrom != null) {
            long maxStepsNow = state.maxSteps;
            state = checkpoint.restore(resumeFrom);
            state.maxSteps = maxStepsNow;
            listener.onMessage("resumed from " + resumeFrom + " at step " + state.globalStep);
            rotate(state); // a run killed between a save and its rotation left one checkpoint too many
        }
        state.earlyStoppingPatience = args.earlyStoppingPatience();
        state.logTokensSeen = args.includeNumInputTokensSeen();
        String reduction = plateau == null ? "" : "; " + plateau.describe() + " in eval_" + args.metricForBestModel();
        listener.onMessage(schedule.describe() + reduction);
        log.start();
        TrainerControl control = state.control;
        if (!args.recorded().isEmpty()) AtomicFiles.write(args.outputDir().resolve(Checkpoints.ARGS_FILE), recordedArgs());

        int[] lengths = new int[train.size()];
        for (int i = 0; i < lengths.length; i++) lengths[i] = train.get(i).ids().length;
        double flopsPerToken = 6.0 * Module.nonEmbeddingParameterCount(model);
        long firstStep = state.globalStep;
        long start = System.nanoTime();
        long samplesSeen = 0, tokensSeen = 0;
        double loggedLoss = 0, runLoss = 0;
        long loggedSteps = 0, runLossSteps = 0;
        control.shouldTrainingStop = state.globalStep >= maxSteps;
        Metrics lastEval = null;
        long lastEvalStep = -1;
        if (args.evalOnStart()) {   // as HF: logged, but neither a best metric nor an early-stopping count
            lastEval = evaluate(state);
            lastEvalStep = state.globalStep;
            log.drawChart(state);
        }

        for (int epoch = (int) (state.globalStep / perEpoch); !control.shouldTrainingStop; epoch++) {
            List<int[]> batches = Batches.split(Batches.epochOrder(lengths, args.dataSeed(), epoch, args.shuffle(),
                    args.groupByLength(), args.batchSize()), args.batchSize());
            if (args.dataloaderDropLast() && batches.get(batches.size() - 1).length < args.batchSize()) {
                batches = batches.subList(0, batches.size() - 1);
            }
            UpdateStep.Queued ahead = null;   // the next update, queued before this one's outcome was read
            for (long u = state.globalStep - (long) epoch * perEpoch; u < perEpoch && !control.shouldTrainingStop; u++) {
                control.newStep();
                UpdateStep.Queued queued = ahead != null ? ahead : queue(step, batches, u, rate(schedule, plateau, state.schedulerSteps));
                ahead = null;
                // The device goes on to the next update while the host reads this one's outcome and keeps the books, unless
                // an evaluation or a checkpoint must see the weights as this update leaves them. Only where the outcome
                // cannot change the next update's learning rate (no fp16 overflow skips a scheduler step here).
                long thisStep = state.globalStep + 1;
                if (step.queuesAhead() && u + 1 < perEpoch && thisStep < maxSteps && !stopRequested
                        && !evaluates(thisStep, epoch + (double) (u + 1) / perEpoch, false)
                        && !due(args.saveStrategy(), args.saveSteps(), thisStep, false)) {
                    ahead = queue(step, batches, u + 1, rate(schedule, plateau, state.schedulerSteps + 1));
                }
                UpdateStep.Outcome update = queued.outcome();
                samplesSeen += update.samples();
                tokensSeen += update.tokens();
                state.totalFlos += flopsPerToken * update.tokens();
                if (args.includeNumInputTokensSeen()) state.numInputTokensSeen += update.tokens();
                if (update.overflowed()) {
                    listener.onMessage("fp16 gradients overflowed at loss scale " + update.lossScale() + " at step " + (state.globalStep + 1)
                            + ": update skipped, scale now " + step.scaler().scale());
                    loggedLoss += update.loss();   // HF logs a skipped step's loss as any other
                    loggedSteps++;
                    runLoss += update.loss();
                    runLossSteps++;
                } else if (!update.finite()) {
                    String what = "loss " + update.loss() + ", grad norm " + update.gradNorm() + " at step " + (state.globalStep + 1);
                    if (!args.skipNonFiniteSteps()) {
                        throw new NonFiniteLossException("training stopped: non-finite " + what + "; checkpoints already saved are untouched");
                    }
                    listener.onMessage("skipping the update: non-finite " + what);
                } else {
                    loggedLoss += update.loss();
                    loggedSteps++;
                    runLoss += update.loss();
                    runLossSteps++;
                }
                state.globalStep++;
                if (!update.overflowed()) state.schedulerSteps++; // HF: no scheduler step when optimizer_step_was_skipped
                state.epoch = epoch + (double) (u + 1) / perEpoch;
                double elapsed = (System.nanoTime() - start) / 1e9;
                listener.onStep(state.globalStep, maxSteps, state.epoch, update.loss(), rate(schedule, plateau, state.schedulerSteps),
                        samplesSeen / Math.max(elapsed, 1e-9));

                boolean endOfEpoch = u == perEpoch - 1;
                control.shouldTrainingStop = state.globalStep >= maxSteps;
                control.shouldLog = due(args.loggingStrategy(), args.loggingSteps(), state.globalStep, endOfEpoch)
                        || state.globalStep == 1 && args.loggingFirstStep();
                control.shouldEvaluate = evaluates(state.globalStep, state.epoch, endOfEpoch);
                control.shouldSave = due(args.saveStrategy(), args.saveSteps(), state.globalStep, endOfEpoch);
                if (control.shouldLog) {
                    Map<String, Double> entry = TrainerState.entry("loss", loggedSteps == 0 ? Double.NaN : loggedLoss / loggedSteps,
                            "grad_norm", update.gradNorm(), "learning_rate", rate(schedule, plateau, state.schedulerSteps));
                    if (step.scaler() != null) entry.put("loss_scale", step.scaler().scale());
                    emit(state, entry);
                    loggedLoss = 0;
                    loggedSteps = 0;
                    control.shouldLog = false;
                }
                boolean improved = false;
                if (control.shouldEvaluate) {
                    lastEval = evaluate(state);
                    lastEvalStep = state.globalStep;
                    improved = recordMetric(state, lastEval);
                    if (args.saveStrategy() == TrainingArgs.Strategy.BEST) control.shouldSave = improved;   // HF's save_strategy best
                    if (plateau != null) plateau.step(lastEval.get(args.metricForBestModel()));   // as HF: each evaluation in training
                    log.drawChart(state);
                    control.shouldEvaluate = false;
                    if (args.earlyStoppingPatience() > 0 && state.evalsWithoutImprovement >= args.earlyStoppingPatience()) {
                        listener.onMessage("early stopping: " + args.metricForBestModel() + " has not improved for "
                                + state.evalsWithoutImprovement + " evaluations");
                        control.shouldTrainingStop = true;
                    }
                }
                if (control.shouldSave) {
                    saveCheckpoint(state, checkpoint, improved);
                    control.shouldSave = false;
                }
                if (stopRequested && !control.shouldTrainingStop && ahead == null) {   // else after the update queued ahead
                    throw new StoppedException("stopped at step " + state.globalStep + " of " + maxSteps);
                }
            }
        }

        double runtime = (System.nanoTime() - start) / 1e9;
        if (args.loadBestModelAtEnd() && state.bestModelCheckpoint != null) {
            listener.onMessage("loading the best model from " + state.bestModelCheckpoint
                    + " (" + args.metricForBestModel() + " " + state.bestMetric + ")");
            model.loadWeights(Path.of(state.bestModelCheckpoint));
        }
        // Rates count this run's steps; HF divides all max_steps by a resumed run's runtime. train_loss is the mean
        // over this run's finite updates; HF divides a resumed run's sum by all steps since step 0.
        double trainLoss = runLossSteps == 0 ? Double.NaN : runLoss / runLossSteps;
        Map<String, Double> speed = TrainerState.entry("train_runtime", runtime, "train_samples_per_second", samplesSeen / runtime,
                "train_steps_per_second", (state.globalStep - firstStep) / runtime);
        if (args.includeTokensPerSecond()) speed.put("train_tokens_per_second", tokensSeen / runtime);
        speed.putAll(TrainerState.entry("total_flos", state.totalFlos, "train_loss", trainLoss));
        ObjectNode trainMetrics = emit(state, speed);
        saveModel(args.outputDir());
        state.write(args.outputDir().resolve(Checkpoints.STATE_FILE));
        boolean reuseLastEval = lastEvalStep == state.globalStep && !args.loadBestModelAtEnd();
        Metrics finalEval = eval.isEmpty() ? null : reuseLastEval ? lastEval : evaluate(state);
        if (finalEval != null) log.drawChart(state);
        writeAllResults(trainMetrics, finalEval == null ? null : lastEvalEntry(state));
        return new Result(state, finalEval, runtime, samplesSeen, state.globalStep - firstStep, trainLoss);
    }

    /**
     * The rate of the update after {@code schedulerSteps} ones: the schedule's, or with reduce_lr_on_plateau
     * where the evaluations so far have brought it.
     */
    static double rate(LearningRateSchedule schedule, PlateauReduction plateau, long schedulerSteps) {
        return plateau != null ? plateau.rate() : schedule.lr(schedulerSteps);
    }

    /** Queues update {@code u} of the epoch whose batches are {@code batches}, at learning rate {@code lr}. */
    private UpdateStep.Queued queue(UpdateStep step, List<int[]> batches, long u, double lr) {
        int first = (int) (u * args.gradAccumSteps());
        int last = (int) Math.min(batches.size(), first + args.gradAccumSteps());
        List<int[]> group = batches.subList(first, last);
        return step.queue(group.size(), b -> Batches.collate(train, group.get(b), backend, padId), lr);
    }

    /** Whether the run evaluates after the update that brings it to {@code step}, in {@code epoch}. */
    private boolean evaluates(long step, double epoch, boolean endOfEpoch) {
        return due(args.evalStrategy(), args.evalSteps(), step, endOfEpoch) && !eval.isEmpty()
                && args.evalDelay() <= (args.evalStrategy() == TrainingArgs.Strategy.EPOCH ? epoch : step);
    }

    private static boolean due(TrainingArgs.Strategy strategy, int every, long step, boolean endOfEpoch) {
        return switch (strategy) {
            case NO, BEST -> false;   // BEST saves after an evaluation that improved the metric
            case STEPS -> step % every == 0;
            case EPOCH -> endOfEpoch;
        };
    }

    private ObjectNode emit(TrainerState state, Map<String, Double> values) throws IOException {
        ObjectNode entry = state.log(values);
        log.append(entry);
        Map<String, Double> shown = values;
        if (state.logTokensSeen) {   // as HF's console and integrations show it, with the entry's values
            shown = new LinkedHashMap<>(values);
            shown.put("num_input_tokens_seen", (double) state.numInputTokensSeen);
        }
        listener.onLog(new LogEntry(state.globalStep, TrainerState.round(state.epoch), shown));
        return entry;
    }

    /** Evaluates on the eval set and logs eval_loss and the problem type's metrics (eval_accuracy, eval_mse, ...) as HF does. */
    public Metrics evaluate(TrainerState state) throws IOException {
        long t0 = System.nanoTime();
        Metrics m = evaluate(model, eval, args.evalBatchSize(), backend, padId, numLabels, args.labelSmoothingFactor(), listener);
        double runtime = (System.nanoTime() - t0) / 1e9;
        emit(state, evalMetrics(m, runtime, args.evalBatchSize()));
        return m;
    }

    /** HF's names for an evaluation's metrics and speed, as logged and as eval_results.json holds them. */
    public static Map<String, Double> evalMetrics(Metrics m, double runtime, int batchSize) {
        long batches = (m.count() + batchSize - 1) / batchSize;
        Map<String, Double> entry = new LinkedHashMap<>();
        entry.put("eval_loss", m.loss());
        m.scores().forEach((name, v) -> entry.put("eval_" + name, v));
        entry.putAll(TrainerState.entry("eval_runtime", runtime, "eval_samples_per_second", m.count() / runtime,
                "eval_steps_per_second", batches / runtime));
        return entry;
    }

    /**
     * The loss (mean over examples, and for multi-label over labels too) and the metrics of the
     * model's problem type, without building a graph.
     */
    public static Metrics evaluate(SequenceClassifier model, List<Batches.Tokenized> data, int batchSize, Backend backend,
                                   int padId, int numLabels) {
        return evaluate(model, data, batchSize, backend, padId, numLabels, new Listener() {});
    }

    /** The same, telling {@code progress} after each batch. */
    public static Metrics evaluate(SequenceClassifier model, List<Batches.Tokenized> data, int batchSize, Backend backend,
                                   int padId, int numLabels, Listener progress) {
        return evaluate(model, data, batchSize, backend, padId, numLabels, 0, progress);
    }

    /** The same with the training's label smoothing in the loss, as transformers' Trainer evaluates with its LabelSmoother. */
    static Metrics evaluate(SequenceClassifier model, List<Batches.Tokenized> data, int batchSize, Backend backend,
                            int padId, int numLabels, double labelSmoothing, Listener progress) {
        model.setTraining(false);
        int n = data.size();
        float[] logits = new float[n * numLabels];
        double lossSum = 0;
        try (GradMode off = GradMode.off()) {
            int[] lengths = new int[n];
            for (int i = 0; i < n; i++) lengths[i] = data.get(i).ids().length;
            List<int[]> batches = Batches.split(Batches.longestFirst(lengths), batchSize);
            progress.onEvalStep(0, batches.size());
            // each batch's loss and logits are read once the next batch is queued, so the device goes on meanwhile
            EvalBatch queued = null;
            for (int b = 0; b < batches.size(); b++) {
                EvalBatch next;
                try (Backend.Scope scope = backend.openScope()) {
                    Batch batch = Batches.collate(data, batches.get(b), backend, padId);
                    Var out = model.logits(batch);
                    next = new EvalBatch(batches.get(b), model.loss(out, batch.labels(), labelSmoothing).value().toDoubleArrayLater(),
                            out.value().toFloatArrayLater());
                }
                if (queued != null) {
                    lossSum += queued.readInto(logits, numLabels);
                    progress.onEvalStep(b, batches.size());
                }
                queued = next;
            }
            if (queued != null) {
                lossSum += queued.readInto(logits, numLabels);
                progress.onEvalStep(batches.size(), batches.size());
            }
        }
        return metrics(model.problemType(), lossSum / n, data, logits, numLabels);
    }

    /** An evaluation batch on its way through the device: the examples it holds, its mean loss and its logits, read later. */
    private record EvalBatch(int[] examples, Supplier<double[]> loss, Supplier<float[]> logits) {
        /** Its logits into rows {@code examples} of all [N, C]; returns its loss times its size, the evaluation's sum's term. */
        double readInto(float[] all, int numLabels) {
            float[] rows = logits.get();
            for (int r = 0; r < examples.length; r++) System.arraycopy(rows, r * numLabels, all, examples[r] * numLabels, numLabels);
            return loss.get()[0] * examples.length;
        }
    }

    /**
     * Predictions from the logits [N, C] of all the examples: the largest logit's class; the
     * regression output itself; the labels with a positive logit (sigmoid above 0.5).
     */
    private static Metrics metrics(ProblemType type, double loss, List<Batches.Tokenized> data, float[] logits, int numLabels) {
        int n = data.size();
        return switch (type) {
            case SINGLE_LABEL_CLASSIFICATION -> {
                int[] labels = new int[n], predictions = new int[n];
                for (int i = 0; i < n; i++) {
                    labels[i] = data.get(i).label();
                    for (int c = 1; c < numLabels; c++) {
                        if (logits[i * numLabels + c] > logits[i * numLabels + predictions[i]]) predictions[i] = c;   // the first of equal maxima, as argmax
                    }
                }
                yield Metrics.singleLabel(loss, labels, predictions, numLabels);
            }
            case REGRESSION -> {
                double[] labels = new double[n], predictions = new double[n];
                for (int i = 0; i < n; i++) {
                    labels[i] = data.get(i).targets()[0];
                    predictions[i] = logits[i];
                }
                yield Metrics.regression(loss, labels, predictions);
            }
            case MULTI_LABEL_CLASSIFICATION -> {
                boolean[][] labels = new boolean[n][numLabels], predicted = new boolean[n][numLabels];
                for (int i = 0; i < n; i++) {
                    for (int c = 0; c < numLabels; c++) {
                        labels[i][c] = data.get(i).targets()[c] > 0.5f;
                        predicted[i][c] = logits[i * numLabels + c] > 0;
                    }
                }
                yield Metrics.multiLabel(loss, labels, predicted);
            }
        };
    }

    /**
     * Whether the metric is the best so far (then it is); and, as HF's EarlyStoppingCallback counts, an
     * evaluation that does not beat the previous best by more than the threshold adds one to the
     * evaluations without improvement, one that does sets them back to 0.
     */
    private boolean recordMetric(TrainerState state, Metrics m) {
        double v = m.get(args.metricForBestModel());
        Double best = state.bestMetric;
        boolean better = best == null || (args.greaterIsBetter() ? v > best : v < best);
        if (better && (best == null || Math.abs(v - best) > args.earlyStoppingThreshold())) state.evalsWithoutImprovement = 0;
        else state.evalsWithoutImprovement++;
        if (better) {
            state.bestMetric = v;
            state.bestGlobalStep = state.globalStep;
        }
        return better;
    }

    // ---- checkpoints --------------------------------------------------------------------------

    private void saveModel(Path dir) throws IOException {
        Files.createDirectories(dir);
        model.save(dir, saveDtype);
    }

    private void saveCheckpoint(TrainerState state, Checkpoint checkpoint, boolean best) throws IOException {
        Path target = args.outputDir().resolve("checkpoint-" + state.globalStep);
        if (best) state.bestModelCheckpoint = target.toString();
        checkpoint.save(args.outputDir(), state, args.dataSeed(), args.recorded().isEmpty() ? null : recordedArgs(), args.saveOnlyModel());
        rotate(state);
    }

    private void rotate(TrainerState state) throws IOException {
        Checkpoints.rotate(args.outputDir(), args.saveTotalLimit(),
                state.bestModelCheckpoint == null ? null : Path.of(state.bestModelCheckpoint));
    }

    private byte[] recordedArgs() throws IOException {
        return TrainerState.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(args.recorded());
    }

    private static ObjectNode lastEvalEntry(TrainerState state) {
        for (int i = state.logHistory.size() - 1; i >= 0; i--) {
            if (state.logHistory.get(i).has("eval_loss")) return (ObjectNode) state.logHistory.get(i);
        }
        throw new IllegalStateException("no evaluation in the log history");
    }

    /**
     * The files HF's example scripts leave with save_metrics: train_results.json (the final log entry of training,
     * without its step, and the sample count), eval_results.json (the final evaluation's, likewise) and
     * all_results.json (both combined); keys sorted, as HF writes them.
     */
    private void writeAllResults(ObjectNode trainMetrics, ObjectNode evalMetrics) throws IOException {
        Map<String, JsonNode> all = new TreeMap<>();
        all.putAll(writeResults("train", trainMetrics, train.size()));
        if (evalMetrics != null) all.putAll(writeResults("eval", evalMetrics, eval.size()));
        AtomicFiles.write(args.outputDir().resolve("all_results.json"), TrainerState.JSON.writeValueAsBytes(all));
    }

    /** {split}_results.json: a log entry's values but its step, and {split}_samples; returns them. */
    private Map<String, JsonNode> writeResults(String split, ObjectNode entry, int samples) throws IOException {
        Map<String, JsonNode> sorted = new TreeMap<>();
        entry.fields().forEachRemaining(e -> sorted.put(e.getKey(), e.getValue()));
        sorted.remove("step");
        sorted.put(split + "_samples", IntNode.valueOf(samples));
        AtomicFiles.write(args.outputDir().resolve(split + "_results.json"), TrainerState.JSON.writeValueAsBytes(sorted));
        return sorted;
    }
}
