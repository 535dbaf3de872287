package dev.bertft.train;

import dev.bertft.autograd.Precision;
import dev.bertft.autograd.Var;
import dev.bertft.cuda.CudaBackend;
import dev.bertft.cuda.CudaUnavailableException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * On a GPU, what {@link EmulatedStepGraphTest} checks on the emulator: updates captured as CUDA
 * graphs and replayed, each queued before the last one's outcome is read, their uploads queued
 * through the pinned ring and their guards read back through later reads (PinnedStaging, a path
 * only the driver takes), give the bits of the same updates run eagerly, one by one, on the same
 * GPU, with dropout, a learning rate that changes every step and a batch of its own each step.
 * Skipped, with the reason, where no usable GPU is present.
 */
class GpuStepGraphTest {
    /** The GPU with update steps captured (the default) or, with {@code graphs} 0, every step eager. */
    private static CudaBackend open(String graphs) {
        String before = System.getProperty("bertft.cuda.graphs");
        if (graphs != null) System.setProperty("bertft.cuda.graphs", graphs);
        try {
            return CudaBackend.open(0);
        } catch (CudaUnavailableException e) {
            assumeTrue(false, "GPU step-graph check skipped, no usable GPU: " + e.getMessage());
            throw e;
        } finally {
            if (before == null) System.clearProperty("bertft.cuda.graphs");
            else System.setProperty("bertft.cuda.graphs", before);
        }
    }

    @Test
    void replayedUpdatesAreTheEagerOnesBitForBit() throws IOException {
        CudaBackend captured = open(null), eagerOnly = open("0");
        EmulatedStepGraphTest.Run graphs = new EmulatedStepGraphTest.Run(captured, Precision.FP32, true),
                eager = new EmulatedStepGraphTest.Run(eagerOnly);
        UpdateStep.Outcome before = null;
        UpdateStep.Queued last = null;
        for (int s = 0; s <= 8; s++) {   // each update queued before the last one's outcome is read
            UpdateStep.Queued queued = s < 8 ? graphs.queue(new int[] {16}, s, -1) : null;
            if (last != null) {
                UpdateStep.Outcome got = last.outcome();
                assertEquals(Double.doubleToRawLongBits(before.loss()), Double.doubleToRawLongBits(got.loss()), "loss of step " + (s - 1));
                assertEquals(Double.doubleToRawLongBits(before.gradNorm()), Double.doubleToRawLongBits(got.gradNorm()), "norm of step " + (s - 1));
            }
            if (s < 8) before = eager.update(new int[] {16}, s, -1);
            last = queued;
        }
        // (the counts from the backends themselves: KernelEmulator would build the emulator on the GPU machine)
        assertTrue(captured.replayHostTime().replays() >= 5, "steps replayed: " + captured.replayHostTime().replays());
        assertEquals(0, eagerOnly.replayHostTime().replays(), "the eager GPU replays nothing");
        for (Map.Entry<String, Var> e : eager.model.namedParameters().entrySet()) {
            assertArrayEquals(e.getValue().value().toFloatArray(), graphs.model.namedParameters().get(e.getKey()).value().toFloatArray(),
                    e.getKey());
        }
    }
}
