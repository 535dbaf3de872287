import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import java.math.BigDecimal;
import java.util.Random;
public class DbError {
    public static void main(String[] a) {
        CpuBackend cpu = new CpuBackend(2);
        Random rnd = new Random(3);
        int rows = 4096;
        for (int n : new int[] {384, 1152, 1536}) {
            float[] dy = new float[rows * n];
            for (int i = 0; i < dy.length; i++) dy[i] = (float) (rnd.nextGaussian() * Math.exp(rnd.nextGaussian() * 2)) * 1e-3f;
            float[] x = new float[rows * 8];
            Tensor tdy = Tensor.of(cpu, dy, rows, n), tx = Tensor.of(cpu, x, rows, 8);
            float[] fused = cpu.linearGrads(tdy, tx, DType.F32).bias().toFloatArray();
            float[] reduce = tdy.sum(0).toFloatArray();
            double maxF = 0, maxR = 0, maxF32 = 0; int same = 0;
            for (int j = 0; j < n; j++) {
                BigDecimal exact = BigDecimal.ZERO; float run = 0;
                for (int t = 0; t < rows; t++) { exact = exact.add(new BigDecimal(dy[t * n + j])); run += dy[t * n + j]; }
                double e = exact.doubleValue(), ulp = Math.ulp((float) e);
                maxF = Math.max(maxF, Math.abs(fused[j] - e) / ulp);
                maxR = Math.max(maxR, Math.abs(reduce[j] - e) / ulp);
                maxF32 = Math.max(maxF32, Math.abs(run - e) / ulp);
                if (Float.floatToRawIntBits(fused[j]) == Float.floatToRawIntBits(reduce[j])) same++;
            }
            System.out.printf("n=%d rows=%d: max |db - exact| in ulps: fused %.3f, reduce %.3f (a float32 running sum: %.1f); bit-equal %d/%d%n", n, rows, maxF, maxR, maxF32, same, n);
        }
        System.exit(0);
    }
}
