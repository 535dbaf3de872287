package dev.bertft.tensor;

import java.lang.management.ManagementFactory;
import java.util.List;

/**
 * Whether the Vector API ({@code jdk.incubator.vector}) is resolved in this JVM. Kernels that use
 * it live in classes that are only loaded when it is, so a JVM without the module runs the scalar
 * paths instead of failing.
 */
public final class Simd {
    public static final boolean AVAILABLE = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
            && !Boolean.getBoolean("bertft.scalar");

    /**
     * The HotSpot flags the CPU kernels want beside the module: C2 must compile each vector loop
     * written as a {@code ...Pass} method in {@code dev.bertft.tensor.cpu} on its own, never
     * inlined into a compilation holding another such loop. Where it did, some JVMs ran part of
     * the merged loops as the Vector API's boxed Java fallback: GELU allocated 1.6–2.9 GB a
     * MiniLM 32×128 training step and the step took 15–25 % longer, in 5 of 12 JVMs with the
     * same jar (bench/results/cpu-2026-12-02-s8.md). {@code quiet} keeps HotSpot from echoing the
     * command on standard output, which {@code predict} writes its results to.
     * {@code java -jar bert-ft.jar} adds them itself.
     */
    public static final List<String> JIT_FLAGS = List.of("-XX:CompileCommand=quiet",
            "-XX:CompileCommand=dontinline,dev.bertft.tensor.cpu.*::*Pass");

    private static final String FIX = "add --add-modules jdk.incubator.vector to the java command line"
            + " (or to JDK_JAVA_OPTIONS)";
    /** Set by the first {@link #warnIfSlow}: whether it speaks depends only on how the JVM was started. */
    private static boolean checked;

    private Simd() {}

    /**
     * Says once per JVM, through the logger and on standard error, when the CPU kernels will run
     * slower than they can, and how to fix it: without the Vector API (scalar kernels, about four
     * times slower), or with it but without {@link #JIT_FLAGS}. Silent when both are there, or when
     * SIMD is off by choice ({@code -Dbertft.scalar=true}).
     */
    public static synchronized void warnIfSlow() {
        if (checked) return;
        checked = true;
        if (Boolean.getBoolean("bertft.scalar")) return;
        String message;
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            message = "the Java Vector API is not enabled, so the CPU kernels run without SIMD, about four times slower; " + FIX;
        } else if (!jitFlagsSet()) {
            message = "this JVM was started without " + String.join(" ", JIT_FLAGS) + ", so in some JVMs (5 of 12 measured)"
                    + " C2 runs part of the GELU kernels as boxed Java code and CPU training steps take 15-25 % longer; add them"
                    + " to the java command line (or to JDK_JAVA_OPTIONS)";
        } else {
            return;
        }
        System.getLogger("dev.bertft").log(System.Logger.Level.WARNING, message);
        System.err.println("bert-ft: warning: " + message);
    }

    /** Whether this JVM was started with every one of {@link #JIT_FLAGS}. */
    public static boolean jitFlagsSet() {
        return ManagementFactory.getRuntimeMXBean().getInputArguments().containsAll(JIT_FLAGS);
    }

    /** For {@code doctor}: "512-bit vectors (16 float lanes)" style text, or why SIMD is off. */
    public static String describe() {
        if (!AVAILABLE) return "off (scalar kernels; " + FIX + ")";
        return VectorInfo.describe() + (jitFlagsSet() ? ""
                : "; without " + String.join(" ", JIT_FLAGS) + " some JVMs run the GELU kernels boxed, about 20 % slower steps");
    }

    /** Loaded only when the module is present. */
    private static final class VectorInfo {
        static String describe() {
            var species = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;
            return species.vectorBitSize() + "-bit vectors (" + species.length() + " float lanes)";
        }
    }
}
