package dev.bertft.cuda;

/**
 * {@link EmulatedKernelParityTest} with the emulator running threads and blocks last to first:
 * a kernel that reads shared memory another thread wrote, without a barrier between, passes in
 * at most one of the two orders.
 */
class EmulatedKernelParityReversedTest extends CudaParityTest {
    @Override
    CudaBackend backend() {
        return KernelEmulator.backend(true);
    }
}
