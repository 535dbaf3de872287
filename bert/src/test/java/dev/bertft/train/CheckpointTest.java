package dev.bertft.train;

import dev.bertft.autograd.Var;
import dev.bertft.classifier.SequenceClassifier;
import dev.bertft.nn.AdamW;
import dev.bertft.nn.LearningRateSchedule;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Checkpoint#save} and {@link Checkpoint#restore} as a pair: a model, optimizer and dropout stream that
 * trained three updates, saved, and restored into ones that never trained (other weights, no moments, the
 * stream at 0), are the same to the bit, and the next update on both gives the same weights.
 */
class CheckpointTest {
    static final Backend CPU = new CpuBackend(2);
    private final List<Batches.Tokenized> data = TrainerTest.data(24, 3, false);

    /** A model with its AdamW, a run's schedule, and the update step over both. */
    record Run(SequenceClassifier model, AdamW optimizer, UpdateStep step, Checkpoint checkpoint) {
        static Run of(long seed, LearningRateSchedule schedule) {
            return of(new TinyClassifier(CPU, 40, 16, 2, seed, 0.2), schedule);
        }

        static Run of(SequenceClassifier model, LearningRateSchedule schedule) {
            AdamW optimizer = new AdamW(AdamW.decayGroups(model.trainableParameters(), 0.01), 0.9, 0.999, 1e-8);
            return new Run(model, optimizer, new UpdateStep(model, optimizer, 1.0, CPU),
                    new Checkpoint(model, optimizer, schedule, null, CPU, null));
        }

        void update(List<Batches.Tokenized> data, int batch, double lr) {
            int[] idx = {4 * batch, 4 * batch + 1, 4 * batch + 2, 4 * batch + 3};
            step.run(1, b -> Batches.collate(data, idx, CPU, 0), lr);
        }
    }

    @Test
    void restoringWhatWasSavedContinuesTheSameRun(@TempDir Path out) throws IOException {
        LearningRateSchedule schedule = LearningRateSchedule.linear(1e-2, 2, 10);
        Run trained = Run.of(7, schedule);
        for (int s = 0; s < 3; s++) trained.update(data, s, schedule.lr(s));
        TrainerState state = new TrainerState();
        state.globalStep = 3;
        state.schedulerSteps = 3;
        state.epoch = 0.5;
        state.bestMetric = 0.25;
        state.log(TrainerState.entry("loss", 0.7, "learning_rate", schedule.lr(3)));
        Path dir = trained.checkpoint().save(out, state, 42, "{\"seed\": 42}".getBytes(StandardCharsets.UTF_8), false);

        assertEquals(out.resolve("checkpoint-3"), dir);
        for (String f : List.of("model.safetensors", Checkpoint.OPTIMIZER_FILE, Checkpoint.SCHEDULER_FILE, Checkpoint.RNG_FILE,
                Checkpoints.STATE_FILE, Checkpoints.ARGS_FILE)) {
            assertTrue(Files.isRegularFile(dir.resolve(f)), f);
        }
        // HF's scheduler state: the step reached and the rate there, 1e-2 * (10 - 3) / (10 - 2)
        assertEquals(1e-2 * 7 / 8, TrainerState.JSON.readTree(dir.resolve(Checkpoint.SCHEDULER_FILE).toFile()).get("last_lr").get(0).asDouble(),
                1e-15);

        Run fresh = Run.of(99, schedule);
        assertNotEquals(trained.model().rng().offset(), fresh.model().rng().offset(), "the fresh stream has drawn nothing");
        TrainerState restored = fresh.checkpoint().restore(dir);
        assertEquals(3, restored.globalStep());
        assertEquals(3, restored.schedulerSteps);
        assertEquals(0.5, restored.epoch());
        assertEquals(0.25, restored.bestMetric());
        assertEquals(1, restored.logHistory.size());
        assertEquals(trained.optimizer().stepCount(), fresh.optimizer().stepCount());
        assertEquals(trained.model().rng().offset(), fresh.model().rng().offset());
        assertSame(trained, fresh);

        trained.update(data, 3, schedule.lr(3));
        fresh.update(data, 3, schedule.lr(3));
        assertSame(trained, fresh);
    }

    /** Weights by checkpoint name and both AdamW moments by trained name, bit for bit. */
    static void assertSame(Run a, Run b) {
        Map<String, Var> pb = b.model().namedParameters();
        a.model().namedParameters().forEach((name, p) -> assertArrayEquals(p.value().toFloatArray(), pb.get(name).value().toFloatArray(), name));
        assertEquals(a.optimizer().state().keySet(), b.optimizer().state().keySet());
        a.optimizer().state().forEach((name, ma) -> {
            AdamW.Moments mb = b.optimizer().state().get(name);
            assertArrayEquals(ma.m().toFloatArray(), mb.m().toFloatArray(), name + " exp_avg");
            assertArrayEquals(ma.v().toFloatArray(), mb.v().toFloatArray(), name + " exp_avg_sq");
        });
    }
}
