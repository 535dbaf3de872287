package dev.bertft.tensor;

/**
 * Whether the Vector API ({@code jdk.incubator.vector}) is resolved in this JVM. Kernels that use
 * it live in classes that are only loaded when it is, so a JVM without the module runs the scalar
 * paths instead of failing.
 */
public final class Simd {
    public static final boolean AVAILABLE = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
            && !Boolean.getBoolean("bertft.scalar");

    private static final String FIX = "add --add-modules jdk.incubator.vector to the java command line"
            + " (or to JDK_JAVA_OPTIONS)";
    private static boolean warned;

    private Simd() {}

    /**
     * Says once per JVM, through the logger and on standard error, that the CPU kernels run
     * without SIMD (about four times slower) and how to fix it. Silent when SIMD is on, or off by
     * choice ({@code -Dbertft.scalar=true}).
     */
    public static synchronized void warnIfUnavailable() {
        if (warned || ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) return;
        warned = true;
        String message = "the Java Vector API is not enabled, so the CPU kernels run without SIMD, about four times slower; "
                + FIX;
        System.getLogger("dev.bertft").log(System.Logger.Level.WARNING, message);
        System.err.println("bert-ft: warning: " + message);
    }

    /** For {@code doctor}: "AVX-512 (16 float lanes)" style text, or why SIMD is off. */
    public static String describe() {
        if (!AVAILABLE) return "off (scalar kernels; " + FIX + ")";
        return VectorInfo.describe();
    }

    /** Loaded only when the module is present. */
    private static final class VectorInfo {
        static String describe() {
            var species = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;
            return species.vectorBitSize() + "-bit vectors (" + species.length() + " float lanes)";
        }
    }
}
