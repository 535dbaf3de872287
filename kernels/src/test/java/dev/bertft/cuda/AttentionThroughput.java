package dev.bertft.cuda;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;

import java.util.Locale;

/**
 * The fused attention kernels' throughput at BERT-base's shapes (batch 32, 12 heads of 64
 * features, 128 and 512 tokens, the heads as views of [B, T, H] projections as the model holds
 * them), forward alone and forward + backward, without dropout and with training's 0.1, for
 * float32 heads (TF32 products) and BF16 ones (autocast: output and gradients in BF16). Run by
 * bench/scripts/gpu-check.sh beside bench/scripts/attention_torch.py, PyTorch's
 * scaled_dot_product_attention on the same shapes, timed the same way ({@link DeviceTimes}):
 * {@code java -cp ... dev.bertft.cuda.AttentionThroughput [reps]}. Prints one JSON object per case
 * with attention_torch.py's keys, counting 4·B·NH·T²·HS flops forward and 2.5 times as many
 * backward (flash attention's count).
 */
public final class AttentionThroughput {
    private AttentionThroughput() {}

    public static void main(String[] args) {
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        CudaBackend gpu;
        try {
            gpu = CudaBackend.open(0);
        } catch (CudaUnavailableException e) {
            System.out.println("attention throughput not measured: " + e.getMessage());
            System.exit(3);
            return;
        }
        System.err.println(gpu.describe());
        int b = 32, nh = 12, hs = 64;
        long seed = 1;
        for (DType dtype : new DType[] {DType.F32, DType.BF16}) {
            for (int t : new int[] {128, 512}) {
                Tensor q = heads(gpu, dtype, b, t, nh, hs, seed++), k = heads(gpu, dtype, b, t, nh, hs, seed++);
                Tensor v = heads(gpu, dtype, b, t, nh, hs, seed++), dOut = heads(gpu, dtype, b, t, nh, hs, seed++);
                Tensor mask = gpu.zeros(DType.F32, b, t);
                double scale = 1 / Math.sqrt(hs), forwardFlops = 4.0 * b * nh * t * t * hs;
                for (double p : new double[] {0, 0.1}) {
                    String what = String.format(Locale.ROOT, "\"precision\": \"%s\", \"tokens\": %d, \"dropout\": %.1f",
                            dtype == DType.F32 ? "tf32" : "bf16", t, p);
                    time(gpu, what, "forward", forwardFlops, reps, () -> forward(gpu, q, k, v, mask, scale, p));
                    time(gpu, what, "fwd+bwd", 3.5 * forwardFlops, reps, () -> {
                        Backend.AttentionOut f = forward(gpu, q, k, v, mask, scale, p);
                        if (dtype.isHalf()) gpu.attentionHalfBackward(dOut, q, k, v, mask, f, scale, p, 7, 0);
                        else gpu.attentionBackward(dOut, q, k, v, mask, f, scale, p, 7, 0);
                    });
                }
            }
        }
    }

    /** [B, NH, T, HS] heads laid out as [B, T, NH, HS], standard normal, in {@code dtype}. */
    private static Tensor heads(CudaBackend gpu, DType dtype, int b, int t, int nh, int hs, long seed) {
        return gpu.normal(DType.F32, new int[] {b, t, nh, hs}, 0, 1, seed, 0).cast(dtype).permute(0, 2, 1, 3);
    }

    private static Backend.AttentionOut forward(CudaBackend gpu, Tensor q, Tensor k, Tensor v, Tensor mask, double scale, double p) {
        return q.dtype().isHalf() ? gpu.attentionHalfOut(q, k, v, mask, scale, p, 7, 0) : gpu.attention(q, k, v, mask, scale, p, 7, 0);
    }

    /** Prints the pass's GPU time (DeviceTimes) and rate, one JSON object. */
    private static void time(CudaBackend gpu, String what, String pass, double flops, int reps, Runnable run) {
        System.out.printf(Locale.ROOT, "{%s, \"pass\": \"%s\", %s}%n", what, pass, DeviceTimes.of(gpu, reps, run).json(flops));
    }
}
