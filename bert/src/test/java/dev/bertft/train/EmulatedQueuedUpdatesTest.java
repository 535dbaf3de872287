package dev.bertft.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import org.junit.jupiter.api.io.TempDir;

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
 * update skips the update queued behind it; the Trainer queues ahead where nothing it does between two
 * updates needs the first's weights, and keeps the books of a run that reads each outcome first;
 * prediction and evaluation queue the next batch first. (Queued updates against eager ones, bit for
 * bit, and without waiting: {@link EmulatedStepGraphTest#replayedUpdatesAreTheEagerOnesBitForBit}.)
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
     * The Trainer on a queued device: it queues the next update before it reads this one's outcome where no
     * evaluation or checkpoint comes between them and the epoch goes on (updates 1, 2 and 5 of 7 here:
     * evaluations every 3, saves every 4), and its log (every step's loss, gradient norm and learning rate, the
     * evaluations) and final weights are those of the same run with every outcome read first (skip_nonfinite).
     */
    @Test
    void theTrainerQueuesAheadAndKeepsTheBooksOfOneByOne(@TempDir Path out) throws IOException {
        List<Batches.Tokenized> train = TrainerTest.data(56, 4, true), eval = TrainerTest.data(8, 5, true);
        TrainingArgs.Builder a = TrainerTest.args(out).epochs(1).learningRate(1e-3).loggingSteps(1).evalStrategy(TrainingArgs.Strategy.STEPS)
                .evalSteps(3).saveStrategy(TrainingArgs.Strategy.STEPS).saveSteps(4);
        CudaBackend queued = KernelEmulator.queuedGraphBackend(4);
        List<Long> queuedAhead = new ArrayList<>();
        BertForSequenceClassification ahead = tinyBert(queued);
        Trainer.Result got = new Trainer(ahead, a.outputDir(out.resolve("ahead")).build(), queued, train, eval, 0, 3, new Trainer.Listener() {
            @Override
            public void onStep(long step, long maxSteps, double epoch, double loss, double lr, double samplesPerSecond) {
                if (KernelEmulator.pendingWork(queued) > 0) queuedAhead.add(step);
            }
        }).train(null);
        CudaBackend plain = KernelEmulator.freshBackend();
        BertForSequenceClassification oneByOne = tinyBert(plain);
        Trainer.Result want = new Trainer(oneByOne, a.outputDir(out.resolve("one-by-one")).skipNonFiniteSteps(true).build(), plain, train,
                eval, 0, 3, new Trainer.Listener() {}).train(null);
        assertEquals(List.of(1L, 2L, 5L), queuedAhead, "the steps whose next update was queued before their outcome was read");
        assertEquals(7, got.state().globalStep);
        assertEquals(withoutTimes(want.state().logHistory), withoutTimes(got.state().logHistory));
        for (Map.Entry<String, Var> e : oneByOne.namedParameters().entrySet()) {
            assertArrayEquals(e.getValue().value().toFloatArray(), ahead.namedParameters().get(e.getKey()).value().toFloatArray(), e.getKey());
        }
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

    /** A log history's entries without what the clock decides (runtimes, rates). */
    private static List<String> withoutTimes(ArrayNode history) {
        List<String> out = new ArrayList<>();
        for (JsonNode entry : history) {
            ObjectNode kept = entry.deepCopy();
            kept.remove(List.of("train_runtime", "train_samples_per_second", "train_steps_per_second", "eval_runtime",
                    "eval_samples_per_second", "eval_steps_per_second"));
            out.add(kept.toString());
        }
        return out;
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
