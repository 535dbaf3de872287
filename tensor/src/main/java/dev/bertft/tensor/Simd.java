package dev.bertft.tensor;

/**
 * Whether the Vector API ({@code jdk.incubator.vector}) is resolved in this JVM. Kernels that use
 * it live in classes that are only loaded when it is, so a JVM without the module runs the scalar
 * paths instead of failing.
 */
public final class Simd {
    public static final boolean AVAILABLE = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
            && !Boolean.getBoolean("bertft.scalar");

    private Simd() {}

    /** For {@code doctor}: "AVX-512 (16 float lanes)" style text, or why SIMD is off. */
    public static String describe() {
        if (!AVAILABLE) return "off (scalar kernels; run with --add-modules jdk.incubator.vector)";
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
