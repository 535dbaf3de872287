package dev.bertft.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The product epilogues' row of additions ({@link Epilogue}'s bias and addend) a vector at a time.
 * C2 left the plain loop scalar where it writes the array it reads (C += b: it cannot rule out that
 * the two runs overlap), 0.29 ns an element on one core against 0.0x here. A {@code ...Pass} so
 * that {@link dev.bertft.tensor.Simd#JIT_FLAGS} keep it out of the product's compiled loop, where
 * inlined vector code was boxed.
 */
final class SimdAdd {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private SimdAdd() {}

    /** to[toRow + j] = from[fromRow + j] + b[bOff + j] for j in [j0, j1). */
    static void addPass(float[] from, int fromRow, float[] b, int bOff, float[] to, int toRow, int j0, int j1) {
        int j = j0;
        for (int end = j0 + F.loopBound(j1 - j0); j < end; j += F.length()) {
            FloatVector.fromArray(F, from, fromRow + j).add(FloatVector.fromArray(F, b, bOff + j)).intoArray(to, toRow + j);
        }
        for (; j < j1; j++) to[toRow + j] = from[fromRow + j] + b[bOff + j];
    }
}
