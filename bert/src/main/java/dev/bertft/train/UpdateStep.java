package dev.bertft.train;

import dev.bertft.autograd.Precision;
import dev.bertft.autograd.Var;
import dev.bertft.classifier.Batch;
import dev.bertft.classifier.SequenceClassifier;
import dev.bertft.nn.AdamW;
import dev.bertft.nn.GradClip;
import dev.bertft.nn.GradScaler;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.Tensor;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.IntFunction;

/**
 * One optimizer update as {@code train} takes it, and as {@code bench} times it: for each
 * micro-batch the forward pass, the loss (scaled by 1/micro-batches, as HF's gradient accumulation
 * does) and its backward pass; then clipping, AdamW and zeroed gradients, all in one memory scope
 * that keeps only the optimizer's moments.
 *
 * <p>The host waits for the device once per update, when it reads the gradient norm; the losses
 * are read after that. Reading a loss before its backward pass would drain a GPU in the middle of
 * the step: the host would queue no backward work while the forward pass finishes.
 */
public final class UpdateStep {
    /**
     * The summed micro-batch losses, the gradient norm before clipping (unscaled), what the update
     * saw, and the loss scale its backward used (1 without a {@link GradScaler}).
     */
    public record Outcome(double loss, double gradNorm, long samples, long tokens, double lossScale) {
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
    private final Backend backend;
    /** For a model computing in fp16, as HF's Trainer makes one for fp16=True; null otherwise. */
    private final GradScaler scaler;

    /** {@code maxGradNorm} ≤ 0: no clipping (the norm is still measured). */
    public UpdateStep(SequenceClassifier model, AdamW optimizer, double maxGradNorm, Backend backend) {
        this.model = model;
        this.optimizer = optimizer;
        this.maxGradNorm = maxGradNorm;
        this.backend = backend;
        this.scaler = model.precision() == Precision.FP16 ? new GradScaler() : null;
    }

    /** The loss scaler of an fp16 model, whose state checkpoints keep; null for other precisions. */
    public GradScaler scaler() {
        return scaler;
    }

    /** Runs the update over {@code microBatches} batches, made by {@code batch} inside the step's scope, at learning rate {@code lr}. */
    public Outcome run(int microBatches, IntFunction<Batch> batch, double lr) {
        model.setTraining(true);
        try (Backend.Scope step = backend.openScope()) {
            List<Tensor> losses = new ArrayList<>(microBatches);
            long samples = 0, tokens = 0;
            for (int b = 0; b < microBatches; b++) {
                Batch micro = batch.apply(b);
                Var loss = model.loss(model.logits(micro), micro.labels());
                if (microBatches > 1) loss = loss.mul(1.0 / microBatches);
                if (scaler == null) loss.backward();
                else loss.backward(backend.full(loss.value().dtype(), loss.shape(), scaler.scale()));
                losses.add(loss.value());
                samples += micro.size();
                tokens += micro.inputIds().numel();
            }
            Collection<Var> params = model.namedParameters().values();
            double lossScale = scaler == null ? 1 : scaler.scale();
            boolean clean = scaler == null || scaler.unscale(params);
            double gradNorm = maxGradNorm > 0 ? GradClip.clipGradNorm(params, maxGradNorm) : GradClip.gradNorm(params);
            double loss = 0;
            for (Tensor l : losses) loss += l.item();
            Outcome outcome = new Outcome(loss, gradNorm, samples, tokens, lossScale);
            if (outcome.finite()) optimizer.step(lr);
            if (scaler != null) scaler.update(clean);
            optimizer.zeroGrad();
            optimizer.keepState(step);
            return outcome;
        }
    }
}
