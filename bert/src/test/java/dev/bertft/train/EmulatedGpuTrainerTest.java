package dev.bertft.train;

import dev.bertft.autograd.Var;
import dev.bertft.bert.BertForSequenceClassification;
import dev.bertft.cuda.CachingAllocator;
import dev.bertft.cuda.CudaBackend;
import dev.bertft.cuda.CudaFailureException;
import dev.bertft.cuda.DeviceOutOfMemoryException;
import dev.bertft.cuda.KernelEmulator;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Trainer on the CUDA backend with a real (tiny) BERT, every kernel run from its CUDA source
 * on the CPU emulator: parameters, gradients and AdamW state living on the device through
 * training, evaluation and checkpoints; a run killed and resumed from a checkpoint ends with the
 * bits of a run that went through; and the saved model, loaded on the CPU, evaluates as it did
 * on the device (to TF32's precision).
 */
class EmulatedGpuTrainerTest {
    private static final Path TINY = Path.of("src", "test", "resources", "bert", "tiny");
    private static final int LABELS = 3;

    private static BertForSequenceClassification tinyBert(Backend on) throws IOException {
        return BertForSequenceClassification.fromPretrained(TINY, on, BertForSequenceClassification.LoadOptions.seed(42));
    }

    /**
     * The run that goes through queues each update before it reads the last one's outcome, on a device whose
     * stream runs only when the host waits ({@link KernelEmulator#queuedGraphBackend}), except where an
     * evaluation (every 3 updates) or a checkpoint (every 4) must see the weights, or an epoch ends: so after
     * updates 1, 2, 5 and 7 of 8. The killed and the resumed runs read every outcome first (skip_nonfinite):
     * the same weights, bit for bit, show that queueing ahead changes nothing the updates compute.
     */
    @Test
    void trainsCheckpointsAndResumesExactlyOnTheCudaBackend(@TempDir Path out) throws IOException {
        CudaBackend gpu = KernelEmulator.backend(), queued = KernelEmulator.queuedGraphBackend(4);
        List<Batches.Tokenized> train = TrainerTest.data(32, 4, false), eval = TrainerTest.data(16, 5, false);
        TrainingArgs.Builder a = TrainerTest.args(out).epochs(2).learningRate(1e-3).saveStrategy(TrainingArgs.Strategy.STEPS)
                .saveSteps(4).evalStrategy(TrainingArgs.Strategy.STEPS).evalSteps(3);

        BertForSequenceClassification through = tinyBert(queued);
        List<Long> queuedAhead = new ArrayList<>();
        Trainer.Result done = new Trainer(through, a.outputDir(out.resolve("through")).build(), queued, train, eval, 0, LABELS,
                new Trainer.Listener() {
                    @Override
                    public void onStep(long step, long max, double epoch, double loss, double lr, double sps) {
                        if (KernelEmulator.pendingWork(queued) > 0) queuedAhead.add(step);
                    }
                }).train(null);
        assertEquals(8, done.state().globalStep, "32 examples / batch 8, 2 epochs");
        assertEquals(List.of(1L, 2L, 5L, 7L), queuedAhead, "the updates whose next was queued before their outcome was read");
        a.skipNonFiniteSteps(true);

        Path killed = out.resolve("killed");
        RuntimeException kill = new RuntimeException("killed");
        RuntimeException thrown = assertThrows(RuntimeException.class, () -> new Trainer(tinyBert(gpu), a.outputDir(killed).build(), gpu,
                train, eval, 0, LABELS, new Trainer.Listener() {
                    @Override
                    public void onStep(long step, long max, double epoch, double loss, double lr, double sps) {
                        if (step == 6) throw kill;
                    }
                }).train(null));
        assertSame(kill, thrown);
        BertForSequenceClassification resumed = tinyBert(gpu);
        Trainer.Result r = new Trainer(resumed, a.outputDir(killed).build(), gpu, train, eval, 0, LABELS, new Trainer.Listener() {})
                .train(Checkpoints.latest(killed).orElseThrow());
        assertEquals(8 - 4, r.stepsRun(), "resumed from checkpoint-4");
        for (Map.Entry<String, Var> e : through.namedParameters().entrySet()) {
            assertArrayEquals(e.getValue().value().toFloatArray(), resumed.namedParameters().get(e.getKey()).value().toFloatArray(),
                    e.getKey());
        }
        assertArrayEquals(Files.readAllBytes(out.resolve("through/model.safetensors")), Files.readAllBytes(killed.resolve("model.safetensors")));

        Backend cpu = new CpuBackend(2);
        Metrics onCpu = Trainer.evaluate(BertForSequenceClassification.fromPretrained(out.resolve("through"), cpu,
                BertForSequenceClassification.LoadOptions.seed(42)), eval, 16, cpu, 0, LABELS);
        assertEquals(done.finalEval().loss(), onCpu.loss(), 2e-3 * Math.abs(onCpu.loss()), "eval loss on the device vs the saved model on the CPU");
    }

    /**
     * Each training step frees its activations and gradients when it ends (only the AdamW moments
     * made by the first update stay), so after the second step every step is served from the
     * allocator's free lists, with no garbage collection asked for.
     */
    @Test
    void eachStepGivesItsMemoryBack(@TempDir Path out) throws IOException {
        CudaBackend gpu = KernelEmulator.freshBackend();
        List<Batches.Tokenized> train = TrainerTest.data(40, 4, true); // one length: every step has the same shapes
        TrainingArgs args = TrainerTest.args(out).epochs(1).learningRate(1e-3).saveStrategy(TrainingArgs.Strategy.NO)
                .evalStrategy(TrainingArgs.Strategy.NO).build();
        List<CachingAllocator.Stats> afterStep = new ArrayList<>();
        new Trainer(tinyBert(gpu), args, gpu, train, List.of(), 0, LABELS, new Trainer.Listener() {
            @Override
            public void onStep(long step, long max, double epoch, double loss, double lr, double sps) {
                afterStep.add(gpu.memoryStats());
            }
        }).train(null);
        assertEquals(5, afterStep.size());
        // the first update makes the moments from blocks the step freed, which the second step then gets anew
        CachingAllocator.Stats first = afterStep.get(0), second = afterStep.get(1);
        for (CachingAllocator.Stats s : afterStep) {
            if (s != first) assertEquals(second.driverAllocations(), s.driverAllocations(), "no new device memory after the second step: " + afterStep);
            assertTrue(s.inUseBytes() <= first.inUseBytes(), "nothing accumulates from step to step: " + afterStep);
            assertEquals(0, s.collections(), s.toString());
        }
    }

    /**
     * A kernel fault, or the device running out of memory, in the middle of a run: the error says
     * what failed, the checkpoints saved before are byte for byte what they were, nothing half
     * written is left, and the run resumes from the last of them (after a fault, on a new device:
     * the faulted one refuses all work, as a CUDA context does).
     *
     * <p>The device's stream runs when the host waits, as a GPU's ({@link KernelEmulator#queuedGraphBackend}).
     * The failure comes once update 3 is read; an evaluation follows update 3, so the Trainer queues
     * update 4 only after it. The fault hits the evaluation's or update 4's kernels; the memory runs
     * short for update 4, the first long batch.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"kernel fault", "out of memory"})
    void aDeviceFailureMidRunLeavesSavedCheckpointsIntact(String failure, @TempDir Path out) throws IOException {
        CudaBackend gpu = KernelEmulator.queuedGraphBackend(4); // nothing cached from other tests
        // three batches of 8 tokens, then one of 60: its activations need memory the short ones never did
        List<Batches.Tokenized> train = new ArrayList<>(TrainerTest.data(24, 6, true));
        for (Batches.Tokenized t : TrainerTest.data(8, 7, true)) {
            int[] ids = new int[60];
            for (int i = 0; i < ids.length; i++) ids[i] = t.ids()[i % t.ids().length];
            train.add(new Batches.Tokenized(ids, new int[ids.length], t.label()));
        }
        List<Batches.Tokenized> eval = TrainerTest.data(4, 8, true);
        TrainingArgs args = TrainerTest.args(out).epochs(2).learningRate(1e-3).shuffle(false).saveStrategy(TrainingArgs.Strategy.STEPS)
                .saveSteps(2).evalStrategy(TrainingArgs.Strategy.STEPS).evalSteps(3).build();
        Map<Path, byte[]> saved = new HashMap<>();
        Trainer doomed = new Trainer(tinyBert(gpu), args, gpu, train, eval, 0, LABELS, new Trainer.Listener() {
            @Override
            public void onStep(long step, long max, double epoch, double loss, double lr, double sps) {
                if (step != 3) return;
                try (var files = Files.walk(out.resolve("checkpoint-2"))) {
                    for (Path f : files.filter(Files::isRegularFile).toList()) saved.put(f, Files.readAllBytes(f));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                if (failure.equals("kernel fault")) KernelEmulator.failLaunch(40);
                else KernelEmulator.refuseAllocations(256 << 10); // the long batch's attention scores
            }
        });
        RuntimeException e;
        try {
            e = assertThrows(RuntimeException.class, () -> doomed.train(null));
        } finally {
            KernelEmulator.restore();
        }
        if (failure.equals("kernel fault")) {
            assertInstanceOf(CudaFailureException.class, e);
            assertTrue(e.getMessage().startsWith("waiting for the GPU: CUDA_ERROR_ILLEGAL_ADDRESS"), e.getMessage());
            // as a CUDA context after a fault, the device is unusable: resuming needs a new process, here a new device
            assertThrows(CudaFailureException.class, gpu::synchronize);
            gpu = KernelEmulator.freshBackend();
        } else {
            assertInstanceOf(DeviceOutOfMemoryException.class, e);
            assertTrue(e.getMessage().startsWith("out of GPU memory allocating "), e.getMessage());
        }
        assertFalse(saved.isEmpty());
        for (var f : saved.entrySet()) assertArrayEquals(f.getValue(), Files.readAllBytes(f.getKey()), f.getKey().toString());
        try (var left = Files.list(out)) {
            assertEquals(List.of("checkpoint-2"), left.filter(p -> !p.getFileName().toString().equals("logs"))
                    .map(p -> p.getFileName().toString()).sorted().toList(), "nothing half written next to the checkpoint");
        }
        Trainer.Result resumed = new Trainer(tinyBert(gpu), args, gpu, train, eval, 0, LABELS, new Trainer.Listener() {})
                .train(out.resolve("checkpoint-2"));
        assertEquals(8, resumed.state().globalStep);
        assertEquals(8 - 2, resumed.stepsRun());
    }
}
