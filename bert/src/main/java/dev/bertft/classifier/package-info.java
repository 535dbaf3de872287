/**
 * The contract between a sequence classifier and whoever trains or runs it: the model implements
 * {@link dev.bertft.classifier.SequenceClassifier}, the Trainer drives it with
 * {@link dev.bertft.classifier.Batch}es. Kept apart from both so that the model never depends on the Trainer.
 */
package dev.bertft.classifier;
