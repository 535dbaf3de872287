package dev.bertft.spark;

import dev.bertft.api.ClassifierOptions;

import java.io.Serializable;

/**
 * Which model an executor loads and how it runs it: the value a task carries to its executor and the key of
 * {@link ExecutorModels}' cache, so two stages with the same folder and options share one loaded model.
 *
 * @param path      the model folder, as a Hadoop path (file:, hdfs:, s3a:, gs:, ... or a plain local path)
 * @param device    "cpu", "cuda", "cuda:N" or "auto"
 * @param threads   CPU threads per forward pass, 0 for one per core
 * @param batchSize texts per forward pass
 * @param maxLength tokens per text, 0 for the tokenizer's own maximum
 */
record ModelSpec(String path, String device, int threads, int batchSize, int maxLength) implements Serializable {

    /** The same model on another device (a task's own GPU). */
    ModelSpec on(String device) {
        return new ModelSpec(path, device, threads, batchSize, maxLength);
    }

    /** These settings as the library takes them. */
    ClassifierOptions options() {
        ClassifierOptions o = ClassifierOptions.defaults().device(device).threads(threads).batchSize(batchSize).offline(true);
        return maxLength > 0 ? o.maxLength(maxLength) : o;
    }
}
