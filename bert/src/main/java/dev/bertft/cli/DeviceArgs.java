package dev.bertft.cli;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.cpu.CpuBackend;
import picocli.CommandLine.Option;

/** --device and --threads. */
final class DeviceArgs {
    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda or auto. Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--threads", defaultValue = "0", description = "CPU threads (0: one per core).")
    int threads;

    Backend open() {
        int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        return switch (device) {
            case "cpu" -> new CpuBackend(n);
            case "auto" -> {
                System.err.println("bert-ft: --device auto: no usable GPU backend in this build; using the CPU (" + n + " threads)");
                yield new CpuBackend(n);
            }
            case "cuda" -> throw new IllegalArgumentException("--device cuda: the CUDA backend is not available in this build");
            default -> throw new IllegalArgumentException("--device must be cpu, cuda or auto, got '" + device + "'");
        };
    }
}
