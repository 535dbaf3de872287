// Scratch harness of session 17 (not built by Maven; javac against the jar, class path ahead of it): X.Wt and dY.W at MiniLM 8x128's FFN shape, bare and with each epilogue, alternated in one JVM: java --add-modules jdk.incubator.vector -cp OUT:bert-ft.jar dev.bertft.tensor.cpu.EpiHarness 1024 1536 384 300
package dev.bertft.tensor.cpu;

import java.util.Arrays;
import java.util.Random;

/** Scratch: product alone vs product + GELU epilogues at MiniLM 8x128's FFN shapes. */
public class EpiHarness {
    public static void main(String[] args) {
        int m = Integer.parseInt(args[0]), n = Integer.parseInt(args[1]), k = Integer.parseInt(args[2]);
        int iters = Integer.parseInt(args[3]);
        Parallel pool = new Parallel(2);
        Random r = new Random(1);
        float[] x = rnd(r, m * k), w = rnd(r, n * k), bias = rnd(r, n), c = new float[m * n], y = new float[m * n];
        float[] dy = rnd(r, m * k), p = rnd(r, m * n), out = new float[m * n];
        String[] names = {"NT plain", "NT biasGelu", "NN plain", "NN geluGrad", "NT bias", "NT biasGelu+d", "NN mul d", "NT biasGelu over C"};
        long[][] t = new long[8][iters];
        for (int it = 0; it < iters + 50; it++) {
            for (int v = 0; v < 8; v++) {
                long s = System.nanoTime();
                switch (v) {
                    case 0 -> Gemm.sgemm(pool, false, true, m, n, k, x, 0, k, w, 0, k, c, 0, n, null);
                    case 1 -> Gemm.sgemm(pool, false, true, m, n, k, x, 0, k, w, 0, k, c, 0, n, new Epilogue.BiasGelu(bias, 0, y, 0, n, false));
                    case 2 -> Gemm.sgemm(pool, false, false, m, n, k, dy, 0, k, w, 0, n, out, 0, n, null);
                    case 3 -> Gemm.sgemm(pool, false, false, m, n, k, dy, 0, k, w, 0, n, out, 0, n, new Epilogue.BiasGeluGrad(bias, 0, p, 0, n, out, 0, n));
                    case 4 -> Gemm.sgemm(pool, false, true, m, n, k, x, 0, k, w, 0, k, c, 0, n, new Epilogue.Bias(bias, 0));
                    case 5 -> Gemm.sgemm(pool, false, true, m, n, k, x, 0, k, w, 0, k, c, 0, n, new Epilogue.BiasGelu(bias, 0, y, 0, n, true));
                    case 6 -> Gemm.sgemm(pool, false, false, m, n, k, dy, 0, k, w, 0, n, out, 0, n, new Epilogue.Mul(p, 0, n));
                    default -> Gemm.sgemm(pool, false, true, m, n, k, x, 0, k, w, 0, k, c, 0, n, new Epilogue.BiasGelu(bias, 0, c, 0, n, false));
                }
                long e = System.nanoTime() - s;
                if (it >= 50) t[v][it - 50] = e;
            }
        }
        double flop = 2.0 * m * n * k;
        for (int v = 0; v < 8; v++) {
            long[] a = t[v].clone();
            Arrays.sort(a);
            System.out.printf("%-12s median %.3f ms (p25 %.3f, p75 %.3f)  %.0f GFLOP/s%n", names[v], a[a.length / 2] / 1e6,
                    a[a.length / 4] / 1e6, a[3 * a.length / 4] / 1e6, flop / a[a.length / 2]);
        }
        pool.close();
    }

    static float[] rnd(Random r, int size) {
        float[] a = new float[size];
        for (int i = 0; i < size; i++) a[i] = r.nextFloat() - 0.5f;
        return a;
    }
}
