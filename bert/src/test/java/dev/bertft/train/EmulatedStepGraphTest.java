package dev.bertft.train;

import dev.bertft.autograd.Precision;
import dev.bertft.autograd.Var;
import dev.bertft.bert.BertForSequenceClassification;
import dev.bertft.cuda.CudaBackend;
import dev.bertft.cuda.KernelEmulator;
import dev.bertft.nn.AdamW;
import dev.bertft.nn.GradScaler;
import dev.bertft.tensor.Backend;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The update step captured as a graph and replayed ({@link dev.bertft.cuda.KernelEmulator#graphBackend},
 * whose recording ops run nothing while a step is captured and fail on any copy to or from the
 * host inside it; the first test's device also runs its stream only when the host waits, and its
 * updates are queued ahead of their outcomes) against the same steps run eagerly on the emulator: a tiny BERT with dropout,
 * a learning rate that changes every step, clipping that cuts in, shapes that change (a new
 * capture) and more shapes than the cap of two (evictions), and gradient accumulation. Every loss,
 * gradient norm and weight is the same bits.
 */
class EmulatedStepGraphTest {
    private static final Path TINY = Path.of("src", "test", "resources", "bert", "tiny");

    /** One training run: the tiny model, AdamW, the update step, on one backend. */
    static final class Run {
        final BertForSequenceClassification model;
        final AdamW optimizer;
        final UpdateStep step;
        final Backend backend;

        Run(Backend backend) throws IOException {
            this(backend, Precision.FP32);
        }

        Run(Backend backend, Precision precision) throws IOException {
            this(backend, precision, false);
        }

        /** With {@code haltAfterNonFinite}, updates may be queued ahead of their outcomes ({@link UpdateStep#queuesAhead}). */
        Run(Backend backend, Precision precision, boolean haltAfterNonFinite) throws IOException {
            this.backend = backend;
            model = BertForSequenceClassification.fromPretrained(TINY, backend, BertForSequenceClassification.LoadOptions.seed(42));
            model.setPrecision(precision);
            optimizer = new AdamW(AdamW.decayGroups(model.trainableParameters(), 0.01), 0.9, 0.999, 1e-8);
            step = new UpdateStep(model, optimizer, 0.5, 0, haltAfterNonFinite, backend);
        }

        /** An update over micro-batches of four examples, the b-th of length {@code lengths[b]}, drawn from {@code seed}. */
        UpdateStep.Outcome update(int[] lengths, long seed, int badLabel) {
            return queue(lengths, seed, badLabel).outcome();
        }

        /** The same update, queued: its outcome not read yet. */
        UpdateStep.Queued queue(int[] lengths, long seed, int badLabel) {
            return step.queue(lengths.length, b -> Batches.collate(examples(lengths[b], seed * 31 + b, badLabel), new int[] {0, 1, 2, 3},
                    backend, 0), 2e-3 * (1 + seed % 3));
        }
    }

    private static List<Batches.Tokenized> examples(int length, long seed, int badLabel) {
        SplittableRandom r = new SplittableRandom(seed);
        List<Batches.Tokenized> out = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            int[] ids = new int[length], types = new int[length];
            for (int t = 0; t < length; t++) {
                ids[t] = 1 + r.nextInt(99);
                types[t] = t < length / 2 ? 0 : 1;
            }
            out.add(new Batches.Tokenized(ids, types, i == 3 && badLabel >= 0 ? badLabel : r.nextInt(3)));
        }
        return out;
    }

    /**
     * On a device whose stream runs only when the host waits for it, as a GPU's
     * ({@link KernelEmulator#queuedGraphBackend}), each update queued before the last one's outcome is read
     * ({@link UpdateStep#queue}): the outcomes, weights and optimizer state are the eager updates', read one
     * by one, bit for bit; and queueing a replayed update does not wait for the device.
     */
    @Test
    void replayedUpdatesAreTheEagerOnesBitForBit() throws IOException {
        CudaBackend captured = KernelEmulator.queuedGraphBackend(2);
        Run eager = new Run(KernelEmulator.freshBackend()), graphs = new Run(captured, Precision.FP32, true);
        assertTrue(graphs.step.queuesAhead());
        int[][] plan = {{8}, {8}, {8}, {8}, {12}, {12}, {12}, {8}, {16}, {16}, {16}, {12}, {12}, {8, 8}, {8, 8}, {8, 8}};
        boolean clipped = false;
        UpdateStep.Outcome before = null;
        UpdateStep.Queued last = null;
        int replaysQueuedWithoutWaiting = 0;
        for (int s = 0; s < plan.length; s++) {
            UpdateStep.Outcome want = eager.update(plan[s], s, -1);
            long waits = KernelEmulator.hostWaits(captured), replays = KernelEmulator.stepCounts(captured)[2];
            UpdateStep.Queued queued = graphs.queue(plan[s], s, -1);
            if (KernelEmulator.stepCounts(captured)[2] > replays) {
                assertEquals(waits, KernelEmulator.hostWaits(captured), "queueing replayed update " + s + " waited for the device");
                assertTrue(KernelEmulator.pendingWork(captured) > 0, "update " + s + " is still queued");
                replaysQueuedWithoutWaiting++;
            }
            if (last != null) assertSameUpdate(before, last.outcome(), "update " + (s - 1) + ", read after " + s + " was queued");
            before = want;
            last = queued;
            clipped |= want.gradNorm() > 0.5;
        }
        assertSameUpdate(before, last.outcome(), "the last update");
        assertTrue(clipped, "some update was clipped");
        // eager: each key's first step (and the very first update's, whose moments are new tensors after
        // it), and step 9, the second of 16 while the last four steps held three keys (the cap is two);
        // captured: a key's second otherwise (16 at step 10), and again after an eviction; replayed: the rest
        assertArrayEquals(new long[] {6, 5, 5, 3}, KernelEmulator.stepCounts(captured), "eager, captured, replayed, evicted");
        assertEquals(5, replaysQueuedWithoutWaiting);
        assertEquals(eager.optimizer.stepCount(), graphs.optimizer.stepCount());
        assertEquals(eager.model.rng().offset(), graphs.model.rng().offset(), "the dropout stream moved on as in the eager run");
        for (Map.Entry<String, Var> e : eager.model.namedParameters().entrySet()) {
            assertArrayEquals(e.getValue().value().toFloatArray(), graphs.model.namedParameters().get(e.getKey()).value().toFloatArray(),
                    e.getKey());
        }
        for (Map.Entry<String, AdamW.Moments> e : eager.optimizer.state().entrySet()) {
            assertArrayEquals(e.getValue().m().toFloatArray(), graphs.optimizer.state().get(e.getKey()).m().toFloatArray(), e.getKey());
            assertArrayEquals(e.getValue().v().toFloatArray(), graphs.optimizer.state().get(e.getKey()).v().toFloatArray(), e.getKey());
        }
    }

    /**
     * With gradient checkpointing the captured update holds each layer's recomputation, its dropout masks drawn again
     * from the rewound stream: replays give the eager steps that keep their activations, bit for bit.
     */
    @Test
    void replayedRecomputingUpdatesAreTheEagerKeepingOnes() throws IOException {
        CudaBackend captured = KernelEmulator.graphBackend(2);
        Run kept = new Run(KernelEmulator.freshBackend()), recomputed = new Run(captured);
        recomputed.model.setGradientCheckpointing(true);
        int[][] plan = {{8}, {8}, {8}, {8}, {8}, {12}, {12}, {12}};
        for (int s = 0; s < plan.length; s++) {
            UpdateStep.Outcome want = kept.update(plan[s], s, -1), got = recomputed.update(plan[s], s, -1);
            assertEquals(Double.doubleToRawLongBits(want.loss()), Double.doubleToRawLongBits(got.loss()), "loss of step " + s);
            assertEquals(Double.doubleToRawLongBits(want.gradNorm()), Double.doubleToRawLongBits(got.gradNorm()), "norm of step " + s);
        }
        assertArrayEquals(new long[] {3, 2, 3, 0}, KernelEmulator.stepCounts(captured), "eager, captured, replayed, evicted");
        assertEquals(kept.model.rng().offset(), recomputed.model.rng().offset(), "the dropout stream moved on as in the eager run");
        for (Map.Entry<String, Var> e : kept.model.namedParameters().entrySet()) {
            Var other = recomputed.model.namedParameters().get(e.getKey());
            assertArrayEquals(e.getValue().value().toFloatArray(), other.value().toFloatArray(), e.getKey());
        }
    }

    /** Prediction's forward pass, replayed for new texts of the same shape, gives the eager pass's logits. */
    @Test
    void replayedPredictionsAreTheEagerOnesBitForBit() throws IOException {
        Predictions p = new Predictions();
        for (int s = 0; s < 4; s++) p.assertSame(10, 100 + s);
        assertArrayEquals(new long[] {1, 1, 2, 0}, KernelEmulator.stepCounts(p.captured), "eager, captured, replayed, evicted");
    }

    /**
     * Prediction's length-sorted batches, each a little shorter than the last, twice over (two windows): the
     * full-length batches are captured once and replayed, and the shorter ones after the first run eagerly the
     * second time too, because the last four steps (twice the cap of two) held more than two shapes. Capturing each on its
     * second sight, as a steady shape would be, would drop every graph before it replays.
     */
    @Test
    void lengthSortedPredictionsCaptureOnlyTheShapeThatRepeats() throws IOException {
        Predictions p = new Predictions();
        int[] window = {12, 12, 12, 11, 10, 9, 8};
        for (int s = 0; s < 2 * window.length; s++) p.assertSame(window[s % window.length], 200 + s);
        // eager: each length's first batch, and 10, 9 and 8 again; captured: 12 at its second batch, and 11, the
        // only shorter one whose last four steps (12, 12, 12, 11) held two shapes; replayed: the other 12s
        assertArrayEquals(new long[] {8, 2, 4, 0}, KernelEmulator.stepCounts(p.captured), "eager, captured, replayed, evicted");
    }

    /** The tiny model in prediction mode twice: run eagerly, and on a backend that captures up to two graphs. */
    private static final class Predictions {
        final CudaBackend captured = KernelEmulator.graphBackend(2);
        final Run eager = new Run(KernelEmulator.freshBackend()), graphs = new Run(captured);

        Predictions() throws IOException {
            eager.model.setTraining(false);
            graphs.model.setTraining(false);
        }

        /** Four texts of {@code length} tokens drawn from {@code seed}: the same logits from both prediction passes. */
        void assertSame(int length, long seed) {
            List<Batches.Tokenized> texts = examples(length, seed, -1);
            int[] all = {0, 1, 2, 3};
            var a = Batches.collate(texts, all, eager.backend, 0);
            var b = Batches.collate(texts, all, graphs.backend, 0);
            assertArrayEquals(eager.model.predictLogits(a.inputIds(), a.typeIds(), a.attentionMask()).toFloatArray(),
                    graphs.model.predictLogits(b.inputIds(), b.typeIds(), b.attentionMask()).toFloatArray(), "texts of seed " + seed);
        }
    }

    /** The host's checks run again for a replayed step's own inputs, before its graph is launched. */
    @Test
    void aReplayedStepStillChecksItsLabels() throws IOException {
        CudaBackend captured = KernelEmulator.graphBackend(2);
        Run graphs = new Run(captured);
        for (int s = 0; s < 4; s++) graphs.update(new int[] {8}, s, -1);
        assertArrayEquals(new long[] {2, 1, 1, 0}, KernelEmulator.stepCounts(captured), "the fourth step replayed");
        CudaBackend.ReplayHostTime host = captured.replayHostTime();
        assertEquals(1, host.replays(), "bench's host times count the replay");
        // the embeddings' ids sorted on the host, and the recorded kernels run again by the graph's launch here
        assertTrue(host.copyInMs() > 0 && host.hostWorkMs() > host.uploadMs() && host.uploadMs() > 0 && host.launchMs() > 0,
                "host time of the replay, by part: " + host);
        assertTrue(host.uploads() >= 1 + 3 * 4, "the dropout stream's start and each embedding's id segments uploaded: " + host);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> graphs.update(new int[] {8}, 4, 7));
        assertEquals("cross_entropy: label 7 at row 3 is outside [0, 3)", e.getMessage());
    }

    /** bf16 updates are captured and replayed like float32 ones, the same bits as eager (fp16 ones: below). */
    @Test
    void bf16UpdatesReplayTheEagerOnesBitForBit() throws IOException {
        CudaBackend captured = KernelEmulator.graphBackend(2);
        Run eager = new Run(KernelEmulator.freshBackend(), Precision.BF16), graphs = new Run(captured, Precision.BF16);
        for (int s = 0; s < 4; s++) assertSameUpdate(eager.update(new int[] {8}, s, -1), graphs.update(new int[] {8}, s, -1), "bf16 step " + s);
        assertArrayEquals(new long[] {2, 1, 1, 0}, KernelEmulator.stepCounts(captured), "bf16: eager, captured, replayed, evicted");
    }

    /**
     * fp16 updates, replayed, are the eager ones bit for bit, overflows included: from a loss scale too
     * large for F16's range the scaled gradients overflow, the update is skipped on the device and the
     * scaler backs off as in the eager run; each new scale is a new key, and once a scale holds, its
     * updates are captured and replayed.
     */
    @Test
    void fp16OverflowsBackOffAsEagerAndTheScaleThatHoldsReplays() throws IOException {
        CudaBackend captured = KernelEmulator.graphBackend(2);
        Run eager = new Run(KernelEmulator.freshBackend(), Precision.FP16), graphs = new Run(captured, Precision.FP16);
        for (Run r : List.of(eager, graphs)) r.step.scaler().restore(new GradScaler.State(0x1p19, 0));
        // held: updates in a row at the scale that held; the third replays (the first runs eagerly, as any
        // key's first, and the second is captured)
        int overflows = 0, held = 0;
        for (int s = 0; s < 40 && held < 3; s++) {
            UpdateStep.Outcome want = eager.update(new int[] {8}, s, -1), got = graphs.update(new int[] {8}, s, -1);
            assertSameUpdate(want, got, "fp16 step " + s);
            if (got.overflowed()) {
                overflows++;
                held = 0;
            } else {
                held++;
            }
        }
        assertTrue(overflows > 0, "2^19 overflows the tiny model's F16 gradients (2^18 holds)");
        assertEquals(3, held, "a scale came to hold");
        assertEquals(eager.step.scaler().state(), graphs.step.scaler().state());
        assertTrue(graphs.step.scaler().scale() < 0x1p19, "the scale backed off");
        assertEquals(eager.optimizer.stepCount(), graphs.optimizer.stepCount(), "skipped updates do not count");
        assertTrue(KernelEmulator.stepCounts(captured)[2] > 0, "updates at the scale that held replayed");
        for (Map.Entry<String, Var> e : eager.model.namedParameters().entrySet()) {
            assertArrayEquals(e.getValue().value().toFloatArray(), graphs.model.namedParameters().get(e.getKey()).value().toFloatArray(),
                    e.getKey());
        }
    }

    private static void assertSameUpdate(UpdateStep.Outcome want, UpdateStep.Outcome got, String what) {
        assertEquals(Double.doubleToRawLongBits(want.loss()), Double.doubleToRawLongBits(got.loss()), what + ": loss");
        assertEquals(Double.doubleToRawLongBits(want.gradNorm()), Double.doubleToRawLongBits(got.gradNorm()), what + ": norm");
        assertEquals(want.lossScale(), got.lossScale(), what + ": loss scale");
        assertEquals(want.skipped(), got.skipped(), what + ": skipped");
    }
}
