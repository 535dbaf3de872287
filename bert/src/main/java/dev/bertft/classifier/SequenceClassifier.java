package dev.bertft.classifier;

import dev.bertft.autograd.Precision;
import dev.bertft.autograd.Var;
import dev.bertft.nn.Module;
import dev.bertft.nn.Rng;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/** What the Trainer needs from a model: BERT in practice, anything small in the Trainer's own tests. */
public interface SequenceClassifier extends Module {

    /** [B, numLabels] logits for a padded batch. */
    Var logits(Batch batch);

    /** What the labels are: it picks the loss and the evaluation metrics. */
    ProblemType problemType();

    /** The training loss of logits against a batch's labels, as the problem type defines it. */
    default Var loss(Var logits, Tensor labels) {
        return problemType().loss(logits, labels);
    }

    /** The same with the single-label cross-entropy smoothed by {@code labelSmoothing} (see {@link ProblemType#loss(Var, Tensor, double)}). */
    default Var loss(Var logits, Tensor labels, double labelSmoothing) {
        return problemType().loss(logits, labels, labelSmoothing);
    }

    /** Parameters by their checkpoint names, in a fixed order. */
    Map<String, Var> namedParameters();

    /**
     * The parameters the optimizer updates, by name, in a fixed order: {@link #namedParameters}
     * unless the model trains some of them fused ({@link Module#trainableParameters}).
     */
    default Map<String, Var> trainableParameters() {
        return Module.trainableParameters(this);
    }

    /** Train mode enables dropout. */
    void setTraining(boolean training);

    /**
     * Whether the backward pass recomputes each transformer layer's activations instead of the forward
     * keeping them (HF's gradient_checkpointing): about one layer's activations in memory for one more
     * forward of each layer, and the same gradients. A model without such layers refuses it.
     */
    default void setGradientCheckpointing(boolean on) {
        if (on) throw new UnsupportedOperationException(getClass().getSimpleName() + " has no layers to recompute");
    }

    /** The dropout stream; its offset goes into checkpoints. */
    Rng rng();

    /** Continues the dropout stream from a checkpointed offset. */
    void restoreRng(long offset);

    /** Writes a loadable model folder (weights, config, and whatever else the model needs, e.g. tokenizer files) into {@code dir}. */
    void save(Path dir) throws IOException;

    /** {@link #save} with the weights stored as {@code weights}; a model without half-precision saving takes F32 only. */
    default void save(Path dir, DType weights) throws IOException {
        if (weights != DType.F32) throw new IllegalArgumentException("this model saves its weights as F32 only, not " + weights);
        save(dir);
    }

    /** The precision its forward pass computes in (see {@link Precision}); the Trainer scales fp16 losses. */
    default Precision precision() {
        return Precision.FP32;
    }

    /** Replaces the weights with those saved in {@code dir} by {@link #save}. */
    void loadWeights(Path dir) throws IOException;
}
