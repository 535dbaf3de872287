package dev.bertft.bert;

import dev.bertft.cuda.CudaBackend;
import dev.bertft.cuda.KernelEmulator;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The whole-model GPU parity tests with our CUDA kernels run from source on the CPU emulator:
 * the tiny BERT's forward, backward and ten AdamW steps with dropout go through every kernel
 * the training path launches.
 */
class EmulatedTrainingParityTest extends GpuTrainingParityTest {
    @Override
    CudaBackend gpu() {
        return KernelEmulator.backend();
    }

    @Override
    @Test
    void miniLmStepAndTenUpdatesMatchTheCpu() {
        assumeTrue(false, "MiniLM parity is left to the GPU: a step of it takes minutes on the kernel emulator");
    }
}
