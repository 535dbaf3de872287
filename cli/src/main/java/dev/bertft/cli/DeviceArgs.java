package dev.bertft.cli;

import dev.bertft.cuda.Devices;
import dev.bertft.tensor.Backend;
import picocli.CommandLine.Option;

/** --device and --threads, shared by the commands that compute. */
final class DeviceArgs {
    @Option(names = "--device", defaultValue = "auto", paramLabel = "auto|cpu|cuda|cuda:N",
            description = "Where to compute: auto takes the GPU when one is usable, else the CPU, and says why; cpu and cuda force one"
                    + " (cuda never falls back). Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--threads", defaultValue = "0", description = "CPU threads (0: one per core).")
    int threads;

    /** HF's use_cpu (and its older no_cuda), pasted from a Trainer script: --device cpu. */
    @Option(names = "--use-cpu", hidden = true)
    boolean useCpu;

    /** The chosen backend; unless the CPU was asked for, says on standard error which one it is and why. */
    Backend open() {
        Devices.Resolved r = resolve();
        if (!device.equals("cpu")) System.err.println("bert-ft: " + r.summary());
        return r.backend();
    }

    /** The chosen backend with a line saying which it is. */
    Devices.Resolved resolve() {
        if (threads < 0) throw new IllegalArgumentException("--threads must be >= 0, got " + threads);
        if (useCpu && !device.equals("auto") && !device.equals("cpu")) {
            throw new IllegalArgumentException("--use-cpu and --device " + device + ": give one");
        }
        if (useCpu) device = "cpu";
        return Devices.resolve(device, threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
    }
}
