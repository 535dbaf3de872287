package dev.bertft.train;

import dev.bertft.autograd.Precision;
import dev.bertft.autograd.Var;
import dev.bertft.classifier.Batch;
import dev.bertft.classifier.SequenceClassifier;
import dev.bertft.nn.AdamW;
import dev.bertft.nn.GradScaler;
import dev.bertft.nn.Rng;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.IntFunction;
import java.util.function.Supplier;

/**
 * One optimizer update as {@code train} takes it, and as {@code bench} times it: for each
 * micro-batch the forward pass, the loss (scaled by 1/micro-batches, as HF's gradient accumulation
 * does) and its backward pass; then clipping, AdamW and zeroed gradients, all in one memory scope
 * that keeps only the optimizer's moments.
 *
 * <p>The host reads nothing back until the update is queued: the losses, the gradient norm, the
 * clipping and the skip of a non-finite update stay on the device ({@link Backend#updateGuard})
 * and come back as four numbers at the end. So the backend may run the update as a captured graph
 * ({@link Backend#runStep}), keyed by the micro-batches' shapes; a replay runs none of the Java
 * code below, so the dropout stream and the optimizer's count are moved on here as the step would
 * have moved them.
 *
 * <p>{@link #queue} returns before the device has run the update, and its {@link Queued#outcome}
 * waits for it. Where nothing the next update needs depends on this one's outcome, the caller may
 * queue the next before it reads this one's, so that a GPU goes from one update to the next without
 * waiting for the host's work in between (the batch's ids, the replay's host work, the graph's
 * launch). That holds when the update step halts at a non-finite update (every later update is
 * then skipped on the device, {@link Backend#updateGuard}'s halted word; the Trainer stops there)
 * and there is no fp16 loss scale, which the outcome changes ({@link #queuesAhead}); otherwise
 * {@link #queue} reads the last update's outcome first.
 */
public final class UpdateStep {
    /**
     * The summed micro-batch losses, the gradient norm before clipping (unscaled), what the update
     * saw, the loss scale its backward used (1 without a {@link GradScaler}), and whether the update
     * was skipped: it was not finite, or it came after one that was, in an update step that halts.
     */
    public record Outcome(double loss, double gradNorm, long samples, long tokens, double lossScale, boolean skipped) {
        /** A non-finite loss or gradient skips the update: the weights and moments stay as they were. */
        public boolean finite() {
            return Double.isFinite(loss) && Double.isFinite(gradNorm);
        }

        /** An fp16 step whose scaled gradients overflowed though its loss is finite: the scaler skipped it, as torch's does, and backed off. */
        public boolean overflowed() {
            return lossScale != 1 && Double.isFinite(loss) && !Double.isFinite(gradNorm);
        }
    }

    private final SequenceClassifier model;
    private final AdamW optimizer;
    private final double maxGradNorm;
    /** transformers' label_smoothing_factor: 0 trains on the model's own loss. */
    private final double labelSmoothing;
    private final Backend backend;
    /** For a model computing in fp16, as HF's Trainer makes one for fp16=True; null otherwise. */
    private final GradScaler scaler;
    /** How far each key's step moves the dropout stream, learnt when its Java code runs. */
    private final Map<String, Long> rngAdvance = new HashMap<>();
    /**
     * Whether a non-finite update skips every later one too ({@link Backend#updateGuard}'s halted word),
     * so that the next update may be queued before this one's outcome is read. Not with an fp16 loss
     * scale: its overflows skip an update and go on.
     */
    private final boolean queuesAhead;
    /** That word, made by the first update; null where updates do not halt. */
    private Tensor halted;
    /** The last update queued, or null. */
    private Queued last;
    private long hostNanos;

    /** {@code maxGradNorm} ≤ 0: no clipping (the norm is still measured). */
    public UpdateStep(SequenceClassifier model, AdamW optimizer, double maxGradNorm, Backend backend) {
        this(model, optimizer, maxGradNorm, 0, backend);
    }

    /** The same, with the loss smoothed over the classes ({@link dev.bertft.classifier.ProblemType#loss(Var, Tensor, double)}). */
    public UpdateStep(SequenceClassifier model, AdamW optimizer, double maxGradNorm, double labelSmoothing, Backend backend) {
        this(model, optimizer, maxGradNorm, labelSmoothing, false, backend);
    }

    /**
     * The same; with {@code haltAfterNonFinite} (the Trainer, unless skip_non_finite_steps; {@code bench})
     * and no fp16 loss scale, a non-finite update skips every later one as well, on the device, which
     * lets {@link #queue} run ahead of the outcomes.
     */
    public UpdateStep(SequenceClassifier model, AdamW optimizer, double maxGradNorm, double labelSmoothing, boolean haltAfterNonFinite,
                      Backend backend) {
        this.model = model;
        this.optimizer = optimizer;
        this.maxGradNorm = maxGradNorm;
        this.labelSmoothing = labelSmoothing;
        this.backend = backend;
        this.scaler = model.precision() == Precision.FP16 ? new GradScaler() : null;
        this.queuesAhead = haltAfterNonFinite && scaler == null;
    }

    /** Whether {@link #queue} may queue an update before the last one's outcome is read (see the constructor). */
    public boolean queuesAhead() {
        return queuesAhead;
    }

    /** The loss scaler of an fp16 model, whose state checkpoints keep; null for other precisions. */
    public GradScaler scaler() {
        return scaler;
    }

    /** Runs the update over {@code microBatches} batches, made by {@code batch} inside the step's scope, at learning rate {@code lr}. */
    public Outcome run(int microBatches, IntFunction<Batch> batch, double lr) {
        return queue(microBatches, batch, lr).outcome();
    }

    /**
     * Queues the update {@link #run} makes, and returns before the device has run it. Unless
     * {@link #queuesAhead}, the last update's outcome is read first: it may decide this one's loss
     * scale (fp16) or step count (a skipped update).
     */
    public Queued queue(int microBatches, IntFunction<Batch> batch, double lr) {
        if (last != null && !queuesAhead) last.outcome();
        long start = System.nanoTime();
        model.setTraining(true);
        try (Backend.Scope step = backend.openScope()) {
            if (queuesAhead && halted == null) {
                halted = backend.zeros(DType.F64, 1);
                step.keep(halted);
            }
            Queued queued = guarded(microBatches, batch, lr, start);
            optimizer.keepState(step);
            last = queued;
            return queued;
        }
    }

    /** An update on its way through the device: {@link #outcome} waits for it. */
    public final class Queued {
        private final Supplier<double[]> guard;
        private final long samples, tokens, stepNumber;
        private final double lossScale;
        private Outcome outcome;

        private Queued(Supplier<double[]> guard, long samples, long tokens, long stepNumber, double lossScale) {
            this.guard = guard;
            this.samples = samples;
            this.tokens = tokens;
            this.stepNumber = stepNumber;
            this.lossScale = lossScale;
        }

        /**
         * What the update did, once the device has run it. The first call takes the optimizer's count
         * back past a skipped update and moves an fp16 loss scale on, as the update's own Java code
         * would have done had it waited.
         */
        public Outcome outcome() {
            if (outcome == null) {
                double[] g = guard.get();
                outcome = new Outcome(g[0], g[1], samples, tokens, lossScale, g[3] != 0);
                if (outcome.skipped()) optimizer.setStepCount(Math.min(optimizer.stepCount(), stepNumber - 1));
                if (scaler != null) scaler.update(Double.isFinite(outcome.gradNorm()));
            }
            return outcome;
        }
    }

    /**
     * The update with its decisions on the device, through {@link Backend#runStep}. An fp16 update's
     * loss scale is part of the key: it changes only when the scaler backs off or grows (every 2,000
     * clean steps at most), and a step captured at one scale replays it as a constant.
     */
    private Queued guarded(int microBatches, IntFunction<Batch> batch, double lr, long start) {
        List<Batch> micro = new ArrayList<>(microBatches);
        List<Tensor> inputs = new ArrayList<>();
        double lossScale = scaler == null ? 1 : scaler.scale();
        StringBuilder key = new StringBuilder("update@").append(System.identityHashCode(this)).append('#').append(tensorsFingerprint())
                .append(model.precision()).append(" scale ").append(lossScale);
        long samples = 0, tokens = 0;
        for (int b = 0; b < microBatches; b++) {
            Batch m = batch.apply(b);
            micro.add(m);
            inputs.addAll(List.of(m.inputIds(), m.typeIds(), m.attentionMask(), m.labels()));
            key.append(' ').append(Arrays.toString(m.inputIds().shape())).append(m.labels().dtype())
                    .append(Arrays.toString(m.labels().shape()));
            samples += m.size();
            tokens += m.inputIds().numel();
        }
        Rng rng = model.rng();
        long rngStart = rng.offset(), stepNumber = optimizer.stepCount() + 1;
        Backend.StepRun run = backend.runStep(key.toString(), inputs, new Backend.StepValues(rngStart, lr, stepNumber),
                slots -> update(micro, slots, lr, lossScale));
        if (run.replayed()) {
            rng.seek(rngStart + rngAdvance.get(key.toString()));
            optimizer.setStepCount(stepNumber);
        } else {
            rngAdvance.put(key.toString(), rng.offset() - rngStart);
        }
        Supplier<double[]> guard = run.output().toDoubleArrayLater();
        hostNanos = System.nanoTime() - start;
        return new Queued(guard, samples, tokens, stepNumber, lossScale);
    }

    /**
     * Which tensors the update reads and writes: loading weights or restoring a checkpoint replaces
     * them, and a graph captured before would still use the old ones, so they are part of the key.
     */
    private long tensorsFingerprint() {
        long h = 1;
        for (Var p : model.trainableParameters().values()) h = 31 * h + System.identityHashCode(p.value());
        for (AdamW.Moments m : optimizer.state().values()) h = 31 * (31 * h + System.identityHashCode(m.m())) + System.identityHashCode(m.v());
        return h;
    }

    /**
     * The update's device work on the micro-batches' tensors as {@code slots} holds them (4 each);
     * returns its guard. With a loss scale other than 1 (fp16) each backward starts from the scale,
     * and the gradients are divided by it again before the guard measures and clips them.
     */
    private Tensor update(List<Batch> micro, List<Tensor> slots, double lr, double lossScale) {
        int n = micro.size();
        List<Tensor> losses = new ArrayList<>(n);
        for (int b = 0; b < n; b++) {
            Batch m = micro.get(b);
            Batch on = new Batch(slots.get(4 * b), slots.get(4 * b + 1), slots.get(4 * b + 2), slots.get(4 * b + 3), m.size(),
                    m.realTokens());
            Var loss = model.loss(model.logits(on), on.labels(), labelSmoothing);
            if (n > 1) loss = loss.mul(1.0 / n);
            if (lossScale == 1) loss.backward();
            else loss.backward(backend.full(loss.value().dtype(), loss.shape(), lossScale));
            losses.add(loss.value());
        }
        List<Tensor> grads = model.trainableParameters().values().stream().map(Var::grad).filter(Objects::nonNull).toList();
        if (lossScale != 1) scaler.unscale(grads);
        Tensor guard = backend.updateGuard(losses, grads, maxGradNorm, halted);
        optimizer.step(lr, guard);
        optimizer.zeroGrad();
        return guard;
    }

    /**
     * Host time of the last update: from its start until everything was queued, before the wait
     * for the device's results (on the CPU backend, the whole update).
     */
    public double lastHostMillis() {
        return hostNanos / 1e6;
    }
}
