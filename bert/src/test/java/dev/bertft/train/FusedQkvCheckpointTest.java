package dev.bertft.train;

import dev.bertft.autograd.Var;
import dev.bertft.bert.BertForSequenceClassification;
import dev.bertft.nn.AdamW;
import dev.bertft.nn.LearningRateSchedule;
import dev.bertft.safetensors.SafetensorsFile;
import dev.bertft.tensor.Backend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * BERT trains Q, K and V as one [3·H, H] weight and [3·H] bias (one AdamW moment pair each) while
 * its checkpoint keeps HF's per-parameter layout: optimizer.safetensors holds query, key and value
 * moments under their own names, each the rows of the fused moment, and a run restored from it
 * into a fresh model continues to the same bits.
 */
class FusedQkvCheckpointTest {
    private static final Path TINY = Path.of("src", "test", "resources", "bert", "tiny");
    private static final Backend CPU = CheckpointTest.CPU;
    private static final String SELF = "bert.encoder.layer.0.attention.self.";
    private final List<Batches.Tokenized> data = TrainerTest.data(16, 3, false);

    private static CheckpointTest.Run run(long seed, LearningRateSchedule schedule) throws IOException {
        return CheckpointTest.Run.of(BertForSequenceClassification.fromPretrained(TINY, CPU, BertForSequenceClassification.LoadOptions.seed(seed)),
                schedule);
    }

    @Test
    void fusedMomentsAreSavedPerHfParameterAndRestoredToTheSameBits(@TempDir Path out) throws IOException {
        LearningRateSchedule schedule = LearningRateSchedule.linear(1e-2, 1, 10);
        CheckpointTest.Run trained = run(7, schedule), fresh = run(7, schedule); // the seed is the run's: a resume takes it from its arguments
        int h = ((BertForSequenceClassification) trained.model()).config().hiddenSize();
        Map<String, Var> fused = trained.model().trainableParameters();
        assertArrayEquals(new int[] {3 * h, h}, fused.get(SELF + "qkv.weight").shape());
        assertArrayEquals(new int[] {3 * h}, fused.get(SELF + "qkv.bias").shape());
        assertFalse(fused.containsKey(SELF + "query.weight"));
        long stored = trained.model().namedParameters().values().stream().mapToLong(p -> p.value().numel()).sum();
        assertEquals(stored, fused.values().stream().mapToLong(p -> p.value().numel()).sum(), "parameter count");

        for (int s = 0; s < 2; s++) trained.update(data, s, schedule.lr(s));
        AdamW.Moments qkv = trained.optimizer().state().get(SELF + "qkv.weight");
        assertNotNull(qkv, "one moment pair for the fused weight");
        TrainerState state = new TrainerState();
        state.globalStep = 2;
        state.schedulerSteps = 2;
        Path dir = trained.checkpoint().save(out, state, 42, null, false);

        List<String> expected = new ArrayList<>();
        for (String name : trained.model().namedParameters().keySet()) expected.addAll(List.of(name + ".exp_avg", name + ".exp_avg_sq"));
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(Checkpoint.OPTIMIZER_FILE))) {
            assertEquals(expected.stream().sorted().toList(), f.names().stream().sorted().toList());
            float[] keyMoment = qkv.m().narrow(0, h, h).contiguous().toFloatArray();
            assertArrayEquals(keyMoment, f.readF32(SELF + "key.weight.exp_avg"));
        }

        fresh.checkpoint().restore(dir);
        CheckpointTest.assertSame(trained, fresh);
        trained.update(data, 2, schedule.lr(2));
        fresh.update(data, 2, schedule.lr(2));
        CheckpointTest.assertSame(trained, fresh);
    }
}
