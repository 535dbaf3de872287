package dev.bertft.cli;

import dev.bertft.cuda.CudaBackend;
import dev.bertft.cuda.CudaUnavailableException;
import dev.bertft.cuda.Devices;
import dev.bertft.tensor.Simd;
import picocli.CommandLine.Command;

/** What this machine offers bert-ft: Java, SIMD, threads, memory, and the GPU with its GEMM path. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = "Report the Java runtime, SIMD width, threads, memory, and the GPU (driver, compute capability, GEMM path).")
final class DoctorCommand implements Runnable {
    @Override
    public void run() {
        Runtime rt = Runtime.getRuntime();
        System.out.println("java:     " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")");
        System.out.println("simd:     " + Simd.describe());
        System.out.println("threads:  " + rt.availableProcessors() + " cores (--threads to change)");
        System.out.println("memory:   max heap " + (rt.maxMemory() >> 20) + " MiB (-Xmx to change)");
        try {
            Devices.Resolved gpu = Devices.resolve("cuda");
            System.out.println(((CudaBackend) gpu.backend()).describe());
            System.out.println("opened:   " + gpu.summary());
        } catch (CudaUnavailableException e) {
            System.out.println("gpu:      none usable: " + e.getMessage());
            System.out.println("precision: fp32 only on the CPU (IEEE float32; --bf16, --fp16 and --tf32 true need a GPU of compute capability 8.0+)");
        }
    }
}
