// Scratch harness of session 12 (not built by Maven): javac --add-modules jdk.incubator.vector -cp tensor/target/classes,
// run with --add-modules jdk.incubator.vector and Simd.JIT_FLAGS. Results: ../../cpu-2026-12-03-s12.md.
package dev.bertft.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import java.util.Random;

public class TileBench {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();

    // A: element (i,p) at a[aOff + i*aRow + p] (aK = 1); B packed: panel jp element (p,j) at pb[jp*k*2L + p*2L + j]
    static void productPacked(int m, int n, int k, float[] a, int aOff, int aRow, float[] pb, float[] c, int cOff, int ldc) {
        for (int i = 0; i + 8 <= m; i += 8)
            for (int j = 0; j + 2 * L <= n; j += 2 * L) tileK1(k, a, aOff + i * aRow, aRow, pb, j * k, c, cOff + i * ldc + j, ldc);
    }
    static void productK1(int m, int n, int k, float[] a, int aOff, int aRow, float[] b, int ldb, float[] c, int cOff, int ldc) {
        for (int i = 0; i + 8 <= m; i += 8)
            for (int j = 0; j + 2 * L <= n; j += 2 * L) tileK1Ld(k, a, aOff + i * aRow, aRow, b, j, ldb, c, cOff + i * ldc + j, ldc);
    }

    static void tileK1(int k, float[] a, int aOff, int aRow, float[] b, int bOff, float[] c, int cOff, int ldc) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
                c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        int a0 = aOff, a1 = aOff + aRow, a2 = a1 + aRow, a3 = a2 + aRow, a4 = a3 + aRow, a5 = a4 + aRow, a6 = a5 + aRow, a7 = a6 + aRow;
        for (int p = 0; p < k; p++) {
            int bp = bOff + p * 2 * L;
            FloatVector b0 = FloatVector.fromArray(F, b, bp), b1 = FloatVector.fromArray(F, b, bp + L);
            FloatVector x = FloatVector.broadcast(F, a[a0 + p]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(F, a[a1 + p]); c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(F, a[a2 + p]); c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(F, a[a3 + p]); c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(F, a[a4 + p]); c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(F, a[a5 + p]); c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(F, a[a6 + p]); c60 = x.fma(b0, c60); c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(F, a[a7 + p]); c70 = x.fma(b0, c70); c71 = x.fma(b1, c71);
        }
        c00.intoArray(c, cOff); c01.intoArray(c, cOff + L);
        c10.intoArray(c, cOff + ldc); c11.intoArray(c, cOff + ldc + L);
        c20.intoArray(c, cOff + 2 * ldc); c21.intoArray(c, cOff + 2 * ldc + L);
        c30.intoArray(c, cOff + 3 * ldc); c31.intoArray(c, cOff + 3 * ldc + L);
        c40.intoArray(c, cOff + 4 * ldc); c41.intoArray(c, cOff + 4 * ldc + L);
        c50.intoArray(c, cOff + 5 * ldc); c51.intoArray(c, cOff + 5 * ldc + L);
        c60.intoArray(c, cOff + 6 * ldc); c61.intoArray(c, cOff + 6 * ldc + L);
        c70.intoArray(c, cOff + 7 * ldc); c71.intoArray(c, cOff + 7 * ldc + L);
    }
    static void tileK1Ld(int k, float[] a, int aOff, int aRow, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
                c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        int a0 = aOff, a1 = aOff + aRow, a2 = a1 + aRow, a3 = a2 + aRow, a4 = a3 + aRow, a5 = a4 + aRow, a6 = a5 + aRow, a7 = a6 + aRow;
        for (int p = 0; p < k; p++) {
            int bp = bOff + p * ldb;
            FloatVector b0 = FloatVector.fromArray(F, b, bp), b1 = FloatVector.fromArray(F, b, bp + L);
            FloatVector x = FloatVector.broadcast(F, a[a0 + p]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(F, a[a1 + p]); c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(F, a[a2 + p]); c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(F, a[a3 + p]); c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(F, a[a4 + p]); c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(F, a[a5 + p]); c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(F, a[a6 + p]); c60 = x.fma(b0, c60); c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(F, a[a7 + p]); c70 = x.fma(b0, c70); c71 = x.fma(b1, c71);
        }
        c00.intoArray(c, cOff); c01.intoArray(c, cOff + L);
        c10.intoArray(c, cOff + ldc); c11.intoArray(c, cOff + ldc + L);
        c20.intoArray(c, cOff + 2 * ldc); c21.intoArray(c, cOff + 2 * ldc + L);
        c30.intoArray(c, cOff + 3 * ldc); c31.intoArray(c, cOff + 3 * ldc + L);
        c40.intoArray(c, cOff + 4 * ldc); c41.intoArray(c, cOff + 4 * ldc + L);
        c50.intoArray(c, cOff + 5 * ldc); c51.intoArray(c, cOff + 5 * ldc + L);
        c60.intoArray(c, cOff + 6 * ldc); c61.intoArray(c, cOff + 6 * ldc + L);
        c70.intoArray(c, cOff + 7 * ldc); c71.intoArray(c, cOff + 7 * ldc + L);
    }


    static void productT1(int m, int n, int k, float[] a, int aOff, int aK, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc) {
        for (int i = 0; i + 8 <= m; i += 8)
            for (int j = 0; j + 2 * L <= n; j += 2 * L) tileT1(k, a, aOff + i, aK, b, bOff + j, ldb, c, cOff + i * ldc + j, ldc);
    }
    static void tileT1(int k, float[] a, int aOff, int aK, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
                c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        for (int p = 0; p < k; p++) {
            int bp = bOff + p * ldb, ap = aOff + p * aK;
            FloatVector b0 = FloatVector.fromArray(F, b, bp), b1 = FloatVector.fromArray(F, b, bp + L);
            FloatVector x = FloatVector.broadcast(F, a[ap]);
            c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(F, a[ap + 1]); c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(F, a[ap + 2]); c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(F, a[ap + 3]); c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(F, a[ap + 4]); c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(F, a[ap + 5]); c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(F, a[ap + 6]); c60 = x.fma(b0, c60); c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(F, a[ap + 7]); c70 = x.fma(b0, c70); c71 = x.fma(b1, c71);
        }
        c00.intoArray(c, cOff); c01.intoArray(c, cOff + L);
        c10.intoArray(c, cOff + ldc); c11.intoArray(c, cOff + ldc + L);
        c20.intoArray(c, cOff + 2 * ldc); c21.intoArray(c, cOff + 2 * ldc + L);
        c30.intoArray(c, cOff + 3 * ldc); c31.intoArray(c, cOff + 3 * ldc + L);
        c40.intoArray(c, cOff + 4 * ldc); c41.intoArray(c, cOff + 4 * ldc + L);
        c50.intoArray(c, cOff + 5 * ldc); c51.intoArray(c, cOff + 5 * ldc + L);
        c60.intoArray(c, cOff + 6 * ldc); c61.intoArray(c, cOff + 6 * ldc + L);
        c70.intoArray(c, cOff + 7 * ldc); c71.intoArray(c, cOff + 7 * ldc + L);
    }
    // row-major A (aK=1) with B in place (variable ldb): the PV / dq shape
    static void productK1B(int m, int n, int k, float[] a, int aOff, int aRow, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc) {
        for (int i = 0; i + 8 <= m; i += 8)
            for (int j = 0; j + 2 * L <= n; j += 2 * L) tileK1Ld(k, a, aOff + i * aRow, aRow, b, bOff + j, ldb, c, cOff + i * ldc + j, ldc);
    }

    public static void main2(int hs) {
        int t = 128, nh = 12, pairs = 32 * nh, ld = nh * hs;
        Random r = new Random(1);
        float[] dout = new float[32 * t * ld], o = new float[dout.length], o2 = new float[dout.length];
        float[] p = new float[t * t];
        for (int i = 0; i < dout.length; i++) dout[i] = (float) r.nextGaussian();
        for (int i = 0; i < p.length; i++) p[i] = (float) r.nextGaussian();
        for (int rep = 0; rep < 8; rep++) {
            long[] acc = new long[4];
            for (int bh = 0; bh < pairs; bh++) {
                int base = bh / nh * t * ld + bh % nh * hs;
                long t0 = System.nanoTime();
                HeadProduct.product(t, hs, t, p, 0, 1, t, dout, base, ld, o, base, ld);   // dv = P^T dout
                long t1 = System.nanoTime();
                productT1(t, hs, t, p, 0, t, dout, base, ld, o2, base, ld);
                long t2 = System.nanoTime();
                HeadProduct.product(t, hs, t, p, 0, t, 1, dout, base, ld, o, base, ld);   // PV
                long t3 = System.nanoTime();
                productK1B(t, hs, t, p, 0, t, dout, base, ld, o2, base, ld);
                long t4 = System.nanoTime();
                acc[0] += t1 - t0; acc[1] += t2 - t1; acc[2] += t3 - t2; acc[3] += t4 - t3;
            }
            double fl = 2.0 * t * t * hs * pairs;
            System.out.printf("hs %d P^T.dout: current %.2f ms (%.0f GF/s) | aRow=1 %.2f (%.0f) || P.V current %.2f (%.0f) | aK=1 %.2f (%.0f)%n", hs,
                acc[0] / 1e6, fl / acc[0], acc[1] / 1e6, fl / acc[1], acc[2] / 1e6, fl / acc[2], acc[3] / 1e6, fl / acc[3]);
        }
        for (int i = 0; i < o.length; i++) if (o[i] != o2[i]) throw new AssertionError(i);
    }
    public static void main(String[] args) {
        if (args.length > 1) { main2(Integer.parseInt(args[0])); return; }
        int hs = Integer.parseInt(args[0]), t = 128, nh = 12, pairs = 32 * nh, ld = nh * hs;
        Random r = new Random(1);
        float[] q = new float[32 * t * ld], k = q.clone();
        for (float[] x : new float[][] {q, k}) for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        float[] kT = new float[t * hs], pb = new float[t * hs], s = new float[t * t], s2 = new float[t * t];
        for (int rep = 0; rep < 8; rep++) {
            long[] acc = new long[4];
            for (int bh = 0; bh < pairs; bh++) {
                int base = bh / nh * t * ld + bh % nh * hs;
                SimdHeadProduct.transpose(k, base, ld, t, hs, kT);
                // pack kT into panels of 32 columns: panel jp, (p, j) at jp*hs*32 + p*32 + j
                for (int jp = 0; jp < t / 32; jp++) for (int p = 0; p < hs; p++) System.arraycopy(kT, p * t + jp * 32, pb, jp * hs * 32 + p * 32, 32);
                long t0 = System.nanoTime();
                HeadProduct.product(t, t, hs, q, base, ld, 1, kT, 0, t, s, 0, t);
                long t1 = System.nanoTime();
                productK1(t, t, hs, q, base, ld, kT, t, s2, 0, t);
                long t2 = System.nanoTime();
                productPacked(t, t, hs, q, base, ld, pb, s2, 0, t);
                long t3 = System.nanoTime();
                acc[0] += t1 - t0; acc[1] += t2 - t1; acc[2] += t3 - t2;
                if (rep == 7 && bh == 0) for (int i = 0; i < s.length; i++) if (s[i] != s2[i]) throw new AssertionError(i);
            }
            double fl = 2.0 * t * t * hs * pairs;
            System.out.printf("hs %d QKt: current %.2f ms (%.0f GF/s) | aK=1 %.2f ms (%.0f) | aK=1+packed B %.2f ms (%.0f)%n", hs,
                acc[0] / 1e6, fl / acc[0], acc[1] / 1e6, fl / acc[1], acc[2] / 1e6, fl / acc[2]);
        }
    }
}
