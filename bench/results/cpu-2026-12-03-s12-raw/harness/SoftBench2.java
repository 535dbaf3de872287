// Scratch harness of session 12 (not built by Maven): javac --add-modules jdk.incubator.vector -cp tensor/target/classes,
// run with --add-modules jdk.incubator.vector and Simd.JIT_FLAGS. Results: ../../cpu-2026-12-03-s12.md.
package dev.bertft.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
import java.util.Random;

public class SoftBench2 {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    static float maxReduce(float[] s, int row, float[] mask, int maskOff, float scale, int n) {
        FloatVector max = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < n; j += L) {
            FloatVector x = FloatVector.fromArray(F, s, row + j).fma(FloatVector.broadcast(F, scale), FloatVector.fromArray(F, mask, maskOff + j));
            x.intoArray(s, row + j);
            max = max.max(x);
        }
        return max.reduceLanes(VectorOperators.MAX);
    }
    static float maxBlend(float[] s, int row, float[] mask, int maskOff, float scale, int n) {
        FloatVector max = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < n; j += L) {
            FloatVector x = FloatVector.fromArray(F, s, row + j).fma(FloatVector.broadcast(F, scale), FloatVector.fromArray(F, mask, maskOff + j));
            x.intoArray(s, row + j);
            max = max.blend(x, x.compare(VectorOperators.GT, max));
        }
        float m = max.lane(0);
        for (int l = 1; l < L; l++) { float v = max.lane(l); m = v > m ? v : m; }
        return m;
    }
    static final VectorShuffle<Float> S8 = VectorShuffle.fromOp(F, i -> i ^ 8), S4 = VectorShuffle.fromOp(F, i -> i ^ 4),
        S2 = VectorShuffle.fromOp(F, i -> i ^ 2), S1 = VectorShuffle.fromOp(F, i -> i ^ 1);
    static FloatVector vmax(FloatVector a, FloatVector b) { return a.blend(b, b.compare(VectorOperators.GT, a)); }
    static float maxTree(float[] s, int row, float[] mask, int maskOff, float scale, int n) {
        FloatVector max = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < n; j += L) {
            FloatVector x = FloatVector.fromArray(F, s, row + j).fma(FloatVector.broadcast(F, scale), FloatVector.fromArray(F, mask, maskOff + j));
            x.intoArray(s, row + j);
            max = vmax(max, x);
        }
        max = vmax(max, max.rearrange(S8)); max = vmax(max, max.rearrange(S4)); max = vmax(max, max.rearrange(S2)); max = vmax(max, max.rearrange(S1));
        return max.lane(0);
    }
    static float sumTree(FloatVector v) {
        v = v.add(v.rearrange(S8)); v = v.add(v.rearrange(S4)); v = v.add(v.rearrange(S2)); v = v.add(v.rearrange(S1));
        return v.lane(0);
    }
    public static void main(String[] a) {
        int t = 128, rows = 64, reps = 768;
        float[] s = new float[rows * t], mask = new float[t], src = new float[rows * t];
        Random r = new Random(1);
        for (int i = 0; i < s.length; i++) src[i] = (float) r.nextGaussian() * 4;
        float sink = 0;
        for (int rep = 0; rep < 10; rep++) {
            long[] acc = new long[5];
            for (int u = 0; u < reps; u++) {
                System.arraycopy(src, 0, s, 0, s.length);
                long t0 = System.nanoTime();
                for (int i = 0; i < rows; i++) sink += maxReduce(s, i * t, mask, 0, 0.17f, t);
                System.arraycopy(src, 0, s, 0, s.length);
                long t1 = System.nanoTime();
                for (int i = 0; i < rows; i++) sink += maxBlend(s, i * t, mask, 0, 0.17f, t);
                System.arraycopy(src, 0, s, 0, s.length);
                long t2 = System.nanoTime();
                for (int i = 0; i < rows; i++) sink += maxTree(s, i * t, mask, 0, 0.17f, t);
                long t3 = System.nanoTime();
                for (int i = 0; i < rows; i++) sink += SimdExp.expSum(s, i * t, i * t + t, 3f);
                long t4 = System.nanoTime();
                System.arraycopy(src, 0, s, 0, s.length);
                long t5 = System.nanoTime();
                for (int i = 0; i < rows; i++) sink += SimdSoftmax.forward(s, i * t, mask, 0, 0.17f, null, 0, 1f, t);
                long t6 = System.nanoTime();
                acc[0] += t1 - t0; acc[1] += t2 - t1; acc[2] += t3 - t2; acc[3] += t4 - t3; acc[4] += t6 - t5;
            }
            double n = (double) reps * rows;
            System.out.printf("ns per row of 128: maxReduce %.1f, maxBlend+scalar %.1f, maxTree %.1f, expSum %.1f | forward %.1f%n", acc[0] / n, acc[1] / n, acc[2] / n, acc[3] / n, acc[4] / n);
        }
        System.out.println(sink);
    }
}
