package dev.bertft.train;

import dev.bertft.autograd.Var;
import dev.bertft.nn.Dropout;
import dev.bertft.nn.Embedding;
import dev.bertft.nn.Linear;
import dev.bertft.nn.Module;
import dev.bertft.nn.Rng;
import dev.bertft.safetensors.SafetensorsFile;
import dev.bertft.safetensors.SafetensorsWriter;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/** A mean-of-embeddings classifier with dropout: small enough to train in milliseconds. */
final class TinyClassifier implements SequenceClassifier, Module {
    private final Backend backend;
    private final ProblemType problemType;
    private final Embedding embeddings;
    private final Linear head;
    private final double dropoutP;
    private Rng rng;
    private Dropout dropout;

    TinyClassifier(Backend backend, int vocab, int hidden, int labels, long seed, double dropoutP) {
        this(backend, vocab, hidden, labels, seed, dropoutP, ProblemType.SINGLE_LABEL_CLASSIFICATION);
    }

    TinyClassifier(Backend backend, int vocab, int hidden, int labels, long seed, double dropoutP, ProblemType problemType) {
        this.backend = backend;
        this.problemType = problemType;
        Rng init = new Rng(seed);
        this.embeddings = new Embedding(Var.parameter(backend.normal(DType.F32, new int[] {vocab, hidden}, 0, 0.5, seed, init.next())));
        this.head = Linear.init(backend, DType.F32, hidden, labels, 0.5, init);
        this.dropoutP = dropoutP;
        restoreRng(0);
    }

    @Override
    public Var logits(Batches.Batch batch) {
        Var emb = embeddings.forward(batch.inputIds());                              // (B, T, H)
        Var mask = Var.constant(batch.attentionMask().cast(DType.F32).unsqueeze(-1)); // (B, T, 1)
        Var pooled = emb.mul(mask).sum(1).div(mask.sum(1));                          // (B, H)
        return head.forward(dropout.forward(pooled));
    }

    @Override
    public ProblemType problemType() {
        return problemType;
    }

    @Override
    public Map<String, Var> namedParameters() {
        return Module.namedParameters(this);
    }

    @Override
    public void visit(Visitor v) {
        v.child("embeddings", embeddings);
        v.child("classifier", head);
        v.child("dropout", dropout);
    }

    @Override
    public void setTraining(boolean training) {
        Module.train(dropout, training);
    }

    @Override
    public Rng rng() {
        return rng;
    }

    @Override
    public void restoreRng(long offset) {
        rng = new Rng(rng == null ? 1234 : rng.seed(), offset);
        dropout = new Dropout(dropoutP, rng);
    }

    @Override
    public void save(Path dir) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter();
        for (Map.Entry<String, Var> e : namedParameters().entrySet()) {
            Tensor t = e.getValue().value();
            long[] shape = new long[t.dim()];
            for (int i = 0; i < shape.length; i++) shape[i] = t.size(i);
            w.add(e.getKey(), shape, t.toFloatArray());
        }
        w.write(dir.resolve("model.safetensors"));
    }

    @Override
    public void loadWeights(Path dir) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            for (Map.Entry<String, Var> e : namedParameters().entrySet()) {
                e.getValue().setValue(Tensor.of(backend, f.readF32(e.getKey()), e.getValue().shape()));
            }
        }
    }
}
