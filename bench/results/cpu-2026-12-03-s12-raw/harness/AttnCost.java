// Scratch harness of session 12 (not built by Maven): javac --add-modules jdk.incubator.vector -cp tensor/target/classes,
// run with --add-modules jdk.incubator.vector and Simd.JIT_FLAGS. Results: ../../cpu-2026-12-03-s12.md.
// Scratch harness of session 10 (not built by Maven): javac -cp tensor/target/classes, run with --add-modules
// jdk.incubator.vector and Simd.JIT_FLAGS.
package dev.bertft.tensor.cpu;

import java.util.Random;

/** One thread, MiniLM (or bert-base) attention at 32×128: time of each phase of the forward and the backward per pair. */
public class AttnCost {
    public static void main(String[] args) {
        int hs = Integer.parseInt(args[0]), t = 128, nh = 12, pairs = 32 * nh, ld = nh * hs;
        Random r = new Random(1);
        float[] q = new float[32 * t * ld], k = q.clone(), v = q.clone(), dout = q.clone(), out = new float[q.length];
        for (float[] x : new float[][] {q, k, v, dout}) for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        float[] mask = new float[32 * t], kT = new float[t * hs], vT = new float[t * hs], s = new float[t * t], dp = new float[t * t];
        float[] lse = new float[pairs * t];
        long[] acc = new long[8];
        String[] names = {"gatherK", "QKt", "softmax", "PV", "bwd gather K+V", "bwd QKt+dOVt", "bwd softmax", "bwd 3 products"};
        for (int rep = 0; rep < 6; rep++) {
            java.util.Arrays.fill(acc, 0);
            for (int bh = 0; bh < pairs; bh++) {
                int base = bh / nh * t * ld + bh % nh * hs, b = bh / nh;
                long t0 = System.nanoTime();
                for (int c = 0; c < 1; c++) SimdHeadProduct.transpose(k, base, ld, t, hs, kT);
                long t1 = System.nanoTime();
                HeadProduct.product(t, t, hs, q, base, ld, false, kT, 0, t, s, 0, t);
                long t2 = System.nanoTime();
                for (int i = 0; i < t; i++) lse[bh * t + i] = SimdSoftmax.forward(s, i * t, mask, b * t, 0.17f, null, 0, 1f, t);
                long t3 = System.nanoTime();
                HeadProduct.product(t, hs, t, s, 0, t, false, v, base, ld, out, base, ld);
                long t4 = System.nanoTime();
                SimdHeadProduct.transpose(k, base, ld, t, hs, kT);
                SimdHeadProduct.transpose(v, base, ld, t, hs, vT);
                long t5 = System.nanoTime();
                HeadProduct.product(t, t, hs, q, base, ld, false, kT, 0, t, s, 0, t);
                HeadProduct.product(t, t, hs, dout, base, ld, false, vT, 0, t, dp, 0, t);
                long t6 = System.nanoTime();
                for (int i = 0; i < t; i++) SimdSoftmax.backward(s, dp, i * t, mask, b * t, 0.17f, lse[bh * t + i], null, 0, 1f, t);
                long t7 = System.nanoTime();
                HeadProduct.product(t, hs, t, s, 0, t, true, dout, base, ld, out, base, ld);
                HeadProduct.product(t, hs, t, dp, 0, t, false, k, base, ld, out, base, ld);
                HeadProduct.product(t, hs, t, dp, 0, t, true, q, base, ld, out, base, ld);
                long t8 = System.nanoTime();
                acc[0] += t1 - t0; acc[1] += t2 - t1; acc[2] += t3 - t2; acc[3] += t4 - t3; acc[4] += t5 - t4; acc[5] += t6 - t5; acc[6] += t7 - t6; acc[7] += t8 - t7;
            }
            StringBuilder sb = new StringBuilder("hs " + hs + ":");
            long total = 0;
            for (long a : acc) total += a;
            for (int i = 0; i < 8; i++) sb.append(String.format(" %s %.2f ms |", names[i], acc[i] / 1e6));
            System.out.println(sb + String.format(" total %.1f ms (1 thread, 384 pairs)", total / 1e6));
        }
    }
}
