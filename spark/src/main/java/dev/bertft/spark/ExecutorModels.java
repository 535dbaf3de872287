package dev.bertft.spark;

import dev.bertft.api.BertClassifier;
import org.apache.hadoop.conf.Configuration;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The models loaded in this JVM, one per {@link ModelSpec}, shared by every task the executor runs: a model
 * is copied to local disk and loaded by the first task that needs it (the others wait for it) and then kept
 * for the executor's life, since Spark runs many tasks, stages and jobs in one executor and a load costs
 * seconds. {@link BertClassifier} takes calls from any number of threads, so tasks share it as it is.
 */
final class ExecutorModels {
    private static final Map<ModelSpec, BertClassifier> LOADED = new ConcurrentHashMap<>();
    private static final AtomicInteger LOADS = new AtomicInteger();

    private ExecutorModels() {
    }

    /**
     * The model {@code spec} names, loaded once in this JVM.
     *
     * @throws UncheckedIOException when the folder cannot be copied or loaded (the message names it and says why)
     */
    static BertClassifier get(ModelSpec spec, Configuration conf) {
        return LOADED.computeIfAbsent(spec, s -> load(s, conf));
    }

    /** How many models this JVM has loaded so far: tests check that executors load each once. */
    static int loads() {
        return LOADS.get();
    }

    private static BertClassifier load(ModelSpec spec, Configuration conf) {
        try {
            Path local = ModelFolders.local(spec.path(), conf);
            try {
                BertClassifier model = BertClassifier.load(local, spec.options());
                LOADS.incrementAndGet();
                return model;
            } catch (IOException e) {
                // the library names the folder it read: say which model path that copy is of
                if (local.toString().equals(spec.path())) throw e;
                throw new IOException("model path " + spec.path() + " (copied to " + local + "): " + e.getMessage(), e);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
    }
}
