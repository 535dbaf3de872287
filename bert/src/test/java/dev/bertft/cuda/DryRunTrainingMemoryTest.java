package dev.bertft.cuda;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bertft.autograd.Autocast;
import dev.bertft.autograd.GradMode;
import dev.bertft.autograd.Precision;
import dev.bertft.autograd.Var;
import dev.bertft.bert.BertConfig;
import dev.bertft.bert.BertForSequenceClassification;
import dev.bertft.classifier.Batch;
import dev.bertft.nn.AdamW;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import dev.bertft.train.Batches;
import dev.bertft.train.UpdateStep;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPU memory of bert-base training steps (batch 32 × 128) on the real CudaBackend with its
 * launches recorded instead of run (DryRunTest's recorder; no GPU, no kernel executes): each step
 * in a memory scope, as the Trainer takes it, holds its activations only while it runs, so
 * between steps only the weights and AdamW's moments stay, and after the first steps every
 * block comes from the allocator's free lists, with no garbage collection asked for.
 */
class DryRunTrainingMemoryTest {

    private final DryRunTest.Recorder recorder;
    private final CudaBackend gpu;

    DryRunTrainingMemoryTest() throws IOException {
        recorder = new DryRunTest.Recorder();
        gpu = DryRunTest.dryBackend(recorder);
    }

    /** A bert-base-shaped classifier with random weights, in training mode or not. */
    private BertForSequenceClassification bertBase(boolean training) throws IOException {
        ObjectNode shape = JsonNodeFactory.instance.objectNode();
        shape.put("hidden_size", 768).put("num_hidden_layers", 12).put("num_attention_heads", 12).put("intermediate_size", 3072);
        BertForSequenceClassification model = BertForSequenceClassification.init(BertConfig.fromJson(shape), gpu, 42);
        model.setTraining(training);
        return model;
    }

    /** Token ids, token types and attention mask of a full batch of b × t tokens. */
    private Tensor[] batch(int b, int t) {
        return new Tensor[] {gpu.zeros(DType.I32, b, t), gpu.zeros(DType.I32, b, t), gpu.full(DType.I32, new int[] {b, t}, 1)};
    }

    @Test
    void bertBaseStepsInScopesReuseTheirMemory() throws IOException {
        BertForSequenceClassification model = bertBase(true);
        Tensor[] batch = batch(32, 128);
        Tensor labels = gpu.zeros(DType.I32, 32);
        long before = gpu.memoryStats().inUseBytes(), moments = 0; // the weights (and what the collector has not yet taken back), the batch
        for (Var p : model.namedParameters().values()) moments += 2 * CachingAllocator.bucket(4L * p.value().numel());
        AdamW optimizer = new AdamW(AdamW.decayGroups(model.trainableParameters(), 0.01), 0.9, 0.999, 1e-8);
        UpdateStep step = new UpdateStep(model, optimizer, 1.0, gpu);
        Batch full = new Batch(batch[0], batch[1], batch[2], labels, 32, 32 * 128);
        List<CachingAllocator.Stats> after = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            assertTrue(step.run(1, b -> full, 1e-5).finite(), "a dry run reads zeros back, so every update is applied");
            after.add(gpu.memoryStats());
        }
        CachingAllocator.Stats last = after.get(after.size() - 1);
        System.out.printf("bert-base, batch 32 x 128, dry run: before the first step %s, between steps %s, peak %s; %s%n",
                CachingAllocator.mib(before), CachingAllocator.mib(last.inUseBytes()), CachingAllocator.mib(last.peakInUseBytes()), last);
        for (CachingAllocator.Stats s : after.subList(1, after.size())) {
            assertEquals(after.get(0).inUseBytes(), s.inUseBytes(), "the same memory held between steps: " + after);
            assertEquals(after.get(1).driverAllocations(), s.driverAllocations(), "no new device memory after step 2: " + after);
        }
        assertEquals(0, last.collections(), last.toString());
        // between steps: what was there before plus the moments, nothing of the steps' activations
        assertTrue(last.inUseBytes() <= before + moments, "between steps " + last + ", before " + before + ", moments " + moments);
    }

    /**
     * Peak memory in use (above nothing: weights, moments and batch included) of bert-base training steps at 32 × 512 at
     * {@code precision}, each layer's activations kept or, with {@code recomputed}, recomputed in the backward pass.
     */
    private long peakOfSteps(Precision precision, boolean recomputed) throws IOException {
        BertForSequenceClassification model = bertBase(true);
        model.setPrecision(precision);
        model.setGradientCheckpointing(recomputed);
        Tensor[] batch = batch(32, 512);
        Batch full = new Batch(batch[0], batch[1], batch[2], gpu.zeros(DType.I32, 32), 32, 32 * 512);
        UpdateStep step = new UpdateStep(model, new AdamW(AdamW.decayGroups(model.trainableParameters(), 0.01), 0.9, 0.999, 1e-8), 1.0, gpu);
        for (int i = 0; i < 2; i++) step.run(1, b -> full, 1e-5);
        return gpu.memoryStats().peakInUseBytes();
    }

    /**
     * The memory check: at 32 × 512 a bf16 step (autocast) needs less than a float32 one,
     * as the activations only products read (Q, K, V; the feed-forward expansion and its GELU) are
     * kept in BF16 alone. Measured 2026-12-02: 12,971 MiB against 11,160 MiB (−14 %); with the residual
     * blocks' products no longer kept, 12,090 against 10,180 MiB (−16 %); figures in
     * bench/results/memory-dryrun-2026-12-02-bf16.md.
     */
    @Test
    void bertBaseAt32x512NeedsLessMemoryAtBf16() throws IOException {
        long fp32 = peakOfSteps(Precision.FP32, false);
        DryRunTrainingMemoryTest fresh = new DryRunTrainingMemoryTest();
        long bf16 = fresh.peakOfSteps(Precision.BF16, false);
        System.out.printf("bert-base training, batch 32 x 512, dry run: peak in use fp32 %s, bf16 %s%n", CachingAllocator.mib(fp32),
                CachingAllocator.mib(bf16));
        assertTrue(bf16 < 0.9 * fp32, "bf16 peak " + CachingAllocator.mib(bf16) + " against fp32 " + CachingAllocator.mib(fp32));
    }

    /**
     * HF's gradient_checkpointing: with each layer recomputed in the backward pass, a bert-base step at 32 × 512 holds the
     * twelve layers' outputs and one layer's activations at a time instead of all twelve layers' activations.
     */
    @Test
    void bertBaseAt32x512WithGradientCheckpointingNeedsAFractionOfTheMemory() throws IOException {
        long kept = peakOfSteps(Precision.FP32, false);
        long recomputed = new DryRunTrainingMemoryTest().peakOfSteps(Precision.FP32, true);
        long recomputedBf16 = new DryRunTrainingMemoryTest().peakOfSteps(Precision.BF16, true);
        System.out.printf("bert-base training, batch 32 x 512, dry run: peak in use fp32 %s, with gradient checkpointing %s (bf16 %s)%n",
                CachingAllocator.mib(kept), CachingAllocator.mib(recomputed), CachingAllocator.mib(recomputedBf16));
        assertTrue(recomputed < 0.4 * kept, "recomputed " + CachingAllocator.mib(recomputed) + ", kept " + CachingAllocator.mib(kept));
    }

    /**
     * A residual block's end (Linear, dropout, residual and LayerNorm as one node) keeps the LayerNorm's
     * outputs and statistics but not the Linear's float32 product, which neither backward reads: exactly
     * one [N, H] float32 block less than the Linear and the residual LayerNorm as two nodes keep, in
     * float32 and under bf16 autocast (bert-base at 32 × 512: 48 MiB a block, 24 blocks).
     */
    @Test
    void aResidualBlocksEndKeepsNoProduct() {
        int n = 4096, h = 768;
        Var x = Var.parameter(gpu.zeros(DType.F32, n, h)), w = Var.parameter(gpu.zeros(DType.F32, h, h)), b = Var.parameter(gpu.zeros(DType.F32, h));
        Var residual = Var.parameter(gpu.zeros(DType.F32, n, h)), gamma = Var.parameter(gpu.full(DType.F32, new int[] {h}, 1)),
                beta = Var.parameter(gpu.zeros(DType.F32, h));
        for (DType autocast : new DType[] {null, DType.BF16}) {
            long fused, composed;
            try (Autocast products = Autocast.to(autocast); Backend.Scope step = gpu.openScope()) {
                long before = gpu.memoryStats().inUseBytes();
                x.linearDropoutAddLayerNorm(w, b, residual, gamma, beta, 1e-12, 0.1, 1, 2);
                fused = gpu.memoryStats().inUseBytes() - before;
            }
            try (Autocast products = Autocast.to(autocast); Backend.Scope step = gpu.openScope()) {
                long before = gpu.memoryStats().inUseBytes();
                x.linear(w, b).dropoutAddLayerNorm(residual, gamma, beta, 1e-12, 0.1, 1, 2);
                composed = gpu.memoryStats().inUseBytes() - before;
            }
            assertEquals(composed - CachingAllocator.bucket(4L * n * h), fused, "autocast " + autocast + ": fused " + fused + ", composed " + composed);
        }
    }

    /**
     * The Trainer's update reads the device once, when all of it is queued (the loss, the gradient
     * norm, the clipping and the skip are decided on the device), so the GPU never drains in the
     * middle of a step and the step can be captured as a graph: token ids and labels are checked
     * from their uploads, and nothing is launched after the read.
     */
    @Test
    void anUpdateReadsTheDeviceOnlyAfterItsBackwardPass() throws IOException {
        BertForSequenceClassification model = bertBase(true);
        List<Batches.Tokenized> examples = new ArrayList<>();
        for (int i = 0; i < 8; i++) examples.add(new Batches.Tokenized(new int[] {101, 2000 + i, 3000 + i, 102}, new int[4], i % 2));
        Batch b = Batches.collate(examples, new int[] {0, 1, 2, 3, 4, 5, 6, 7}, gpu, 0); // as the Trainer makes it
        UpdateStep step = new UpdateStep(model, new AdamW(AdamW.decayGroups(model.trainableParameters(), 0.01), 0.9, 0.999, 1e-8), 1.0, gpu);
        step.run(1, i -> b, 1e-5);
        recorder.events.clear();
        step.run(1, i -> b, 1e-5);
        List<String> events = recorder.events;
        int firstRead = events.indexOf("download");
        assertEquals(events.size() - 1, firstRead, "one read back, the update's last event: " + events);
        List<String> before = events.subList(0, firstRead);
        assertTrue(before.indexOf("attention_backward_q_hs64") < before.indexOf("update_guard")
                && before.indexOf("update_guard") < before.indexOf("adamw_list_f32"), "backward, guard and clipping, AdamW: " + before);
    }

    /**
     * Prediction, the evaluation batch of HF's recipe at BERT's full length (64 × 512): without a
     * graph each encoder layer's temporaries go when it returns, so the batch holds the embeddings'
     * and about one layer's worth (3.2 GiB here) instead of all twelve layers' (19.5 GiB).
     */
    @Test
    void bertBasePredictionHoldsOneLayerAtATime() throws IOException {
        BertForSequenceClassification model = bertBase(false);
        Tensor[] batch = batch(64, 512);
        long before = gpu.memoryStats().inUseBytes(), hidden = 64L * 512 * 768 * 4;
        try (GradMode off = GradMode.off(); Backend.Scope scope = gpu.openScope()) {
            model.logits(batch[0], batch[1], batch[2]).value().toHost();
        }
        CachingAllocator.Stats s = gpu.memoryStats();
        System.out.printf("bert-base prediction, batch 64 x 512, dry run: peak %s above the weights and batch%n",
                CachingAllocator.mib(s.peakInUseBytes() - before));
        assertTrue(s.peakInUseBytes() - before < 40 * hidden, "one layer's temporaries at a time: " + s);
        assertEquals(before, s.inUseBytes(), "the batch gave everything back");
    }

    /**
     * Prediction sorted longest first (what BertClassifier and evaluation do): batches of 64 at
     * 512, 496, ..., 32 tokens. Each length's temporaries fall in buckets of their own; the device
     * memory held stays within a small multiple of the peak in use instead of caching a set of
     * blocks per bucket (CachingAllocator's class comment).
     */
    @Test
    void bertBaseLengthSortedPredictionReusesTheLongerBatchesBlocks() throws IOException {
        BertForSequenceClassification model = bertBase(false);
        for (int pass = 0; pass < 2; pass++) {
            for (int t = 512; t >= 32; t -= 16) {
                Tensor[] batch = batch(64, t);
                try (GradMode off = GradMode.off(); Backend.Scope scope = gpu.openScope()) {
                    model.logits(batch[0], batch[1], batch[2]).value().toHost();
                }
            }
        }
        CachingAllocator.Stats s = gpu.memoryStats();
        System.out.printf("bert-base prediction, batches of 64 x 512 down to 64 x 32, two passes, dry run: %s%n", s);
        assertTrue(s.inUseBytes() + s.cachedBytes() < 3 * s.peakInUseBytes(), s.toString());
    }
}
