/**
 * Prediction from Java: {@link dev.bertft.api.BertClassifier} loads a fine-tuned model folder (or a hub id)
 * and classifies texts or sentence pairs into {@link dev.bertft.api.Prediction}s, the same numbers
 * {@code bert-ft predict} prints. This package is the library's entry point for services and jobs; it knows
 * nothing of the command line.
 */
package dev.bertft.api;
