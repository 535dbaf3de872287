import dev.bertft.tensor.*;
import dev.bertft.tensor.cpu.CpuBackend;
import java.util.*;

/** 2 threads: AdamW over bert-base-sized parameters (one 23.4M embedding + 85M in 768x768-ish tensors), clip 1 vs 0.5; plus sumOfSquares. */
public class AdamBench {
    public static void main(String[] args) {
        CpuBackend be = new CpuBackend(2);
        int[][] shapes = new int[96][];
        shapes[0] = new int[] {30522, 768};
        for (int i = 1; i < 96; i++) shapes[i] = new int[] {768, i % 4 == 0 ? 768 : (i % 4 == 1 ? 3072 : 1152)};
        List<Tensor> p = new ArrayList<>(), g = new ArrayList<>(), m = new ArrayList<>(), v = new ArrayList<>();
        Random r = new Random(1);
        long total = 0;
        for (int[] s : shapes) {
            int n = s[0] * s[1]; total += n;
            float[] a = new float[n], b = new float[n];
            for (int i = 0; i < n; i += 97) { a[i] = r.nextFloat(); b[i] = r.nextFloat(); }
            p.add(Tensor.of(be, a, s)); g.add(Tensor.of(be, b, s)); m.add(be.zeros(DType.F32, s)); v.add(be.zeros(DType.F32, s));
        }
        System.out.println("params " + total);
        Tensor xa = be.zeros(DType.F32, 1024, 768), wa = be.zeros(DType.F32, 768, 3072);
        boolean pollute = Boolean.getBoolean("pollute");
        for (int rep = 0; rep < 3; rep++) {
            for (double clip : new double[] {1.0, (float) 0.3713}) {
                Tensor guard = Tensor.of(be, new double[] {0, 0, clip, 0}, 4);
                long[] ts = new long[9];
                for (int i = 0; i < 9; i++) {
                    Backend.AdamWStep st = new Backend.AdamWStep(2e-5, 0.9, 0.999, 1e-8, 0.01, i + 1);
                    if (pollute) for (int j = 0; j < 10; j++) be.matmul(xa, wa);
                    long t0 = System.nanoTime();
                    be.adamW(p, g, m, v, st, guard);
                    ts[i] = System.nanoTime() - t0;
                }
                Arrays.sort(ts);
                System.out.printf("adamW clip %.4f: median %.1f ms (%.1f GB/s at 28 B a parameter)%n", clip, ts[4] / 1e6, 28.0 * total / ts[4]);
            }
            long[] ts = new long[9];
            for (int i = 0; i < 9; i++) { long t0 = System.nanoTime(); be.sumOfSquares(g); ts[i] = System.nanoTime() - t0; }
            Arrays.sort(ts);
            System.out.printf("sumOfSquares: median %.1f ms (%.1f GB/s)%n", ts[4] / 1e6, 4.0 * total / ts[4]);
        }
        System.exit(0);
    }
}
