package dev.bertft.train;

import dev.bertft.api.BertClassifier;
import dev.bertft.api.ClassifierOptions;
import dev.bertft.autograd.Precision;
import dev.bertft.autograd.Var;
import dev.bertft.bert.BertForSequenceClassification;
import dev.bertft.cuda.CudaBackend;
import dev.bertft.cuda.KernelEmulator;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import dev.bertft.train.EmulatedStepGraphTest.Run;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Work queued before the last step's results are read, on an emulated device whose stream runs only
 * when the host waits for it ({@link KernelEmulator#queuedGraphBackend}), as a GPU's does: a non-finite
 * update skips the update queued behind it; prediction and evaluation queue the next batch first.
 * (Queued updates against eager ones, bit for bit, and without waiting:
 * {@link EmulatedStepGraphTest#replayedUpdatesAreTheEagerOnesBitForBit}; the Trainer queueing ahead
 * against one reading each outcome first: {@link EmulatedGpuTrainerTest#trainsCheckpointsAndResumesExactlyOnTheCudaBackend}.)
 */
class EmulatedQueuedUpdatesTest {
    private static final Path TINY = Path.of("src", "test", "resources", "bert", "tiny");

    /**
     * An update whose loss is infinite (the classifier's bias set to +∞ for it, and set back before the
     * next is queued): it is skipped, and so is the finite update queued behind it before its outcome was
     * read. The weights and moments stay as the updates before left them, and the optimizer's count too.
     * An update step that does not halt applies that next update, as it should when each is read first.
     */
    @Test
    void aNonFiniteUpdateSkipsTheOneQueuedBehindIt() throws IOException {
        Run ahead = new Run(KernelEmulator.queuedGraphBackend(2), Precision.FP32, true);
        for (int s = 0; s < 3; s++) assertFalse(ahead.update(new int[] {8}, s, -1).skipped(), "update " + s);
        Map<String, float[]> before = weights(ahead);
        UpdateStep.Queued infinite = queueWithInfiniteBias(ahead, 3);
        UpdateStep.Queued behind = ahead.queue(new int[] {8}, 4, -1);
        assertFalse(infinite.outcome().finite(), "the update with an infinite bias");
        assertTrue(infinite.outcome().skipped());
        assertTrue(behind.outcome().finite(), "the update behind it is finite on its own: " + behind.outcome());
        assertTrue(behind.outcome().skipped(), "and skipped");
        assertEquals(before.keySet(), weights(ahead).keySet());
        weights(ahead).forEach((name, w) -> assertArrayEquals(before.get(name), w, name + " as the updates before left it"));
        assertEquals(3, ahead.optimizer.stepCount(), "skipped updates do not count");

        Run oneByOne = new Run(KernelEmulator.freshBackend());
        for (int s = 0; s < 3; s++) oneByOne.update(new int[] {8}, s, -1);
        assertTrue(queueWithInfiniteBias(oneByOne, 3).outcome().skipped());
        assertFalse(oneByOne.update(new int[] {8}, 4, -1).skipped(), "without halting, the next update goes through");
        assertFalse(Arrays.equals(before.get("classifier.weight"), weights(oneByOne).get("classifier.weight")));
        assertEquals(4, oneByOne.optimizer.stepCount());
    }

    /**
     * Prediction and evaluation read each batch's logits once the next batch is queued: on the queued device
     * a classifier's answers, texts of several lengths in batches of 2 (one graph replayed, the rest eager),
     * are the plain emulator's, each at its own text; an evaluation's loss and metrics are the same bits,
     * and the device holds the next batch when the one before is counted done.
     */
    @Test
    void predictionsAndEvaluationsQueueTheNextBatchFirst() throws IOException {
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 9; i++) texts.add("the film " + "was rather good and ".repeat(i % 4) + "i liked it " + i);
        CudaBackend queued = KernelEmulator.queuedGraphBackend(4);
        try (BertClassifier plain = BertClassifier.load(TINY, ClassifierOptions.defaults().batchSize(2).backend(KernelEmulator.freshBackend()));
             BertClassifier ahead = BertClassifier.load(TINY, ClassifierOptions.defaults().batchSize(2).backend(queued))) {
            assertEquals(plain.predict(texts), ahead.predict(texts));
        }

        List<Batches.Tokenized> data = TrainerTest.data(20, 9, false);
        List<Long> pendingWhenCounted = new ArrayList<>();
        Metrics got = Trainer.evaluate(tinyBert(queued), data, 4, queued, 0, 3, new Trainer.Listener() {
            @Override
            public void onEvalStep(long done, long batches) {
                if (done > 0) pendingWhenCounted.add((long) KernelEmulator.pendingWork(queued));
            }
        });
        CudaBackend plain = KernelEmulator.freshBackend();
        Metrics want = Trainer.evaluate(tinyBert(plain), data, 4, plain, 0, 3, new Trainer.Listener() {});
        assertEquals(Double.doubleToRawLongBits(want.loss()), Double.doubleToRawLongBits(got.loss()), "evaluation loss");
        assertEquals(want.scores(), got.scores());
        assertArrayEquals(want.confusion(), got.confusion());
        assertEquals(5, pendingWhenCounted.size());
        for (int b = 0; b < 4; b++) assertTrue(pendingWhenCounted.get(b) > 0, "batch " + (b + 2) + " queued when batch " + (b + 1) + " was counted");
        assertEquals(0, pendingWhenCounted.get(4), "nothing left once the last is counted");
    }

    private static BertForSequenceClassification tinyBert(Backend on) throws IOException {
        return BertForSequenceClassification.fromPretrained(TINY, on, BertForSequenceClassification.LoadOptions.seed(42));
    }

    /** Queues update {@code seed} with the classifier's bias at +∞, and puts the bias back behind it. */
    private static UpdateStep.Queued queueWithInfiniteBias(Run run, long seed) {
        Tensor bias = run.model.namedParameters().get("classifier.bias").value();
        Backend b = run.backend;
        Tensor kept = b.contiguous(bias);
        float[] inf = new float[bias.numel()];
        Arrays.fill(inf, Float.POSITIVE_INFINITY);
        b.copyInPlace(bias, b.fromHost(inf, DType.F32, bias.shape()));
        UpdateStep.Queued q = run.queue(new int[] {8}, seed, -1);
        b.copyInPlace(bias, kept);
        return q;
    }

    private static Map<String, float[]> weights(Run run) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, Var> e : run.model.namedParameters().entrySet()) out.put(e.getKey(), e.getValue().value().toFloatArray());
        return out;
    }
}
