// Scratch harness of session 17 (not built by Maven; javac against the jar, class path ahead of it): SimdGelu forward and backward on one thread, rows of n: GeluHarness 1024 1536 100
package dev.bertft.tensor.cpu;

import java.util.Arrays;
import java.util.Random;

/** Scratch: SimdGelu forward/backward on one thread, rows of n. */
public class GeluHarness {
    public static void main(String[] args) {
        int rows = Integer.parseInt(args[0]), n = Integer.parseInt(args[1]), iters = Integer.parseInt(args[2]);
        Random r = new Random(1);
        float[] x = new float[rows * n], y = new float[rows * n], dy = new float[rows * n];
        for (int i = 0; i < x.length; i++) { x[i] = (float) r.nextGaussian(); dy[i] = r.nextFloat(); }
        long[][] t = new long[2][iters];
        for (int it = 0; it < iters + 30; it++) {
            long s = System.nanoTime();
            for (int i = 0; i < rows; i++) SimdGelu.forward(x, i * n, y, i * n, n);
            long e1 = System.nanoTime();
            for (int i = 0; i < rows; i++) SimdGelu.backward(x, i * n, dy, i * n, y, i * n, n);
            long e2 = System.nanoTime();
            if (it >= 30) { t[0][it - 30] = e1 - s; t[1][it - 30] = e2 - e1; }
        }
        for (int v = 0; v < 2; v++) {
            long[] a = t[v].clone(); Arrays.sort(a);
            System.out.printf("%s median %.3f ms  %.3f ns/element%n", v == 0 ? "forward " : "backward", a[a.length / 2] / 1e6, (double) a[a.length / 2] / ((double) rows * n));
        }
    }
}
