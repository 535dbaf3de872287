/**
 * BERT from Java. Prediction: {@link dev.bertft.api.BertClassifier} loads a fine-tuned model folder (or a hub
 * id) and classifies texts or sentence pairs into {@link dev.bertft.api.Prediction}s, the same numbers
 * {@code bert-ft predict} prints. Fine-tuning: {@link dev.bertft.api.FineTuning} trains a pretrained model on
 * {@link dev.bertft.api.TrainingData} with {@link dev.bertft.train.TrainingArgs}, the job {@code bert-ft train}
 * runs, and returns a {@link dev.bertft.api.TrainingResult}. This package is the library's entry point for
 * services and jobs; it knows nothing of the command line.
 */
package dev.bertft.api;
