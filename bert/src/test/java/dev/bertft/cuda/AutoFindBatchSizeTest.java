package dev.bertft.cuda;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bertft.api.FineTuning;
import dev.bertft.api.TrainingData;
import dev.bertft.bert.TestResources;
import dev.bertft.data.LabeledText;
import dev.bertft.train.Trainer;
import dev.bertft.train.TrainingArgs;
import jcuda.driver.CUdeviceptr;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * auto_find_batch_size on the CUDA backend's dry run (launches recorded, not run) over device memory that runs
 * out: a run whose batch does not fit starts again from the pretrained weights with 0.9 times the batch, as
 * accelerate's find_executable_batch_size does, until one fits; without the setting the error stops the run.
 */
class AutoFindBatchSizeTest {
    @TempDir
    Path tmp;

    /** Device memory that holds at most {@code capacity} bytes at once and remembers the most it held. */
    static final class LimitedMemory implements DeviceMemory<CUdeviceptr> {
        final long capacity;
        long live, peak;
        private final Map<CUdeviceptr, Long> sizes = new IdentityHashMap<>();

        LimitedMemory(long capacity) {
            this.capacity = capacity;
        }

        @Override
        public synchronized CUdeviceptr allocate(long bytes) {
            if (live + bytes > capacity) return null;
            CUdeviceptr p = new CUdeviceptr();
            sizes.put(p, bytes);
            live += bytes;
            peak = Math.max(peak, live);
            return p;
        }

        @Override
        public synchronized void free(CUdeviceptr block) {
            live -= sizes.remove(block);
        }
    }

    /** Reviews of 60 tokens, so that a batch's activations outweigh the tiny model's weights. */
    private static List<LabeledText> reviews(int n) {
        List<LabeledText> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(LabeledText.of("the film was " + "good and bad ".repeat(20), i % 2 == 0 ? "pos" : "neg"));
        return out;
    }

    private Trainer.Listener messages(List<String> into) {
        return new Trainer.Listener() {
            @Override
            public void onMessage(String line) {
                into.add(line);
            }
        };
    }

    /** Two updates at {@code batch} on a dry backend over {@code memory}; the lines the run said. */
    private List<String> run(String name, LimitedMemory memory, int batch, boolean autoFind) throws IOException {
        CudaBackend gpu = DryRunTest.dryBackend(new DryRunTest.Recorder(), memory);
        TrainingArgs args = TrainingArgs.builder().outputDir(tmp.resolve(name)).maxSteps(2).batchSize(batch).warmupSteps(0)
                .saveSteps(1).autoFindBatchSize(autoFind).build();
        List<String> said = new ArrayList<>();
        FineTuning.of(TestResources.tinyEncoder(tmp.resolve("encoder")), TrainingData.of(reviews(64)), args).backend(gpu)
                .run(messages(said));
        return said;
    }

    /** The least capacity, to 256 KiB, in which two updates at {@code batch} run (found by halving). */
    private long leastMemory(int batch) throws IOException {
        LimitedMemory roomy = new LimitedMemory(Long.MAX_VALUE);
        run("roomy-" + batch, roomy, batch, false);
        long fails = 0, fits = roomy.peak;
        for (int i = 0; fits - fails > 256 << 10; i++) {
            long mid = (fails + fits) / 2;
            try {
                run("search-" + batch + "-" + i, new LimitedMemory(mid), batch, false);
                fits = mid;
            } catch (DeviceOutOfMemoryException e) {
                fails = mid;
            }
        }
        return fits;
    }

    @Test
    void aBatchThatDoesNotFitIsCutByATenthUntilOneDoes() throws IOException {
        // the least device memory each batch size trains in (the allocator gives back cached blocks when short)
        Map<Integer, Long> need = new java.util.TreeMap<>();
        for (int b : new int[] {25, 28}) need.put(b, leastMemory(b));
        System.out.println("dry run, least device memory by batch size: " + need);
        assertTrue(need.get(25) < need.get(28), need.toString());

        long capacity = (need.get(25) + need.get(28)) / 2;   // 32 and 28 do not fit, 25 does
        List<String> said = run("found", new LimitedMemory(capacity), 32, true);
        assertTrue(said.contains("out of memory at batch size 32: training again from the start with 28 (auto_find_batch_size)"),
                said.toString());
        assertTrue(said.contains("out of memory at batch size 28: training again from the start with 25 (auto_find_batch_size)"),
                said.toString());
        var state = new ObjectMapper().readTree(tmp.resolve("found/trainer_state.json").toFile());
        assertEquals(25, state.get("train_batch_size").asInt());
        assertEquals(2, state.get("global_step").asInt());
        var args = new ObjectMapper().readTree(tmp.resolve("found/training_args.json").toFile());
        assertEquals(32, args.get("per_device_train_batch_size").asInt(), "the settings as given, as HF records them");

        assertThrows(DeviceOutOfMemoryException.class, () -> run("not-asked", new LimitedMemory(capacity), 32, false));
    }
}
