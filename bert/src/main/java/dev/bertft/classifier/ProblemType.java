package dev.bertft.classifier;

import dev.bertft.autograd.Var;
import dev.bertft.tensor.Tensor;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What the labels are, as config.json's {@code problem_type} in transformers names it. It picks the
 * loss BertForSequenceClassification computes, the shape of the labels and the evaluation metrics.
 */
public enum ProblemType {
    /** One class per example, an integer id: cross-entropy over softmax; accuracy and F1. */
    SINGLE_LABEL_CLASSIFICATION(List.of("accuracy", "f1")),
    /** A float score per example, one output: mean squared error; MSE, RMSE, Pearson and Spearman correlation. */
    REGRESSION(List.of("mse", "rmse", "pearson", "spearmanr")),
    /** Any number of classes per example, a multi-hot vector: binary cross-entropy per class; exact-match accuracy and F1s. */
    MULTI_LABEL_CLASSIFICATION(List.of("accuracy", "f1_micro", "f1_macro"));

    /** Labels equal to this are left out of the single-label loss (torch's default ignore index). */
    public static final int IGNORE_INDEX = -100;

    private final List<String> metricNames;

    ProblemType(List<String> metricNames) {
        this.metricNames = metricNames;
    }

    /** The name in config.json and on the command line: single_label_classification, regression, multi_label_classification. */
    public String hfName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static ProblemType parse(String hfName) {
        for (ProblemType p : values()) if (p.hfName().equals(hfName)) return p;
        throw new IllegalArgumentException("problem type '" + hfName + "' is not one of "
                + String.join(", ", Arrays.stream(values()).map(ProblemType::hfName).toList()));
    }

    /**
     * transformers' choice when config.json has no problem_type: one output is regression, else one
     * class per example (what bert-ft's data gives when the labels are not lists).
     */
    public static ProblemType ofUnsetConfig(int numLabels) {
        return numLabels == 1 ? REGRESSION : SINGLE_LABEL_CLASSIFICATION;
    }

    /** The metrics the Trainer's {@code Metrics} computes for this problem type, without the "eval_" prefix; "loss" comes on top. */
    public List<String> metricNames() {
        return metricNames;
    }

    /**
     * The loss of logits [B, C] against a batch's labels, as BertForSequenceClassification.forward:
     * cross-entropy against I32 [B] class ids (−100 skipped); MSE against F32 [B, 1] scores (transformers
     * squeezes both sides, which averages the same numbers); BCE with logits against F32 [B, C] multi-hot rows.
     */
    public Var loss(Var logits, Tensor labels) {
        return loss(logits, labels, 0);
    }

    /**
     * The loss transformers' Trainer computes with label_smoothing_factor ε (its LabelSmoother): for a
     * single label, (1 − ε)·cross-entropy + ε·the mean over classes of −log softmax, that is the cross-entropy
     * against (1 − ε) on the label plus ε/C on every class. Only single-label classification takes ε.
     */
    public Var loss(Var logits, Tensor labels, double labelSmoothing) {
        if (labelSmoothing != 0 && this != SINGLE_LABEL_CLASSIFICATION) {
            throw new IllegalArgumentException("label smoothing applies to single-label classification only, not " + hfName());
        }
        return switch (this) {
            case SINGLE_LABEL_CLASSIFICATION -> logits.crossEntropy(labels, IGNORE_INDEX, labelSmoothing);
            case REGRESSION -> logits.mseLoss(labels);
            case MULTI_LABEL_CLASSIFICATION -> logits.bceWithLogits(labels);
        };
    }
}
