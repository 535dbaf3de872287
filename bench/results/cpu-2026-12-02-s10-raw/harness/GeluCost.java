// Scratch harness of session 10 (not built by Maven): javac -cp tensor/target/classes, run with --add-modules
// jdk.incubator.vector and Simd.JIT_FLAGS.
package dev.bertft.tensor.cpu;

import java.util.Random;

public class GeluCost {
    public static void main(String[] args) {
        int big = 4096 * 1536;
        Random r = new Random(1);
        float[] x = new float[big], y = new float[big], dy = new float[big], dx = new float[big];
        for (int i = 0; i < big; i++) { x[i] = (float) r.nextGaussian(); dy[i] = (float) r.nextGaussian(); }
        for (int rep = 0; rep < 8; rep++) {
            long t0 = System.nanoTime();
            for (int it = 0; it < big / 1536; it++) SimdGelu.forward(x, y, 0, 1536);          // one row, in L1
            long t1 = System.nanoTime();
            for (int row = 0; row < big; row += 1536) SimdGelu.forward(x, y, row, row + 1536); // streaming
            long t2 = System.nanoTime();
            for (int it = 0; it < big / 1536; it++) SimdGelu.backward(x, dy, dx, 0, 1536);
            long t3 = System.nanoTime();
            for (int row = 0; row < big; row += 1536) SimdGelu.backward(x, dy, dx, row, row + 1536);
            long t4 = System.nanoTime();
            System.out.printf("fwd L1 %.3f ns/el, stream %.3f | bwd L1 %.3f, stream %.3f%n", (t1 - t0) / (double) big, (t2 - t1) / (double) big,
                    (t3 - t2) / (double) big, (t4 - t3) / (double) big);
        }
    }
}
