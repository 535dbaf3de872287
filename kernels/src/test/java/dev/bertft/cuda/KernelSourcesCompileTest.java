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
 * The committed PTX assembles to machine code for sm_80 (A100) and sm_90 (H100/H200) with warnings as
 * errors, including ptxas's register-spill and local-memory warnings: what the driver's JIT does with
 * it on those GPUs when the jar has no fatbins, checked without one. (PtxSourcesTest proves that PTX is
 * what the sources compile to; the fatbin build checks its own sm_80, sm_86, sm_89 and sm_90a code for
 * spills the same way.)
 */
class KernelSourcesCompileTest {

    @Test
    void theCommittedPtxAssemblesForSm80AndSm90WithoutWarningsOrSpills() throws Exception {
        var nvcc = Nvcc.find();
        Assumptions.assumeTrue(nvcc.isPresent(), "nvcc not found (CUDA_HOME, /usr/local/cuda): sm_80/sm_90 assembly not checked");
        Path ptxas = nvcc.get().resolveSibling("ptxas");
        Path out = Files.createTempDirectory("cubin");
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<String>> results = new ArrayList<>();
            for (String arch : List.of("sm_80", "sm_90")) {
                for (String module : Kernels.MODULES) {
                    results.add(pool.submit(() -> {
                        var r = Nvcc.run(Nvcc.committedPtx(), List.of(ptxas.toString(), "-arch=" + arch, "--warning-as-error",
                                "--warn-on-spills", "--warn-on-local-memory-usage", "-o", out.resolve(module + "-" + arch + ".cubin").toString(),
                                module + ".ptx"), 600);
                        return r.exitCode() == 0 && r.output().isBlank() ? "" : module + " for " + arch + ":\n" + r.output();
                    }));
                }
            }
            StringBuilder failures = new StringBuilder();
            for (Future<String> f : results) failures.append(f.get());
            assertEquals("", failures.toString());
        } finally {
            pool.shutdown();
        }
    }
}
