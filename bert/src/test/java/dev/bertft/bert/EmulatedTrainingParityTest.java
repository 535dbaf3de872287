package dev.bertft.bert;

import dev.bertft.cuda.CudaBackend;
import dev.bertft.cuda.KernelEmulator;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;

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

    /**
     * The pretrained all-MiniLM-L6-v2 on the emulator takes about 12 minutes on two cores, so the
     * default build leaves it out (tag "long"); the README gives the command that runs it.
     */
    @Override
    @Test
    @Tag("long")
    void miniLmStepAndTenUpdatesMatchTheCpu() throws IOException {
        super.miniLmStepAndTenUpdatesMatchTheCpu();
    }
}
