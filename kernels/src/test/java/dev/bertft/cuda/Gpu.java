package dev.bertft.cuda;

import org.junit.jupiter.api.Assumptions;

/** The GPU for the parity tests, opened once; tests skip with the reason where there is none. */
final class Gpu {
    private static final CudaBackend BACKEND;
    private static final String WHY;

    static {
        CudaBackend b = null;
        String why = null;
        try {
            b = CudaBackend.open(0);
        } catch (CudaUnavailableException e) {
            why = e.getMessage();
        }
        BACKEND = b;
        WHY = why;
        if (b != null) System.out.println("[gpu] " + b.describe().replace("\n", "\n[gpu] "));
    }

    private Gpu() {}

    static CudaBackend require() {
        Assumptions.assumeTrue(BACKEND != null, "GPU parity test skipped, no usable GPU: " + WHY);
        return BACKEND;
    }
}
