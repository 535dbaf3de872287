package dev.bertft.tensor.cpu;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.Method;
import java.util.Random;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

public class FewRowsProbe {
    static final ThreadMXBean T = ManagementFactory.getThreadMXBean();
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length(), MR = 8, NR = 2 * L;
    static Method product, rowBand;

    public static void main(String[] args) throws Exception {
        product = SimdGemm.class.getDeclaredMethod("product", boolean.class, boolean.class, int.class, int.class, int.class,
                float[].class, int.class, int.class, float[].class, int.class, int.class, boolean.class, float[].class, int.class, int.class,
                SimdGemm.Buffers.class);
        product.setAccessible(true);
        rowBand = SimdGemm.class.getDeclaredMethod("rowBand", boolean.class, int.class, int.class, float[].class, int.class, int.class, int.class, int.class,
                int.class, int.class, float[].class, boolean.class, float[].class, int.class, int.class, SimdGemm.Buffers.class);
        rowBand.setAccessible(true);
        int[][] shapes = {{128, 768, 768}, {128, 2304, 768}, {128, 3072, 768}, {128, 768, 3072}, {32, 768, 768}, {128, 384, 384}, {128, 1536, 384}};
        Parallel pool = new Parallel(1);
        int rounds = Integer.parseInt(args[0]);
        for (int round = 0; round < rounds; round++) {
            for (int[] s : shapes) {
                int m = s[0], n = s[1], k = s[2];
                Random rnd = new Random(1);
                float[] a = new float[m * k], b = new float[n * k], c = new float[m * n], c2 = new float[m * n];
                for (int i = 0; i < a.length; i++) a[i] = rnd.nextFloat() - 0.5f;
                for (int i = 0; i < b.length; i++) b[i] = rnd.nextFloat() - 0.5f;
                float[] wp = packW(b, n, k); float[][] wb = packWB(b, n, k);
                double flop = 2.0 * m * n * k;
                int reps = (int) Math.max(3, 2e9 / flop);
                StringBuilder line = new StringBuilder(String.format("%4dx%4dx%4d", m, n, k));
                for (int v = 0; v < 4; v++) {
                    long t0 = T.getCurrentThreadCpuTime();
                    for (int r = 0; r < reps; r++) {
                        switch (v) {
                            case 0 -> SimdGemmFewRows.product(pool, false, m, n, k, a, 0, k, b, 0, k, false, c, 0, n);
                            case 1 -> product.invoke(null, false, true, m, n, k, a, 0, k, b, 0, k, false, c2, 0, n, SimdGemm.Buffers.forThread(m, n, k));
                            case 2 -> prepacked(m, n, k, a, wp, c2);
                            case 3 -> prepackedB(m, n, k, a, wb, c2);
                        }
                    }
                    long t = T.getCurrentThreadCpuTime() - t0;
                    line.append(String.format("  v%d %6.1f", v, flop * reps / t));
                }
                if (!java.util.Arrays.equals(c, c2)) line.append(" MISMATCH");
                if (round == rounds - 1 || round == 0) System.out.println(line);
            }
        }
        pool.close();
    }

    /** W n×k into MR-row panels per KC block: block pc, panel j at off(pc) + j*kc + p*MR + r. */
    static float[] packW(float[] b, int n, int k) {
        int kcStep = SimdGemm.kcStep(k), np = (n + MR - 1) / MR * MR;
        float[] w = new float[np * k];
        for (int pc = 0; pc < k; pc += kcStep) {
            int kc = Math.min(kcStep, k - pc);
            for (int j = 0; j < n; j += MR)
                for (int p = 0; p < kc; p++)
                    for (int r = 0; r < MR; r++)
                        w[pc * np + j * kc + p * MR + r] = j + r < n ? b[(j + r) * k + pc + p] : 0f;
        }
        return w;
    }

    static float[][] packWB(float[] b, int n, int k) {
        int kcStep = SimdGemm.kcStep(k), np = (n + NR - 1) / NR * NR;
        float[][] w = new float[(k + kcStep - 1) / kcStep][];
        for (int pc = 0; pc < k; pc += kcStep) {
            int kc = Math.min(kcStep, k - pc);
            w[pc / kcStep] = new float[np * kc];
            SimdGemm.packB(true, b, 0, k, pc, kc, 0, n, w[pc / kcStep], 0);
        }
        return w;
    }

    static void prepackedB(int m, int n, int k, float[] a, float[][] wb, float[] c) throws Exception {
        int kcStep = SimdGemm.kcStep(k), np = (n + NR - 1) / NR * NR;
        SimdGemm.Buffers buf = SimdGemm.Buffers.forThread(m, 0, k);
        for (int pc = 0; pc < k; pc += kcStep) {
            int kc = Math.min(kcStep, k - pc);
            float[] pb = wb[pc / kcStep];
            rowBand.invoke(null, false, 0, m, a, 0, k, pc, kc, 0, n, pb, pc > 0, c, 0, n, buf);
        }
    }

    static void prepacked(int m, int n, int k, float[] a, float[] wp, float[] c) {
        float[] px = SimdGemm.Buffers.forThread(0, m, k).packedB;
        float[] tile = new float[MR * NR];
        int kcStep = SimdGemm.kcStep(k), np = (n + MR - 1) / MR * MR;
        for (int pc = 0; pc < k; pc += kcStep) {
            int kc = Math.min(kcStep, k - pc);
            boolean add = pc > 0;
            SimdGemm.packB(true, a, 0, k, pc, kc, 0, m, px, 0);
            for (int j = 0; j < n; j += MR) {
                for (int i0 = 0; i0 < m; i0 += NR) {
                    int cols = Math.min(NR, m - i0), cTile = i0 * n + j;
                    if (add) for (int i = 0; i < cols; i++) for (int r = 0; r < MR; r++) tile[r * NR + i] = c[cTile + i * n + r];
                    kernel(kc, wp, pc * np + j * kc, px, i0 * kc, add, tile);
                    for (int i = 0; i < cols; i++) for (int r = 0; r < MR; r++) c[cTile + i * n + r] = tile[r * NR + i];
                }
            }
        }
    }

    static void kernel(int kc, float[] pa, int aBase, float[] pb, int bBase, boolean addToOut, float[] out) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        if (addToOut) {
            c00 = FloatVector.fromArray(S, out, 0); c01 = FloatVector.fromArray(S, out, L);
            c10 = FloatVector.fromArray(S, out, NR); c11 = FloatVector.fromArray(S, out, NR + L);
            c20 = FloatVector.fromArray(S, out, 2 * NR); c21 = FloatVector.fromArray(S, out, 2 * NR + L);
            c30 = FloatVector.fromArray(S, out, 3 * NR); c31 = FloatVector.fromArray(S, out, 3 * NR + L);
            c40 = FloatVector.fromArray(S, out, 4 * NR); c41 = FloatVector.fromArray(S, out, 4 * NR + L);
            c50 = FloatVector.fromArray(S, out, 5 * NR); c51 = FloatVector.fromArray(S, out, 5 * NR + L);
            c60 = FloatVector.fromArray(S, out, 6 * NR); c61 = FloatVector.fromArray(S, out, 6 * NR + L);
            c70 = FloatVector.fromArray(S, out, 7 * NR); c71 = FloatVector.fromArray(S, out, 7 * NR + L);
        } else {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = FloatVector.zero(S);
            c40 = c41 = c50 = c51 = c60 = c61 = c70 = c71 = FloatVector.zero(S);
        }
        for (int p = 0; p < kc; p++) {
            int bi = bBase + p * NR, ai = aBase + p * MR;
            FloatVector b0 = FloatVector.fromArray(S, pb, bi);
            FloatVector b1 = FloatVector.fromArray(S, pb, bi + L);
            FloatVector a0 = FloatVector.broadcast(S, pa[ai]); c00 = a0.fma(b0, c00); c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(S, pa[ai + 1]); c10 = a1.fma(b0, c10); c11 = a1.fma(b1, c11);
            FloatVector a2 = FloatVector.broadcast(S, pa[ai + 2]); c20 = a2.fma(b0, c20); c21 = a2.fma(b1, c21);
            FloatVector a3 = FloatVector.broadcast(S, pa[ai + 3]); c30 = a3.fma(b0, c30); c31 = a3.fma(b1, c31);
            FloatVector a4 = FloatVector.broadcast(S, pa[ai + 4]); c40 = a4.fma(b0, c40); c41 = a4.fma(b1, c41);
            FloatVector a5 = FloatVector.broadcast(S, pa[ai + 5]); c50 = a5.fma(b0, c50); c51 = a5.fma(b1, c51);
            FloatVector a6 = FloatVector.broadcast(S, pa[ai + 6]); c60 = a6.fma(b0, c60); c61 = a6.fma(b1, c61);
            FloatVector a7 = FloatVector.broadcast(S, pa[ai + 7]); c70 = a7.fma(b0, c70); c71 = a7.fma(b1, c71);
        }
        c00.intoArray(out, 0); c01.intoArray(out, L); c10.intoArray(out, NR); c11.intoArray(out, NR + L);
        c20.intoArray(out, 2 * NR); c21.intoArray(out, 2 * NR + L); c30.intoArray(out, 3 * NR); c31.intoArray(out, 3 * NR + L);
        c40.intoArray(out, 4 * NR); c41.intoArray(out, 4 * NR + L); c50.intoArray(out, 5 * NR); c51.intoArray(out, 5 * NR + L);
        c60.intoArray(out, 6 * NR); c61.intoArray(out, 6 * NR + L); c70.intoArray(out, 7 * NR); c71.intoArray(out, 7 * NR + L);
    }
}
