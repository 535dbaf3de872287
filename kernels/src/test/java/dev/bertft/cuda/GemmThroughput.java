package dev.bertft.cuda;

import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;

/**
 * Matmul throughput on the GPU (float32, or BF16/F16 operands written in their format) for the shapes of BERT-base training (batch 32 × 128
 * tokens = 4096 rows, hidden 768, intermediate 3072; weight gradients sum over the 4096) and
 * one large square, in the three layouts
 * of a linear layer's forward and backward. Run by bench/scripts/gpu-check.sh:
 * {@code java -cp ... dev.bertft.cuda.GemmThroughput [iterations] [F32|BF16|F16]}.
 * Prints one line per shape: milliseconds per product and TFLOP/s (2·m·n·k flops).
 */
public final class GemmThroughput {
    private GemmThroughput() {}

    public static void main(String[] args) {
        int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        DType dtype = args.length > 1 ? DType.valueOf(args[1]) : DType.F32;
        CudaBackend gpu;
        try {
            gpu = CudaBackend.open(0);
        } catch (CudaUnavailableException e) {
            System.out.println("GEMM throughput not measured: " + e.getMessage());
            System.exit(3);
            return;
        }
        System.out.println(gpu.describe());
        System.out.println("operands: " + dtype);
        // forward and input-gradient products (m = tokens), then weight gradients (k = tokens: few
        // tiles, split along K), then a large square
        int[][] shapes = {{4096, 768, 768}, {4096, 3072, 768}, {4096, 768, 3072}, {768, 768, 4096}, {768, 3072, 4096},
                {3072, 768, 4096}, {8192, 8192, 8192}};
        System.out.printf("%-28s %-8s %10s %10s%n", "m x n x k", "layout", "ms", "TFLOP/s");
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2];
            Tensor x = gpu.normal(DType.F32, new int[] {m, k}, 0, 1, 1, 0).cast(dtype);
            Tensor w = gpu.normal(DType.F32, new int[] {n, k}, 0, 1, 2, 0).cast(dtype);   // a Linear weight [out, in]
            Tensor wt = gpu.normal(DType.F32, new int[] {k, n}, 0, 1, 3, 0).cast(dtype);
            Tensor xt = gpu.normal(DType.F32, new int[] {k, m}, 0, 1, 4, 0).cast(dtype);
            run(gpu, "x·w", m, n, k, iterations, () -> x.matmul(wt));                      // plain
            run(gpu, "x·Wᵀ", m, n, k, iterations, () -> x.matmul(w.transpose(0, 1)));     // forward of a Linear
            run(gpu, "Xᵀ·w", m, n, k, iterations, () -> xt.transpose(0, 1).matmul(wt));   // weight gradient layout
            if (k == 4096) { // a Linear's weight and bias gradients (xt as dY; BF16/F16 as autocast's Q, K, V): fused, then as two ops
                run(gpu, "dW+db", m, n, k, iterations, () -> gpu.linearGrads(xt, wt, dtype).weight());
                Tensor dy = xt.cast(DType.F32);   // column sums read float32 (BF16/F16 tensors are only cast and multiplied)
                run(gpu, "dW;db", m, n, k, iterations, () -> {
                    dy.sum(0);
                    return xt.transpose(0, 1).matmul(wt);
                });
            }
        }
    }

    private static void run(CudaBackend gpu, String layout, int m, int n, int k, int iterations, java.util.function.Supplier<Tensor> product) {
        for (int i = 0; i < 3; i++) product.get();
        gpu.synchronize();
        long t0 = System.nanoTime();
        for (int i = 0; i < iterations; i++) product.get();
        gpu.synchronize();
        double seconds = (System.nanoTime() - t0) / 1e9 / iterations;
        System.out.printf("%-28s %-8s %10.3f %10.1f%n", m + " x " + n + " x " + k, layout, seconds * 1e3, 2.0 * m * n * k / seconds / 1e12);
    }
}
