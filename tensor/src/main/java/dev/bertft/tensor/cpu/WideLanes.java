package dev.bertft.tensor.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * A float species with as many lanes as the widest double vector: a float vector widened to
 * double is then one cast of the same lane count, which the JIT compiles to one instruction,
 * for kernels that compute on floats in double (the gradient norm, the clip inside AdamW).
 */
final class WideLanes {
    static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(D.vectorBitSize() / 2));

    private WideLanes() {}
}
