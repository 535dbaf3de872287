package dev.bertft.tensor.cpu;

import dev.bertft.tensor.Simd;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * With {@link Simd#JIT_FLAGS}, HotSpot compiles each {@code ...Pass} vector loop on its own:
 * C2 compiles GELU's callers, and no compilation inlines a pass. Read from the JIT's own
 * inlining report of a JVM that runs GELU until C2 has compiled it.
 */
class SimdPassesCompileApartTest {
    /** GELU forward and backward on one chunk, often enough for C2 to compile the callers of the passes. */
    public static void main(String[] args) {
        int n = 1024;
        float[] x = new float[n], dy = new float[n], out = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (i - n / 2) / 128f;
            dy[i] = 1;
        }
        for (int call = 0; call < 40_000; call++) {
            SimdGelu.forward(x, 0, out, 0, n);
            SimdGelu.backward(x, 0, dy, 0, out, 0, n);
        }
    }

    @Test
    void noCompilationInlinesAVectorPass() throws IOException, InterruptedException {
        assumeTrue(Simd.AVAILABLE, "Vector API not enabled in this JVM");
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector"));
        cmd.addAll(Simd.JIT_FLAGS);
        cmd.addAll(List.of("-XX:+UnlockDiagnosticVMOptions", "-XX:+PrintCompilation", "-XX:+PrintInlining",
                "-cp", System.getProperty("java.class.path"), SimdPassesCompileApartTest.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        List<String> report = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        assertEquals(0, p.waitFor());
        // a tier-4 (C2) compilation of a method that calls the passes: "<time> <id> <flags> 4 <method>"
        Pattern c2Caller = Pattern.compile("^\\s*\\d+\\s+\\d+\\s+[%sbn! ]*4\\s+dev\\.bertft\\.tensor\\.cpu\\.SimdGelu::run .*");
        assertTrue(report.stream().anyMatch(l -> c2Caller.matcher(l).matches()), "C2 never compiled GELU's callers");
        Pattern inlinedPass = Pattern.compile(".*SimdGelu::\\w+Pass .*\\binline\\b.*");
        List<String> inlined = report.stream().filter(l -> inlinedPass.matcher(l).matches()).toList();
        assertTrue(inlined.isEmpty(), String.join("\n", inlined));
        assertTrue(report.stream().anyMatch(l -> l.contains("Pass") && l.contains("disallowed by CompileCommand")),
                "the inlining report never mentions the passes");
    }
}
