// Scratch harness of session 12 (not built by Maven): javac --add-modules jdk.incubator.vector -cp tensor/target/classes,
// run with --add-modules jdk.incubator.vector and Simd.JIT_FLAGS. Results: ../../cpu-2026-12-03-s12.md.
package dev.bertft.tensor.cpu;

import java.util.Random;

/** 2 threads: MiniLM Linear products at 4096 tokens: forward X·Wᵀ, dX = dY·W, dW = dYᵀ·X (+row sums), and the bias add pass. */
public class LinBench {
    static final boolean BIAS = Boolean.getBoolean("bias");
    public static void main(String[] args) {
        Parallel pool = new Parallel(2);
        int m = 4096;
        int[][] shapes = {{384, 384}, {1536, 384}, {384, 1536}};   // {out n, in k}
        Random r = new Random(3);
        float[] x = new float[m * 1536], dy = new float[m * 1536], w = new float[1536 * 1536], y = new float[m * 1536];
        for (float[] a : new float[][] {x, dy, w}) for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
        float[] bias = new float[1536];
        for (int rep = 0; rep < 5; rep++) {
            StringBuilder sb = new StringBuilder();
            for (int[] s : shapes) {
                int n = s[0], k = s[1];
                double fl = 2.0 * m * n * k;
                long[] best = {Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE};
                for (int it = 0; it < 8; it++) {
                    long t0 = System.nanoTime();
                    Gemm.sgemm(pool, false, true, m, n, k, x, 0, k, w, 0, k, 0f, y, 0, n);
                    long t1 = System.nanoTime();
                    if (BIAS) Gemm.sgemmBias(pool, false, true, m, n, k, x, 0, k, w, 0, k, bias, 0, y, 0, n); else pool.forRange(m, 64, (r0, r1) -> { for (int i = r0; i < r1; i++) for (int j = 0; j < n; j++) y[i * n + j] += bias[j]; });
                    long t2 = System.nanoTime();
                    Gemm.sgemm(pool, false, false, m, k, n, dy, 0, n, w, 0, k, 0f, y, 0, k);
                    long t3 = System.nanoTime();
                    Gemm.sgemmWithRowSums(pool, true, false, n, k, m, dy, 0, n, x, 0, k, w, 0, k, new double[n]);
                    long t4 = System.nanoTime();
                    Gemm.sgemm(pool, true, false, n, k, m, dy, 0, n, x, 0, k, 0f, w, 0, k);
                    long t5 = System.nanoTime();
                    best[4] = Math.min(best[4], t5 - t4);
                    best[0] = Math.min(best[0], t1 - t0); best[1] = Math.min(best[1], t2 - t1); best[2] = Math.min(best[2], t3 - t2); best[3] = Math.min(best[3], t4 - t3);
                }
                sb.append(String.format("n%d k%d: fwd %.2f ms %.0f GF/s, bias %.2f ms, dX %.2f ms %.0f, dW %.2f ms %.0f, plain dW %.2f ms %.0f | ", n, k,
                        best[0] / 1e6, fl / best[0], best[1] / 1e6, best[2] / 1e6, fl / best[2], best[3] / 1e6, fl / best[3], best[4] / 1e6, fl / best[4]));
            }
            System.out.println(sb);
        }
        System.exit(0);
    }
}
