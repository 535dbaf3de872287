package dev.bertft.cuda;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.cpu.CpuBackend;

/**
 * Turns a --device value into a backend: "cpu", "cuda" (GPU 0), "cuda:N", or "auto" (the GPU
 * when one is usable, else the CPU, saying which and why). "cuda" never falls back: when the GPU
 * cannot be used it throws {@link CudaUnavailableException} with the reason. JCuda is touched
 * only for "cuda" and "auto", so the CPU path needs nothing CUDA installed.
 */
public final class Devices {
    private Devices() {}

    /** The backend and one line saying what was chosen. */
    public record Resolved(Backend backend, String summary) {}

    /** {@link #resolve(String, int)} with one CPU thread per core. */
    public static Resolved resolve(String spec) {
        return resolve(spec, Runtime.getRuntime().availableProcessors());
    }

    /** @param cpuThreads threads for the CPU backend when the CPU is chosen */
    public static Resolved resolve(String spec, int cpuThreads) {
        String s = spec == null ? "auto" : spec.trim().toLowerCase(java.util.Locale.ROOT);
        if (s.equals("cpu")) return cpu("cpu", cpuThreads);
        if (s.equals("cuda") || s.startsWith("cuda:")) {
            long start = System.nanoTime();
            CudaBackend gpu = CudaBackend.open(ordinal(s, spec));
            return new Resolved(gpu, "device " + gpu.name() + " (cuda)" + ready(start));
        }
        if (s.equals("auto")) {
            try {
                long start = System.nanoTime();
                CudaBackend gpu = CudaBackend.open(0);
                return new Resolved(gpu, "device " + gpu.name() + " (auto: GPU usable)" + ready(start));
            } catch (CudaUnavailableException e) {
                return cpu("cpu (auto: " + e.getMessage() + ")", cpuThreads);
            }
        }
        throw new IllegalArgumentException("--device: expected cpu, cuda, cuda:N or auto, got '" + spec + "'");
    }

    /**
     * How long opening the GPU took: mostly the driver compiling our PTX for it, seconds the first
     * time on a machine and little once the driver's cache (~/.nv/ComputeCache) holds the result.
     */
    private static String ready(long start) {
        return String.format(java.util.Locale.ROOT, ", ready in %.1f s", (System.nanoTime() - start) / 1e9);
    }

    private static Resolved cpu(String summary, int threads) {
        CpuBackend cpu = new CpuBackend(threads);
        return new Resolved(cpu, "device " + summary + ", " + cpu.threads() + " threads");
    }

    private static int ordinal(String s, String spec) {
        if (s.equals("cuda")) return 0;
        try {
            int n = Integer.parseInt(s.substring(5));
            if (n >= 0) return n;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException("--device: bad GPU number in '" + spec + "' (expected cuda:0, cuda:1, ...)");
    }
}
