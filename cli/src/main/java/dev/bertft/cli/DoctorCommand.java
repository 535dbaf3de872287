package dev.bertft.cli;

import dev.bertft.cuda.CudaBackend;
import dev.bertft.cuda.CudaUnavailableException;
import dev.bertft.cuda.Devices;
import dev.bertft.hub.HubCache;
import dev.bertft.hub.ModelResolver;
import dev.bertft.tensor.Simd;
import picocli.CommandLine.Command;

import java.io.IOException;
import java.util.Map;

/** What this machine offers bert-ft: Java, SIMD, threads, memory, the GPU with its GEMM path, and where hub models come from. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = "Report the Java runtime, SIMD width, threads, memory, the GPU (driver, compute capability, GEMM path) and the "
                + "Hugging Face hub settings (cache, endpoint, token, offline).")
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
        System.out.println(hub(System.getenv()));
    }

    /** Where hub ids are looked up and downloaded from, and with which token (named by its source, never shown). */
    static String hub(Map<String, String> env) {
        String token;
        try {
            token = HubCache.savedToken(env).map(HubCache.SavedToken::toString)
                    .orElse("no token (gated or private models need --token, HF_TOKEN or huggingface-cli login)");
        } catch (IOException e) {
            token = "token unreadable: " + e.getMessage();
        }
        return "hub:      cache " + HubCache.defaultRoot(env) + " (--cache-dir or HF_HUB_CACHE to change), endpoint "
                + ModelResolver.endpoint(env) + ", " + token + (ModelResolver.offlineByEnvironment(env) ? ", offline (HF_HUB_OFFLINE)" : "");
    }
}
