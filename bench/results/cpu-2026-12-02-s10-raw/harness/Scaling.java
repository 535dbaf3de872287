// Scratch harness of session 10 (not built by Maven): javac -cp tensor/target/classes, run with --add-modules
// jdk.incubator.vector and Simd.JIT_FLAGS.
package dev.bertft.tensor.cpu;

import java.util.Arrays;
import java.util.Random;

/** 1 vs 2 threads alternated per call on the same operands: medians and the speedup. */
public class Scaling {
    public static void main(String[] args) {
        int calls = Integer.parseInt(args[0]);
        Parallel[] pools = {new Parallel(1), new Parallel(2)};
        for (int s = 1; s < args.length; s++) {
            String[] d = args[s].split("x");
            int m = Integer.parseInt(d[0]), n = Integer.parseInt(d[1]), k = Integer.parseInt(d[2]);
            boolean tA = d[3].charAt(0) == 'T', tB = d[3].charAt(1) == 'T';
            Random r = new Random(1);
            float[] a = new float[m * k], b = new float[k * n], c = new float[m * n];
            for (int i = 0; i < a.length; i++) a[i] = r.nextFloat() - .5f;
            for (int i = 0; i < b.length; i++) b[i] = r.nextFloat() - .5f;
            long[][] t = new long[2][calls];
            for (int w = 0; w < calls + 5; w++) {
                for (int v = 0; v < 2; v++) {
                    long t0 = System.nanoTime();
                    Gemm.sgemm(pools[v], tA, tB, m, n, k, a, 0, tA ? m : k, b, 0, tB ? k : n, 0f, c, 0, n);
                    long dt = System.nanoTime() - t0;
                    if (w >= 5) t[v][w - 5] = dt;
                }
            }
            double flop = 2.0 * m * n * k;
            Arrays.sort(t[0]);
            Arrays.sort(t[1]);
            System.out.printf("%s: 1t %.2f ms %.0f GF/s | 2t %.2f ms %.0f GF/s | speedup %.2f%n", args[s], t[0][calls / 2] / 1e6, flop / t[0][calls / 2],
                    t[1][calls / 2] / 1e6, flop / t[1][calls / 2], (double) t[0][calls / 2] / t[1][calls / 2]);
        }
        for (Parallel p : pools) p.close();
    }
}
