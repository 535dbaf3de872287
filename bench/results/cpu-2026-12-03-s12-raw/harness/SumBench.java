// Scratch harness of session 12 (not built by Maven): javac --add-modules jdk.incubator.vector -cp tensor/target/classes,
// run with --add-modules jdk.incubator.vector and Simd.JIT_FLAGS. Results: ../../cpu-2026-12-03-s12.md.
package dev.bertft.tensor.cpu;

public class SumBench {
    public static void main(String[] args) {
        int kc = 683, mc = 144;
        float[] pa = new float[mc * kc];
        for (int i = 0; i < pa.length; i++) pa[i] = i % 7;
        double[] sums = new double[mc];
        SimdGemm.RowSums rs = new SimdGemm.RowSums(sums, 0);
        for (int rep = 0; rep < 8; rep++) {
            long t0 = System.nanoTime();
            for (int it = 0; it < 1000; it++) for (int ir = 0; ir < mc; ir += 8) rs.addPanel(pa, ir * kc, kc, 8, ir);
            long t1 = System.nanoTime();
            System.out.printf("%.3f ns per element (%.2f ms per 1536x4096 dW-equivalent, 1 thread)%n", (t1 - t0) / (1000.0 * mc * kc), (t1 - t0) / (1000.0 * mc * kc) * 1536 * 4096 / 1e6);
        }
        System.out.println(sums[3]);
    }
}
