// Scratch harness of session 12 (not built by Maven): javac --add-modules jdk.incubator.vector -cp tensor/target/classes,
// run with --add-modules jdk.incubator.vector and Simd.JIT_FLAGS. Results: ../../cpu-2026-12-03-s12.md.
package dev.bertft.tensor.cpu;

import jdk.incubator.vector.*;

public class ExpBench {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final float LOG2E = 1.44269504088896341f, LN2_HI = 0.693145751953125f, LN2_LO = 1.42860682030941723e-6f, UNDERFLOW = -104f, ROUNDER = 0x1.8p23f;
    static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);
    static FloatVector bc(float c) { return FloatVector.broadcast(F, c); }
    static FloatVector pow2(IntVector k) { return k.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats(); }

    static float cur(float[] a, int from, int end, float shift) {
        FloatVector sum = FloatVector.zero(F);
        for (int i = from; i < end; i += F.length()) {
            FloatVector x = FloatVector.fromArray(F, a, i).sub(shift);
            FloatVector xc = x.max(UNDERFLOW);
            FloatVector shifted = xc.fma(LOG2E, ROUNDER);
            FloatVector k = shifted.sub(ROUNDER);
            FloatVector r = k.fma(bc(-LN2_HI), xc);
            r = k.fma(bc(-LN2_LO), r);
            FloatVector p = r.fma(1f / 5040, 1f / 720).fma(r, bc(1f / 120)).fma(r, bc(1f / 24)).fma(r, bc(1f / 6)).fma(r, bc(0.5f)).fma(r, bc(1f)).fma(r, bc(1f));
            IntVector ki = shifted.reinterpretAsInts().sub(ROUNDER_BITS);
            IntVector k1 = ki.lanewise(VectorOperators.ASHR, 1), k2 = ki.sub(k1);
            FloatVector y = p.mul(pow2(k1)).mul(pow2(k2));
            y.intoArray(a, i);
            sum = sum.add(y);
        }
        return sum.lane(0);
    }
    // blend instead of max
    static float blendMax(float[] a, int from, int end, float shift) {
        FloatVector sum = FloatVector.zero(F);
        FloatVector uf = bc(UNDERFLOW);
        for (int i = from; i < end; i += F.length()) {
            FloatVector x = FloatVector.fromArray(F, a, i).sub(shift);
            FloatVector xc = x.blend(uf, x.compare(VectorOperators.LT, uf));
            FloatVector shifted = xc.fma(LOG2E, ROUNDER);
            FloatVector k = shifted.sub(ROUNDER);
            FloatVector r = k.fma(bc(-LN2_HI), xc);
            r = k.fma(bc(-LN2_LO), r);
            FloatVector p = r.fma(1f / 5040, 1f / 720).fma(r, bc(1f / 120)).fma(r, bc(1f / 24)).fma(r, bc(1f / 6)).fma(r, bc(0.5f)).fma(r, bc(1f)).fma(r, bc(1f));
            IntVector ki = shifted.reinterpretAsInts().sub(ROUNDER_BITS);
            IntVector k1 = ki.lanewise(VectorOperators.ASHR, 1), k2 = ki.sub(k1);
            FloatVector y = p.mul(pow2(k1)).mul(pow2(k2));
            y.intoArray(a, i);
            sum = sum.add(y);
        }
        return sum.lane(0);
    }
    // no clamp at all (just to see)
    static float noClamp(float[] a, int from, int end, float shift) {
        FloatVector sum = FloatVector.zero(F);
        for (int i = from; i < end; i += F.length()) {
            FloatVector xc = FloatVector.fromArray(F, a, i).sub(shift);
            FloatVector shifted = xc.fma(LOG2E, ROUNDER);
            FloatVector k = shifted.sub(ROUNDER);
            FloatVector r = k.fma(bc(-LN2_HI), xc);
            r = k.fma(bc(-LN2_LO), r);
            FloatVector p = r.fma(1f / 5040, 1f / 720).fma(r, bc(1f / 120)).fma(r, bc(1f / 24)).fma(r, bc(1f / 6)).fma(r, bc(0.5f)).fma(r, bc(1f)).fma(r, bc(1f));
            IntVector ki = shifted.reinterpretAsInts().sub(ROUNDER_BITS);
            IntVector k1 = ki.lanewise(VectorOperators.ASHR, 1), k2 = ki.sub(k1);
            FloatVector y = p.mul(pow2(k1)).mul(pow2(k2));
            y.intoArray(a, i);
            sum = sum.add(y);
        }
        return sum.lane(0);
    }
    // only the polynomial (no exponent)
    static float polyOnly(float[] a, int from, int end, float shift) {
        FloatVector sum = FloatVector.zero(F);
        for (int i = from; i < end; i += F.length()) {
            FloatVector r = FloatVector.fromArray(F, a, i).sub(shift);
            FloatVector p = r.fma(1f / 5040, 1f / 720).fma(r, bc(1f / 120)).fma(r, bc(1f / 24)).fma(r, bc(1f / 6)).fma(r, bc(0.5f)).fma(r, bc(1f)).fma(r, bc(1f));
            p.intoArray(a, i);
            sum = sum.add(p);
        }
        return sum.lane(0);
    }
    interface K { float run(float[] a, int from, int end, float shift); }
    public static void main(String[] args) {
        int n = 4096;
        float[] src = new float[n], a = new float[n];
        java.util.Random r = new java.util.Random(2);
        for (int i = 0; i < n; i++) src[i] = (float) (-r.nextDouble() * 10);
        String[] names = {"current", "blendClamp", "noClamp", "polyOnly"};
        float sink = 0;
        for (int rep = 0; rep < 6; rep++) {
            StringBuilder sb = new StringBuilder();
            for (int v = 0; v < 4; v++) {
                long best = Long.MAX_VALUE;
                for (int it = 0; it < 2000; it++) {
                    System.arraycopy(src, 0, a, 0, n);
                    long t0 = System.nanoTime();
                    switch (v) {
                        case 0 -> sink += cur(a, 0, n, 0f);
                        case 1 -> sink += blendMax(a, 0, n, 0f);
                        case 2 -> sink += noClamp(a, 0, n, 0f);
                        default -> sink += polyOnly(a, 0, n, 0f);
                    }
                    best = Math.min(best, System.nanoTime() - t0);
                }
                sb.append(String.format("%s %.3f ns/elem  ", names[v], best / (double) n));
            }
            System.out.println(sb);
        }
        System.out.println(sink);
    }
}
