package dev.bertft.cuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The committed PTX (what a machine without nvcc puts in the jar) is what the .cu sources
 * compile to: scripts/build-ptx.sh's output compared byte for byte, the output the Maven build
 * wrote moments ago where it ran the script (system property {@code bertft.builtPtx}, set by
 * the nvcc profile), else the script run into a temporary directory. Skipped, saying so,
 * without nvcc or with a different nvcc release than the one that wrote the committed files
 * (another compiler writes other, equally valid, PTX).
 */
class PtxSourcesTest {

    @Test
    void everyModuleHasCommittedPtxAndEverySourceAModule() throws Exception {
        TreeSet<String> sources = new TreeSet<>(), modules = new TreeSet<>(Kernels.MODULES), committed = new TreeSet<>();
        try (Stream<Path> s = Files.list(Nvcc.cudaSources())) {
            s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cu")).forEach(n -> sources.add(n.replace(".cu", "")));
        }
        try (Stream<Path> s = Files.list(Nvcc.committedPtx())) {
            s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".ptx")).forEach(n -> committed.add(n.replace(".ptx", "")));
        }
        assertEquals(sources, modules, "Kernels.MODULES must list every .cu file");
        assertEquals(sources, committed, "every .cu file needs its committed .ptx");
    }

    @Test
    void committedPtxMatchesTheSources() throws Exception {
        String built = System.getProperty("bertft.builtPtx");
        var nvcc = Nvcc.find();
        Assumptions.assumeTrue(built != null || nvcc.isPresent(), "nvcc not found (CUDA_HOME, /usr/local/cuda): committed PTX not re-checked");
        // the release of the compiler that wrote the fresh PTX: named in the PTX's header, or by nvcc itself
        String freshVersion = built != null ? Files.readString(Path.of(built, "gemm.ptx"))
                : Nvcc.run(Nvcc.moduleDir(), List.of(nvcc.get().toString(), "--version"), 60).output();
        String committedVersion = Files.readString(Nvcc.committedPtx().resolve("gemm.ptx"));
        Assumptions.assumeTrue(Nvcc.release(freshVersion).equals(Nvcc.release(committedVersion)),
                "nvcc is " + Nvcc.release(freshVersion).orElse("?") + " but the committed PTX was written by "
                        + Nvcc.release(committedVersion).orElse("?") + ": regenerate with kernels/scripts/build-ptx.sh");
        Path out;
        if (built != null) {
            out = Path.of(built);
        } else {
            out = Files.createTempDirectory("ptx");
            var r = Nvcc.run(Nvcc.moduleDir(), List.of("bash", "scripts/build-ptx.sh", out.toString(), nvcc.get().toString()), 600);
            assertEquals(0, r.exitCode(), r.output());
        }
        for (String module : Kernels.MODULES) {
            String fresh = Files.readString(out.resolve(module + ".ptx"));
            String committed = Files.readString(Nvcc.committedPtx().resolve(module + ".ptx"));
            if (!fresh.equals(committed)) {
                fail(module + ".ptx differs from what " + module + ".cu compiles to: run kernels/scripts/build-ptx.sh "
                        + "kernels/src/main/resources/dev/bertft/cuda and commit the result");
            }
        }
    }

    /**
     * The modules are labelled ISA 8.0 so CUDA 12 drivers load them; ptxas refuses any feature
     * newer than the label, so each must assemble as committed, which KernelSourcesCompileTest
     * checks (sm_80 and sm_90, warnings as errors). Relabelled below cp.async's 7.0, gemm must be
     * refused, or that check proves nothing.
     */
    @Test
    void committedPtxAssemblesAtTheIsaItDeclares() throws Exception {
        for (String module : Kernels.MODULES) {
            Path ptx = Nvcc.committedPtx().resolve(module + ".ptx");
            assertTrue(Files.readString(ptx).contains("\n.version 8.0\n"), module + ".ptx is not labelled ISA 8.0 (" + Kernels.PTX_TARGET + ")");
        }
        var nvcc = Nvcc.find();
        Assumptions.assumeTrue(nvcc.isPresent(), "nvcc not found (CUDA_HOME, /usr/local/cuda): PTX ISA level not checked");
        String ptxas = nvcc.get().resolveSibling("ptxas").toString();
        Path dir = Files.createTempDirectory("ptxas");
        Path tooOld = dir.resolve("gemm-isa-6.ptx");
        Files.writeString(tooOld, Files.readString(Nvcc.committedPtx().resolve("gemm.ptx")).replace("\n.version 8.0\n", "\n.version 6.0\n"));
        var r = Nvcc.run(dir, List.of(ptxas, "-arch=sm_80", "-o", dir.resolve("old.cubin").toString(), tooOld.toString()), 300);
        assertTrue(r.exitCode() != 0 && r.output().contains("requires PTX ISA .version 7.0"), r.output());
    }

    @Test
    void ptxParametersAreParsedForLaunchChecks() throws Exception {
        Map<String, List<String>> sig = Kernels.signatures(Files.readString(Nvcc.committedPtx().resolve("elementwise.ptx")));
        // binary_f32(int op, Strides3 s, const float *a, const float *b, float *c, long long n)
        assertEquals(List.of("u32", "b8[132]", "u64", "u64", "u64", "u64"), sig.get("binary_f32"));
        // scalar_f64(int op, const double *x, double *y, double s, long long n)
        assertEquals(List.of("u32", "u64", "u64", "f64", "u64"), sig.get("scalar_f64"));
        Map<String, List<String>> adam = Kernels.signatures(Files.readString(Nvcc.committedPtx().resolve("adamw.ptx")));
        assertEquals(List.of("u64", "u64", "u64", "u64", "u64", "f32", "f32", "f32", "f32", "f32", "f32"), adam.get("adamw_f32"));
    }

    @Test
    void launchArgumentsAreCheckedAgainstThePtx() {
        List<String> params = List.of("u32", "b8[132]", "u64", "f32");
        Kernels.checkArguments("k", params, new Object[] {1, new int[33], 5L, 1f});
        Kernels.checkArguments("k", params, new Object[] {1, new int[33], new jcuda.Pointer(), 1f});
        for (Object[] bad : List.of(new Object[] {1L, new int[33], 5L, 1f}, new Object[] {1, new int[32], 5L, 1f},
                new Object[] {1, new int[33], 5, 1f}, new Object[] {1, new int[33], 5L, 1.0}, new Object[] {1, new int[33], 5L})) {
            try {
                Kernels.checkArguments("k", params, bad);
                fail("accepted " + java.util.Arrays.deepToString(bad));
            } catch (IllegalStateException e) {
                assertTrue(e.getMessage().startsWith("kernel k "), e.getMessage());
            }
        }
    }

    @Test
    void everyKernelTheBackendLaunchesExistsInTheCommittedPtx() throws Exception {
        TreeSet<String> defined = new TreeSet<>();
        for (String module : Kernels.MODULES) {
            defined.addAll(Kernels.signatures(Files.readString(Nvcc.committedPtx().resolve(module + ".ptx"))).keySet());
        }
        TreeSet<String> needed = new TreeSet<>();
        for (String t : List.of("f32", "f64")) {
            for (String k : List.of("unary_", "scalar_", "binary_", "gelu_backward_", "bias_gelu_", "bias_gelu_backward_", "dropout_mask_", "normal_", "reduce_rows_",
                    "reduce_cols_partial_", "reduce_cols_final_", "argmax_rows_", "softmax_", "softmax_backward_", "layernorm_", "layernorm_backward_",
                    "layernorm_param_grads_partial_", "layernorm_param_grads_final_", "cross_entropy_rows_", "mean_of_rows_",
                    "cross_entropy_backward_", "embedding_backward_", "add_inplace_", "scale_inplace_", "adamw_")) {
                needed.add(k + t);
            }
        }
        for (String a : List.of("f32", "f64", "i32")) {
            for (String b : List.of("f32", "f64", "i32")) if (!a.equals(b)) needed.add("cast_" + a + "_" + b);
        }
        needed.addAll(List.of("copy_strided_4", "copy_strided_8", "fill_4", "fill_8", "embedding_4", "embedding_8", "sum_partials",
                "sum_squares_partial_f64", "sum_squares_list_f32", "adamw_list_f32", "scale_list_f32", "sgemm_tf32_nn", "sgemm_tf32_nt",
                "sgemm_tf32_tn", "sgemm_tf32_tt",
                "splitk_sum", "dgemm_tiled", "attention_backward_dot", "dropout_add_layernorm_f32", "dropout_add_layernorm_backward_f32"));
        for (int hs : new int[] {16, 32, 64}) {
            needed.addAll(List.of("attention_forward_hs" + hs, "attention_backward_kv_hs" + hs, "attention_backward_q_hs" + hs));
        }
        needed.removeAll(defined);
        assertTrue(needed.isEmpty(), "kernels missing from the PTX: " + needed);
    }
}
