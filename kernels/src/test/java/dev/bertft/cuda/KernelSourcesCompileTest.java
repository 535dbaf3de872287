package dev.bertft.cuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every .cu file compiles to machine code (cubin) for sm_80 (A100) and sm_90 (H100/H200) with
 * warnings as errors, including ptxas's register-spill and local-memory warnings: what the
 * driver's JIT will do with our PTX on those GPUs, checked without one.
 */
class KernelSourcesCompileTest {

    @Test
    void everyKernelCompilesForSm80AndSm90WithoutWarningsOrSpills() throws Exception {
        var nvcc = Nvcc.find();
        Assumptions.assumeTrue(nvcc.isPresent(), "nvcc not found (CUDA_HOME, /usr/local/cuda): sm_80/sm_90 compile not checked");
        Path out = Files.createTempDirectory("cubin");
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<String>> results = new ArrayList<>();
            for (String module : Kernels.MODULES) {
                results.add(pool.submit(() -> {
                    var r = Nvcc.run(Nvcc.cudaSources(), List.of(nvcc.get().toString(), "-fatbin",
                            "-gencode", "arch=compute_80,code=sm_80", "-gencode", "arch=compute_90,code=sm_90", "-std=c++17",
                            "-Werror", "all-warnings", "-Xptxas", "-warn-spills,-warn-lmem-usage",
                            "-o", out.resolve(module + ".fatbin").toString(), module + ".cu"), 600);
                    return r.exitCode() == 0 && r.output().isBlank() ? "" : module + ":\n" + r.output();
                }));
            }
            StringBuilder failures = new StringBuilder();
            for (Future<String> f : results) failures.append(f.get());
            assertEquals("", failures.toString());
        } finally {
            pool.shutdown();
        }
    }
}
