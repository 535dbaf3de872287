package dev.bertft.tensor;

import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A library user whose JVM lacks the Vector API, or has it without the kernels' JIT flags, is told
 * once, with the fix; one that has both hears nothing.
 */
class SimdWarningTest {
    /** Makes two backends and a product, so the warning would show twice if it were not once per JVM. */
    public static void main(String[] args) {
        new CpuBackend(1);
        Tensor a = Tensor.of(new CpuBackend(1), new float[] {1, 2, 3, 4}, 2, 2);
        System.out.println("product " + a.matmul(a).toFloatArray()[0]);
    }

    @Test
    void withoutTheVectorModuleTheLibraryWarnsOnceWithTheFix() throws Exception {
        List<String> err = runChild();
        List<String> warnings = err.stream().filter(l -> l.startsWith("bert-ft: warning:")).toList();
        assertEquals(1, warnings.size(), String.join("\n", err));
        assertTrue(warnings.get(0).contains("--add-modules jdk.incubator.vector"), warnings.get(0));
        // the same text through System.Logger, which prints to standard error by default
        assertTrue(err.stream().anyMatch(l -> l.startsWith("WARNING: the Java Vector API is not enabled")), String.join("\n", err));
    }

    @Test
    void withTheVectorModuleButNotTheJitFlagsTheLibraryWarnsOnceNamingThem() throws Exception {
        List<String> err = runChild("--add-modules", "jdk.incubator.vector");
        List<String> warnings = err.stream().filter(l -> l.startsWith("bert-ft: warning:")).toList();
        assertEquals(1, warnings.size(), String.join("\n", err));
        assertTrue(warnings.get(0).contains(String.join(" ", Simd.JIT_FLAGS)), warnings.get(0));
    }

    @Test
    void withTheVectorModuleAndTheJitFlagsNothingIsSaid() throws Exception {
        List<String> flags = new java.util.ArrayList<>(List.of("--add-modules", "jdk.incubator.vector"));
        flags.addAll(Simd.JIT_FLAGS);
        List<String> err = runChild(flags.toArray(String[]::new));
        assertTrue(err.stream().noneMatch(l -> l.contains("warning")), String.join("\n", err));
    }

    @Test
    void theTestJvmsStartWithTheJitFlags() {
        // the root pom's test.argLine, written out by hand: the kernels' timings in tests are the shipped ones
        List<String> args = java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments();
        assertTrue(args.containsAll(Simd.JIT_FLAGS), "test.argLine in the root pom lacks some of " + Simd.JIT_FLAGS + ": " + args);
    }

    /** Standard error of this class's main in a new JVM started with {@code jvmFlags}. */
    private static List<String> runChild(String... jvmFlags) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = new java.util.ArrayList<>(List.of(java));
        cmd.addAll(List.of(jvmFlags));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path")));
        cmd.add(SimdWarningTest.class.getName());
        Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), err);
        return err.lines().toList();
    }
}
