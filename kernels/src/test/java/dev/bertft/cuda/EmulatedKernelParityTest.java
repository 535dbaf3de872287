package dev.bertft.cuda;

/**
 * The GPU parity tests with every kernel run from its CUDA source on the CPU emulator
 * ({@link KernelEmulator}): what the GPU will compute, short of timing and the last bits of
 * its math library, checked on every build.
 */
class EmulatedKernelParityTest extends CudaParityTest {
    @Override
    CudaBackend backend() {
        return KernelEmulator.backend();
    }
}
