import dev.bertft.tensor.*;
import dev.bertft.tensor.cpu.CpuBackend;
import java.util.Random;

/** 2 threads: MiniLM's FFN GELU around its products at 4096 tokens, separate ops against the epilogues; medians of 15. */
public class FfnBench {
    static Tensor rnd(Backend be, Random r, int... shape) {
        int n = 1; for (int s : shape) n *= s;
        float[] a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian() * 0.05f;
        return Tensor.of(be, a, shape);
    }
    interface Op { Object run(); }
    static double time(Op op) {
        int n = 15; long[] ts = new long[n];
        for (int i = 0; i < 4; i++) op.run();
        for (int i = 0; i < n; i++) { long t0 = System.nanoTime(); op.run(); ts[i] = System.nanoTime() - t0; }
        java.util.Arrays.sort(ts);
        return ts[n / 2] / 1e6;
    }
    public static void main(String[] args) {
        CpuBackend be = new CpuBackend(2);
        Random r = new Random(1);
        int T = 4096, H = 384, I = 1536;
        Tensor x = rnd(be, r, T, H), w1 = rnd(be, r, I, H), b1 = rnd(be, r, I), w2 = rnd(be, r, H, I), dz = rnd(be, r, T, H);
        Tensor product = be.linear(x, w1, null);
        for (int rep = 0; rep < 5; rep++) {
            double fOld = time(() -> be.biasGelu(be.linear(x, w1, null), b1));
            double fNew = time(() -> be.linearGelu(x, w1, b1, true));
            double pOld = fOld, pNew = time(() -> be.linearGelu(x, w1, b1, false));
            double bOld = time(() -> be.biasGeluBackward(product, b1, dz.matmul(w2)));
            double bNew = time(() -> be.matmulBiasGeluBackward(dz, w2, product, b1));
            double lin = time(() -> be.linear(x, w1, null)), mm = time(() -> dz.matmul(w2));
            System.out.printf("fwd train %.2f -> %.2f ms | fwd predict %.2f -> %.2f | bwd %.2f -> %.2f | bare products %.2f, %.2f%n",
                    fOld, fNew, pOld, pNew, bOld, bNew, lin, mm);
        }
        System.exit(0);
    }
}
