import dev.bertft.tensor.*;
import dev.bertft.tensor.cpu.CpuBackend;
import java.util.Random;

/** 2 threads: the non-product ops of one MiniLM layer at 32×128, best of N calls each. */
public class OpBench {
    static Tensor rnd(Backend be, Random r, int... shape) {
        int n = 1; for (int s : shape) n *= s;
        float[] a = new float[n]; for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return Tensor.of(be, a, shape);
    }
    interface Op { Object run(); }
    static void time(String name, Op op) {
        long best = Long.MAX_VALUE, sum = 0; int n = 15;
        for (int i = 0; i < 5; i++) op.run();
        long[] ts = new long[n];
        for (int i = 0; i < n; i++) { long t0 = System.nanoTime(); op.run(); ts[i] = System.nanoTime() - t0; }
        java.util.Arrays.sort(ts);
        System.out.printf("%-28s min %7.3f ms  median %7.3f ms%n", name, ts[0] / 1e6, ts[n / 2] / 1e6);
    }
    public static void main(String[] args) {
        CpuBackend be = new CpuBackend(2);
        Random r = new Random(1);
        int B = 32, T = 128, NH = 12, HS = 32, H = 384, I = 1536;
        Tensor x = rnd(be, r, B * T, I), b = rnd(be, r, I), g = rnd(be, r, B * T, I);
        Tensor h = rnd(be, r, B * T, H), res = rnd(be, r, B * T, H), gamma = rnd(be, r, H), beta = rnd(be, r, H), dh = rnd(be, r, B * T, H);
        Tensor q = rnd(be, r, B, T, NH, HS).permute(0, 2, 1, 3), k = rnd(be, r, B, T, NH, HS).permute(0, 2, 1, 3),
               v = rnd(be, r, B, T, NH, HS).permute(0, 2, 1, 3), dout = rnd(be, r, B, T, NH, HS).permute(0, 2, 1, 3);
        Tensor mask = be.zeros(DType.F32, B, T);
        for (int rep = 0; rep < 3; rep++) {
            System.out.println("-- round " + rep);
            time("biasGelu 4096x1536", () -> be.biasGelu(x, b));
            time("biasGeluBackward", () -> be.biasGeluBackward(x, b, g));
            time("dropoutAddLayerNorm p0.1", () -> be.dropoutAddLayerNorm(h, res, gamma, beta, 1e-12, 0.1, 7, 3));
            Backend.ResidualNormOut fo = be.dropoutAddLayerNorm(h, res, gamma, beta, 1e-12, 0.1, 7, 3);
            time("dropoutAddLayerNormBackward", () -> be.dropoutAddLayerNormBackward(dh, fo, gamma, 0.1, 7, 3));
            time("attention p0.1", () -> be.attention(q, k, v, mask, 0.17, 0.1, 7, 5));
            Backend.AttentionOut ao = be.attention(q, k, v, mask, 0.17, 0.1, 7, 5);
            time("attentionBackward p0.1", () -> be.attentionBackward(dout, q, k, v, mask, ao, 0.17, 0.1, 7, 5));
            time("attention p0 (predict)", () -> be.attention(q, k, v, mask, 0.17, 0.0, 7, 5));
            Backend.AttentionOut a0 = be.attention(q, k, v, mask, 0.17, 0.0, 7, 5);
            time("attentionBackward p0", () -> be.attentionBackward(dout, q, k, v, mask, a0, 0.17, 0.0, 7, 5));
            time("dropoutAddLayerNorm p0", () -> be.dropoutAddLayerNorm(h, res, gamma, beta, 1e-12, 0.0, 7, 3));
        }
        System.exit(0);
    }
}
