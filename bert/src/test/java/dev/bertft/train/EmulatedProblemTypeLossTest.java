package dev.bertft.train;

import dev.bertft.cuda.CudaBackend;
import dev.bertft.cuda.KernelEmulator;

/** {@link GpuProblemTypeLossTest} with our CUDA kernels run from source on the CPU emulator. */
class EmulatedProblemTypeLossTest extends GpuProblemTypeLossTest {
    @Override
    CudaBackend gpu() {
        return KernelEmulator.backend();
    }
}
