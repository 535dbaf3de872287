package dev.bertft.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bertft.autograd.GradMode;
import dev.bertft.autograd.Var;
import dev.bertft.autograd.Precision;
import dev.bertft.bert.BertConfig;
import dev.bertft.bert.BertForSequenceClassification;
import dev.bertft.classifier.Batch;
import dev.bertft.cuda.CudaBackend;
import dev.bertft.cuda.Devices;
import dev.bertft.hub.ModelFiles;
import dev.bertft.io.AtomicFiles;
import dev.bertft.nn.AdamW;
import dev.bertft.nn.Module;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.Simd;
import dev.bertft.tensor.Tensor;
import dev.bertft.train.UpdateStep;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

/**
 * {@code bert-ft bench}: how fast a BERT classifier trains and predicts on a device, on random
 * full-length batches. A training step is what the Trainer does per update (forward, loss,
 * backward, gradient clipping at 1.0, AdamW with weight decay, dropout on); a prediction step is
 * a forward pass without a graph. The clock stops only after the last step's result has reached
 * the host, so queued GPU work is counted. FLOP rates use HF's estimate: 6 (training) or 2
 * (prediction) × parameters outside the embeddings × tokens.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Time training and prediction steps of a BERT classifier on random batches.")
final class BenchCommand implements Callable<Integer> {
    /** Model shapes by name, for timing without a checkpoint (random weights). */
    static final Map<String, Map<String, Integer>> SHAPES = Map.of(
            "bert-base", Map.of("hidden_size", 768, "num_hidden_layers", 12, "num_attention_heads", 12, "intermediate_size", 3072),
            "bert-large", Map.of("hidden_size", 1024, "num_hidden_layers", 24, "num_attention_heads", 16, "intermediate_size", 4096),
            "minilm-l6", Map.of("hidden_size", 384, "num_hidden_layers", 6, "num_attention_heads", 12, "intermediate_size", 1536));

    /** Megabytes a step allocates past which {@link #warnIfBoxed} speaks. */
    private static final double BOXED_MB = 256;

    @Option(names = "--model", paramLabel = "DIR|HUB_ID",
            description = "A Hugging Face BERT folder or hub id (as train takes it) to time; its weights are loaded.")
    String model;

    @Mixin
    HubArgs hub;

    @Option(names = "--shape", defaultValue = "bert-base", paramLabel = "bert-base|bert-large|minilm-l6",
            description = "Without --model: a model of this shape with random weights. Default: ${DEFAULT-VALUE}.")
    String shape;

    @Mixin
    DeviceArgs device;

    @Mixin
    PrecisionArgs precisionArgs;

    @Option(names = "--batch-size", defaultValue = "32", description = "Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(names = "--seq-len", defaultValue = "128", description = "Tokens per example. Default: ${DEFAULT-VALUE}.")
    int seqLen;

    @Option(names = "--steps", defaultValue = "10", description = "Timed steps of each kind. Default: ${DEFAULT-VALUE}.")
    int steps;

    @Option(names = "--warmup", defaultValue = "3", description = "Untimed steps first (JIT, GPU caches, the graph capture). Default: ${DEFAULT-VALUE}.")
    int warmup;

    @Option(names = "--mode", defaultValue = "both", paramLabel = "train|predict|both", description = "Default: ${DEFAULT-VALUE}.")
    String mode;

    @Option(names = "--gradient-checkpointing", description = "Training steps recompute each layer's activations in the backward "
            + "pass instead of keeping them (train's --gradient-checkpointing).")
    boolean gradientCheckpointing;

    @Option(names = "--profile", description = "Also print where the timed steps spend their time, op by op (CPU backend; Flight Recorder samples, whose own allocation the MB a step then includes).")
    boolean profile;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the results to FILE as JSON.")
    Path json;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    /** One timed phase: each step's seconds and allocated bytes, and the rates they give. */
    record Timing(double[] stepSeconds, long[] stepBytes, long examplesPerStep, long tokensPerStep, double flopsPerStep) {
        Timing(StepMeter meter, long examplesPerStep, long tokensPerStep, double flopsPerStep) {
            this(meter.seconds(), meter.bytes(), examplesPerStep, tokensPerStep, flopsPerStep);
        }

        int steps() {
            return stepSeconds.length;
        }

        double seconds() {
            return Arrays.stream(stepSeconds).sum();
        }

        double secondsPerStep() {
            return seconds() / steps();
        }

        /** The median step, the figure GPU runs compare (summary.json). */
        double medianSeconds() {
            return median(stepSeconds);
        }

        /** The median step's allocated megabytes, or -1 where the JVM does not count them. */
        double medianAllocatedMb() {
            return stepBytes[0] < 0 ? -1 : median(Arrays.stream(stepBytes).asDoubleStream().toArray()) / 1e6;
        }

        String describe(String what) {
            double[] s = stepSeconds.clone();
            Arrays.sort(s);
            return String.format(Locale.ROOT, "%-8s %d steps in %.2f s: %.4f s/step (median %.4f, %.4f-%.4f), %.1f samples/s, "
                    + "%.0f tokens/s, %.2f TFLOP/s, %.0f MB allocated a step (median)", what + ":", steps(), seconds(),
                    secondsPerStep(), medianSeconds(), s[0], s[s.length - 1], examplesPerStep * steps() / seconds(),
                    tokensPerStep * steps() / seconds(), flopsPerStep * steps() / seconds() / 1e12, medianAllocatedMb());
        }

        ObjectNode toJson() {
            double[] s = stepSeconds.clone();
            Arrays.sort(s);
            ObjectNode o = JsonNodeFactory.instance.objectNode();
            o.put("steps", steps());
            o.put("seconds", seconds());
            o.put("seconds_per_step", secondsPerStep());
            o.put("median_ms", medianSeconds() * 1e3);
            o.put("min_ms", s[0] * 1e3);
            o.put("max_ms", s[s.length - 1] * 1e3);
            o.put("samples_per_second", examplesPerStep * steps() / seconds());
            o.put("tokens_per_second", tokensPerStep * steps() / seconds());
            o.put("tflops", flopsPerStep * steps() / seconds() / 1e12);
            // In order, so a run with --warmup 0 shows what the first steps cost (JIT, caches).
            ArrayNode each = o.putArray("step_ms");
            for (double t : stepSeconds) each.add(Math.round(t * 1e4) / 10.0);
            o.put("alloc_median_mb", medianAllocatedMb());
            ArrayNode mb = o.putArray("alloc_mb");
            for (long b : stepBytes) mb.add(b < 0 ? -1 : Math.round(b / 1e3) / 1e3);
            return o;
        }
    }

    @Override
    public Integer call() throws Exception {
        if (batchSize <= 0) throw new IllegalArgumentException("--batch-size must be > 0, got " + batchSize);
        if (seqLen <= 0) throw new IllegalArgumentException("--seq-len must be > 0, got " + seqLen);
        if (steps <= 0) throw new IllegalArgumentException("--steps must be > 0, got " + steps);
        if (warmup < 0) throw new IllegalArgumentException("--warmup must be >= 0, got " + warmup);
        if (!mode.equals("train") && !mode.equals("predict") && !mode.equals("both")) {
            throw new IllegalArgumentException("--mode must be train, predict or both, got \"" + mode + "\"");
        }
        if (model == null && !SHAPES.containsKey(shape)) {
            throw new IllegalArgumentException("--shape must be one of " + String.join(", ", SHAPES.keySet().stream().sorted().toList())
                    + ", got \"" + shape + "\"");
        }
        Devices.Resolved resolved = device.resolve();
        Backend backend = resolved.backend();
        Precision precision = precisionArgs.resolve(backend);
        BertForSequenceClassification m = model != null
                ? BertForSequenceClassification.fromPretrained(hub.resolve(model, ModelFiles.Needs.MODEL), backend,
                        BertForSequenceClassification.LoadOptions.seed(42))
                : BertForSequenceClassification.init(config(shape), backend, 42);
        m.setPrecision(precision);
        BertConfig c = m.config();
        if (seqLen > c.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("--seq-len " + seqLen + " is longer than the model's max_position_embeddings "
                    + c.maxPositionEmbeddings());
        }
        long params = Module.namedParameters(m).values().stream().mapToLong(p -> p.value().numel()).sum();
        long nonEmbedding = Module.nonEmbeddingParameterCount(m);
        long tokens = (long) batchSize * seqLen;
        System.out.println("model:   " + (model != null ? model : shape + " shape, random weights") + String.format(Locale.ROOT,
                " (%.1f M parameters, %d layers, hidden %d, %d heads)", params / 1e6, c.numHiddenLayers(), c.hiddenSize(),
                c.numAttentionHeads()));
        System.out.println(resolved.summary());
        if (backend instanceof CudaBackend gpu) System.out.println("         " + gpu.describe().replace("\n", "\n         "));
        System.out.println("batch:   " + batchSize + " x " + seqLen + " tokens, precision " + precision);

        Batch batch = randomBatch(backend, c);
        ObjectNode results = JsonNodeFactory.instance.objectNode();
        results.put("model", model != null ? model : shape);
        results.put("device", device.device);
        results.put("batch_size", batchSize);
        results.put("seq_len", seqLen);
        results.put("precision", precision.toString());
        results.put("parameters", params);
        results.put("gradient_checkpointing", gradientCheckpointing);
        if (!mode.equals("predict")) {
            m.setGradientCheckpointing(gradientCheckpointing);
            double[] hostMillis = new double[steps];
            CudaBackend.ReplayHostTime before = backend instanceof CudaBackend gpu ? gpu.replayHostTime() : null;
            Timing t = new Timing(timeTraining(m, batch, hostMillis), batchSize, tokens, 6.0 * nonEmbedding * tokens);
            System.out.println(t.describe("train"));
            double hostMedian = median(hostMillis);
            System.out.println(String.format(Locale.ROOT, "host:    %.3f ms per training step (median): the host's time to queue an update, "
                    + "before it waits for the device's results", hostMedian));
            ObjectNode train = t.toJson().put("host_median_ms", hostMedian);
            if (backend instanceof CudaBackend gpu) {
                CudaBackend.ReplayHostTime r = gpu.replayHostTime().perReplaySince(before);
                System.out.println(String.format(Locale.ROOT, "         of it in each of %d graph replays (mean): inputs copied in %.3f ms, "
                        + "host work %.3f ms (%.0f uploads, %.3f ms), the graph's launch %.3f ms", r.replays(), r.copyInMs(), r.hostWorkMs(),
                        r.uploads(), r.uploadMs(), r.launchMs()));
                train.putObject("host_replay_ms").put("replays", r.replays()).put("copy_in", r.copyInMs()).put("host_work", r.hostWorkMs())
                        .put("uploads", r.uploads()).put("upload", r.uploadMs()).put("graph_launch", r.launchMs());
            }
            printProfile(t);
            warnIfBoxed(t);
            results.set("train", train);
        }
        if (!mode.equals("train")) {
            Timing t = new Timing(timePredicting(m, batch), batchSize, tokens, 2.0 * nonEmbedding * tokens);
            System.out.println(t.describe("predict"));
            printProfile(t);
            warnIfBoxed(t);
            results.set("predict", t.toJson());
        }
        if (backend instanceof CudaBackend gpu) System.out.println("memory:  " + gpu.memoryStats());
        if (json != null) {
            AtomicFiles.write(json, new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(results));
        }
        return 0;
    }

    /** The profile of the phase just timed, when --profile asked for one. */
    private OpProfile.Result profiled;

    private OpProfile startProfile() {
        return profile ? OpProfile.start() : null;
    }

    private void stopProfile(OpProfile recording) {
        if (recording == null) return;
        try (recording) {
            profiled = recording.stop();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void printProfile(Timing t) {
        if (profiled != null) System.out.print(profiled.table(t.medianSeconds(), t.steps()));
        profiled = null;
    }

    /**
     * A warm step allocates a few megabytes (6 MB for MiniLM at 32 × 128); hundreds mean a Vector
     * API kernel ran as boxed Java code, and the times are not this engine's (see {@link StepMeter}).
     * Not under --profile: with Flight Recorder sampling, a MiniLM step counted 368–749 MB whatever
     * the kernels did, so the figure says nothing about them.
     */
    private void warnIfBoxed(Timing t) {
        if (!profile && t.medianAllocatedMb() > BOXED_MB) {
            System.err.printf(Locale.ROOT, "bert-ft: warning: each timed step allocated %.0f MB: a Vector API kernel ran as boxed Java code"
                    + " in this JVM, so these times are not representative; start the JVM with %s%n", t.medianAllocatedMb(),
                    String.join(" ", Simd.JIT_FLAGS));
        }
    }

    static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        return (s[(s.length - 1) / 2] + s[s.length / 2]) / 2;
    }

    static BertConfig config(String shape) {
        ObjectNode j = JsonNodeFactory.instance.objectNode();
        SHAPES.get(shape).forEach(j::put);
        return BertConfig.fromJson(j);
    }

    /** Seeded random token ids over the whole vocabulary but padding, one segment, no padding, random labels. */
    private Batch randomBatch(Backend backend, BertConfig c) {
        SplittableRandom r = new SplittableRandom(7);
        int n = batchSize * seqLen;
        int[] ids = new int[n], types = new int[n], mask = new int[n], labels = new int[batchSize];
        for (int i = 0; i < n; i++) {
            ids[i] = 1 + r.nextInt(c.vocabSize() - 1);
            mask[i] = 1;
        }
        for (int b = 0; b < batchSize; b++) labels[b] = r.nextInt(c.numLabels());
        return new Batch(Tensor.of(backend, ids, batchSize, seqLen), Tensor.of(backend, types, batchSize, seqLen),
                Tensor.of(backend, mask, batchSize, seqLen), Tensor.of(backend, labels, batchSize), batchSize, n);
    }

    /**
     * Times {@code steps} training steps after {@code warmup} untimed ones, each the Trainer's own
     * update, queued as the Trainer queues them: the next before this one's gradient norm and loss
     * reach the host ({@link UpdateStep#queue}). A step's time runs from the last step's outcome on the
     * host to its own, the first from its queueing; each step's host time
     * ({@link UpdateStep#lastHostMillis}) goes into {@code hostMillis}. On a GPU the update is captured
     * as a graph at the third step (the first makes AdamW's moments, the second is the first with them)
     * and replayed after, so a warmup of 3 leaves only replays timed.
     */
    private StepMeter timeTraining(BertForSequenceClassification m, Batch batch, double[] hostMillis) {
        AdamW optimizer = new AdamW(AdamW.decayGroups(m.trainableParameters(), 0.01), 0.9, 0.999, 1e-8);
        UpdateStep step = new UpdateStep(m, optimizer, 1.0, 0, true, batch.inputIds().backend());
        for (int i = 0; i < warmup; i++) step.run(1, b -> batch, 1e-5);
        StepMeter meter = new StepMeter(steps);
        UpdateStep.Outcome last = null;
        OpProfile recording = startProfile();
        UpdateStep.Queued next = null;
        for (int i = 0; i < steps; i++) {
            meter.start();
            if (i == 0) {
                next = step.queue(1, b -> batch, 1e-5);
                hostMillis[0] = step.lastHostMillis();
            }
            UpdateStep.Queued current = next;
            if (i + 1 < steps) {
                next = step.queue(1, b -> batch, 1e-5);
                hostMillis[i + 1] = step.lastHostMillis();
            }
            last = current.outcome();
            meter.stop();
        }
        stopProfile(recording);
        if (!last.finite() || last.skipped()) throw new IllegalStateException("training loss became " + last.loss() + " during the benchmark");
        return meter;
    }

    /**
     * Times {@code steps} forward passes after {@code warmup} untimed ones, each ending with its logits on
     * the host, the next queued before they are read, as {@code predict} and evaluations queue them. A
     * pass's time runs from the last pass's logits on the host to its own, the first from its queueing.
     */
    private StepMeter timePredicting(BertForSequenceClassification m, Batch batch) {
        m.holdForPrediction();
        try (GradMode off = GradMode.off()) {
            for (int i = 0; i < warmup; i++) queuePrediction(m, batch).get();
            StepMeter meter = new StepMeter(steps);
            OpProfile recording = startProfile();
            Supplier<float[]> next = null;
            for (int i = 0; i < steps; i++) {
                meter.start();
                Supplier<float[]> current = next != null ? next : queuePrediction(m, batch);
                next = i + 1 < steps ? queuePrediction(m, batch) : null;
                current.get();
                meter.stop();
            }
            stopProfile(recording);
            return meter;
        }
    }

    private static Supplier<float[]> queuePrediction(BertForSequenceClassification m, Batch batch) {
        try (Backend.Scope step = batch.inputIds().backend().openScope()) {
            return m.predictLogits(batch.inputIds(), batch.typeIds(), batch.attentionMask()).toFloatArrayLater();
        }
    }
}
