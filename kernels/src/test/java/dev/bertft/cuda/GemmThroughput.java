package dev.bertft.cuda;

import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;

import java.util.Locale;
import java.util.function.Supplier;

/**
 * Our GEMM at the product shapes of a BERT-base training step, timed as bench/scripts/gemm_torch.py
 * times torch.matmul in the same run, so that the two compare shape by shape: the same shapes and
 * layouts, operands in the same precision (float32 products on TF32 tensor cores, or BF16/F16
 * operands written in their format, the product in it too), and the same timing ({@link DeviceTimes}).
 * Prints one JSON object per line, with gemm_torch.py's keys ("precision" tf32, bf16 or f16).
 *
 * <p>Shapes: bert-base at batch 32 × 128 tokens (4096 rows; hidden 768, intermediate 3072) and
 * 32 × 512 (16384 rows) in the layouts of a Linear's forward (x·Wᵀ) and weight gradient
 * (Xᵀ·dY, summing over the tokens), the same weight gradient with its bias gradient as the step
 * asks for them (dW+db, ours only), attention's batched Q·Kᵀ and P·V (32 × 12 heads, head size
 * 64) at both lengths, and a large square. Run by bench/scripts/gpu-check.sh:
 * {@code java -cp ... dev.bertft.cuda.GemmThroughput [reps] [F32|BF16|F16]}.
 */
public final class GemmThroughput {
    private GemmThroughput() {}

    public static void main(String[] args) {
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        DType dtype = args.length > 1 ? DType.valueOf(args[1]) : DType.F32;
        CudaBackend gpu;
        try {
            gpu = CudaBackend.open(0);
        } catch (CudaUnavailableException e) {
            System.out.println("GEMM throughput not measured: " + e.getMessage());
            System.exit(3);
            return;
        }
        System.err.println(gpu.describe());
        String precision = dtype == DType.F32 ? "tf32" : dtype == DType.BF16 ? "bf16" : "f16";
        for (int tokens : new int[] {4096, 16384}) {
            for (int[] nk : new int[][] {{768, 768}, {3072, 768}, {768, 3072}}) {
                int n = nk[0], k = nk[1];
                Tensor x = operand(gpu, dtype, 1, tokens, k), w = operand(gpu, dtype, 2, n, k);
                time(gpu, precision, "x·Wᵀ", 1, tokens, n, k, reps, () -> x.matmul(w.transpose(0, 1)));
                Tensor xt = operand(gpu, dtype, 3, tokens, n), dy = operand(gpu, dtype, 4, tokens, k);
                time(gpu, precision, "Xᵀ·dY", 1, n, k, tokens, reps, () -> xt.transpose(0, 1).matmul(dy));
                time(gpu, precision, "dW+db", 1, n, k, tokens, reps, () -> gpu.linearGrads(xt, dy, DType.F32).weight());
            }
        }
        for (int t : new int[] {128, 512}) {
            Tensor q = operand(gpu, dtype, 5, 32 * 12, t, 64), kk = operand(gpu, dtype, 6, 32 * 12, t, 64);
            time(gpu, precision, "Q·Kᵀ", 32 * 12, t, t, 64, reps, () -> q.matmul(kk.transpose(-1, -2)));
            Tensor p = operand(gpu, dtype, 7, 32 * 12, t, t), v = operand(gpu, dtype, 8, 32 * 12, t, 64);
            time(gpu, precision, "P·V", 32 * 12, t, 64, t, reps, () -> p.matmul(v));
        }
        Tensor a = operand(gpu, dtype, 9, 8192, 8192), b = operand(gpu, dtype, 10, 8192, 8192);
        time(gpu, precision, "x·w", 1, 8192, 8192, 8192, reps, () -> a.matmul(b));
    }

    /** Standard normal values of {@code shape} in {@code dtype}. */
    private static Tensor operand(CudaBackend gpu, DType dtype, long seed, int... shape) {
        return gpu.normal(DType.F32, shape, 0, 1, seed, 0).cast(dtype);
    }

    /** Prints the product's GPU time (DeviceTimes) and rate (2·batch·m·n·k flops), one JSON object. */
    private static void time(CudaBackend gpu, String precision, String layout, int batch, int m, int n, int k, int reps,
                             Supplier<Tensor> product) {
        DeviceTimes times = DeviceTimes.of(gpu, reps, product::get);
        System.out.printf(Locale.ROOT, "{\"precision\": \"%s\", \"layout\": \"%s\", \"batch\": %d, \"m\": %d, \"n\": %d, \"k\": %d, %s}%n",
                precision, DeviceTimes.ascii(layout), batch, m, n, k, times.json(2.0 * batch * m * n * k));
    }
}
