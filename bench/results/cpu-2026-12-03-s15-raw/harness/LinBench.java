// Scratch harness of session 15 (not built by Maven): CpuBackend.linear / linearGelu at MiniLM's forward shapes
// (tokens x 384 inputs), 2 threads, medians of 25 calls after 10.
import dev.bertft.tensor.*;
import dev.bertft.tensor.cpu.CpuBackend;
import java.util.*;

public class LinBench {
    public static void main(String[] args) {
        CpuBackend be = new CpuBackend(2);
        Random r = new Random(1);
        int[] tokens = {1024, 4096};
        int[][] wShapes = {{1152, 384}, {384, 384}, {1536, 384}, {384, 1536}};
        for (int rep = 0; rep < Integer.getInteger("reps", 3); rep++) {
            for (int m : tokens) {
                StringBuilder sb = new StringBuilder("tokens " + m + ": ");
                for (int[] ws : wShapes) {
                    Tensor x = rnd(be, r, m, ws[1]), w = rnd(be, r, ws), b = rnd(be, r, ws[0]);
                    boolean gelu = ws[0] == 1536;
                    long[] ts = new long[25];
                    for (int i = 0; i < 35; i++) {
                        long t0 = System.nanoTime();
                        if (gelu) be.linearGelu(x, w, b, true); else be.linear(x, w, b);
                        if (i >= 10) ts[i - 10] = System.nanoTime() - t0;
                    }
                    Arrays.sort(ts);
                    sb.append(String.format("%dx%dx%d%s %.2f ms (%.0f GF/s) | ", m, ws[0], ws[1], gelu ? " gelu" : "", ts[12] / 1e6, 2.0 * m * ws[0] * ws[1] / ts[12]));
                }
                System.out.println(sb);
            }
        }
        System.exit(0);
    }

    static Tensor rnd(CpuBackend be, Random r, int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = r.nextFloat() - 0.5f;
        return Tensor.of(be, a, shape);
    }
}
