package dev.bertft.classifier;

import dev.bertft.tensor.Tensor;

/**
 * A padded batch on a device: [B, T] ids, type ids and mask (1 = real token), and the labels:
 * I32 [B] class ids, or F32 [B, K] targets (K = 1 for regression).
 */
public record Batch(Tensor inputIds, Tensor typeIds, Tensor attentionMask, Tensor labels, int size, int realTokens) {}
