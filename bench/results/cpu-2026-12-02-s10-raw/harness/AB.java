// Scratch harness of session 10 (not built by Maven): javac -cp tensor/target/classes, run with --add-modules
// jdk.incubator.vector and Simd.JIT_FLAGS. Needs a temporary `static boolean AB_NEW` in SimdGemm choosing the variant.
package dev.bertft.tensor.cpu;

import java.util.Arrays;
import java.util.Random;

/** Alternates SimdGemm.AB_NEW per call on the same operands; prints medians and quartiles of each. */
public class AB {
    public static void main(String[] args) {
        int threads = Integer.parseInt(args[0]), calls = Integer.parseInt(args[1]);
        Parallel pool = new Parallel(threads);
        for (int s = 2; s < args.length; s++) {
            String[] d = args[s].split("x");
            int m = Integer.parseInt(d[0]), n = Integer.parseInt(d[1]), k = Integer.parseInt(d[2]);
            boolean tA = d[3].charAt(0) == 'T', tB = d[3].charAt(1) == 'T';
            Random r = new Random(1);
            float[] a = new float[m * k], b = new float[k * n], c = new float[m * n];
            for (int i = 0; i < a.length; i++) a[i] = r.nextFloat() - .5f;
            for (int i = 0; i < b.length; i++) b[i] = r.nextFloat() - .5f;
            long[][] t = new long[2][calls];
            for (int w = 0; w < calls + 10; w++) {
                for (int v = 0; v < 2; v++) {
                    SimdGemm.AB_NEW = ((w + v) & 1) == 1;
                    long t0 = System.nanoTime();
                    Gemm.sgemm(pool, tA, tB, m, n, k, a, 0, tA ? m : k, b, 0, tB ? k : n, 0f, c, 0, n);
                    long dt = System.nanoTime() - t0;
                    if (w >= 10) t[SimdGemm.AB_NEW ? 1 : 0][w - 10] = dt;
                }
            }
            double flop = 2.0 * m * n * k;
            StringBuilder sb = new StringBuilder(args[s] + " " + threads + "t:");
            for (int v = 0; v < 2; v++) {
                Arrays.sort(t[v]);
                sb.append(String.format("  %s median %.3f ms (q1 %.3f q3 %.3f) %.0f GFLOP/s", v == 0 ? "old" : "new",
                        t[v][calls / 2] / 1e6, t[v][calls / 4] / 1e6, t[v][3 * calls / 4] / 1e6, flop / t[v][calls / 2]));
            }
            System.out.printf("%s  new/old %.3f%n", sb, (double) t[1][calls / 2] / t[0][calls / 2]);
        }
        pool.close();
    }
}
