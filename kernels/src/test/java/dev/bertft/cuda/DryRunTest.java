package dev.bertft.cuda;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Ops;
import dev.bertft.tensor.Tensor;
import jcuda.driver.CUdeviceptr;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every Backend op of {@link CudaBackend} run without a GPU: launches go to a recorder that
 * checks each against the committed PTX (the kernel exists, every argument has the parameter's
 * type and size) and the launch limits (at most 1024 threads, whole warps, grid y/z ≤ 65535).
 * So a wrong argument list is found here rather than as garbage on the GPU. Between them the
 * ops must launch every kernel the PTX defines, or a kernel is dead code.
 */
class DryRunTest {

    /** Checks launches instead of running them; downloads return zeros. */
    static class Recorder implements DeviceOps {
        final Map<String, List<String>> signatures;
        final TreeSet<String> launched = new TreeSet<>();
        final List<String> problems = new ArrayList<>();
        /** Every launch by kernel name and every read back as "download", in order. */
        final List<String> events = new ArrayList<>();

        Recorder() throws IOException {
            signatures = Nvcc.committedSignatures();
        }

        @Override
        public void launchShared(String kernel, int sharedBytes, int gridX, int gridY, int gridZ, int blockX, int blockY, Object... args) {
            List<String> params = signatures.get(kernel);
            if (params == null) {
                problems.add("no kernel " + kernel);
                return;
            }
            try {
                Kernels.checkArguments(kernel, params, args);
            } catch (IllegalStateException e) {
                problems.add(e.getMessage());
            }
            int threads = blockX * blockY;
            if (threads < 32 || threads > 1024 || threads % 32 != 0) problems.add(kernel + ": block " + blockX + "x" + blockY);
            if (gridX < 1 || gridY < 1 || gridZ < 1 || gridY > 65535 || gridZ > 65535) {
                problems.add(kernel + ": grid " + gridX + "x" + gridY + "x" + gridZ);
            }
            if (sharedBytes < 0 || sharedBytes > 99 << 10) problems.add(kernel + ": " + sharedBytes + " bytes of shared memory (sm_86 has 99 KiB)");
            for (Object a : args) if (a == null) problems.add(kernel + ": null argument");
            launched.add(kernel);
            events.add(kernel);
        }

        @Override
        public void zero(CUdeviceptr p, long bytes) {}

        @Override
        public void upload(Object array, DType dtype, int n, CUdeviceptr dst) {}

        @Override
        public Object download(CUdeviceptr src, DType dtype, int n) {
            events.add("download");
            return dtype.newArray(n);
        }

        @Override
        public void synchronize() {}
    }

    static CudaBackend dryBackend(Recorder rec) {
        return dryBackend(rec, new DeviceMemory<>() {
            @Override
            public CUdeviceptr allocate(long bytes) {
                return new CUdeviceptr();
            }

            @Override
            public void free(CUdeviceptr block) {}
        });
    }

    /** The same on device memory of the caller's, such as one that runs out. */
    static CudaBackend dryBackend(Recorder rec, DeviceMemory<CUdeviceptr> memory) {
        TensorCoreGemm own = new TensorCoreGemm(rec, "dry run");
        return new CudaBackend(0, null, new DeviceInfo("dry run", 13000, 9, 0, 132, 80L << 30), rec, memory, own, own);
    }

    /**
     * A Linear's weight and bias gradients are one tn product, no reduction of dY of their own: on
     * 132 SMs a [64, 5] gradient runs whole, a [768, 768] one over 4096 tokens in 7 K splits (36
     * tiles), summed in order for dW and for db.
     */
    @Test
    void weightAndBiasGradientsAreOneProduct() throws Exception {
        Recorder rec = new Recorder();
        CudaBackend g = dryBackend(rec);
        Tensor dy = g.zeros(DType.F32, 64, 8), x = g.zeros(DType.F32, 64, 5);
        rec.events.clear();
        g.linearGrads(dy, x, DType.F32);
        assertEquals(List.of("sgemm_tf32_tn"), rec.events);
        Tensor dyTall = g.zeros(DType.F32, 4096, 768), xTall = g.zeros(DType.F32, 4096, 768);
        rec.events.clear();
        g.linearGrads(dyTall, xTall, DType.F32);
        assertEquals(List.of("sgemm_tf32_tn", "splitk_sum", "splitk_sum"), rec.events);
        assertEquals(List.of(), rec.problems);
    }

    /**
     * So are BF16/F16 ones (autocast's Q, K and V, whose gradient arrives in the format): one tn
     * launch for dW (in the format or float32) and db's float32 sums, one cast of db to the format
     * beside a half dW (none beside a float32 one: autocast's parameter gradients stay float32);
     * split along K, the pieces and the row sums are each added in order.
     */
    @Test
    void halfWeightAndBiasGradientsAreOneProduct() throws Exception {
        Recorder rec = new Recorder();
        CudaBackend g = dryBackend(rec);
        Tensor dy = g.zeros(DType.BF16, 64, 8), x = g.zeros(DType.BF16, 64, 5);
        rec.events.clear();
        g.linearGrads(dy, x, DType.BF16);
        assertEquals(List.of("hgemm_bf16_tn_bf16", "cast_f32_bf16"), rec.events);
        rec.events.clear();
        g.linearGrads(g.zeros(DType.F16, 64, 8), g.zeros(DType.F16, 64, 5), DType.F32);
        assertEquals(List.of("hgemm_f16_tn_f32"), rec.events);   // beside a float32 dW, db stays float32
        Tensor dyTall = g.zeros(DType.BF16, 4096, 2304), xTall = g.zeros(DType.BF16, 4096, 768);
        rec.events.clear();
        g.linearGrads(dyTall, xTall, DType.BF16);
        assertEquals(List.of("hgemm_bf16_tn_f32", "splitk_sum_bf16", "splitk_sum", "cast_f32_bf16"), rec.events);
        assertEquals(List.of(), rec.problems);
    }

    @Test
    void everyOpLaunchesValidKernelsAndTogetherTheyCoverThePtx() throws Exception {
        Recorder rec = new Recorder();
        CudaBackend g = dryBackend(rec);
        for (DType t : new DType[] {DType.F32, DType.F64}) {
            Tensor x = g.zeros(t, 4, 6, 8), y = g.full(t, new int[] {8}, 1.5);
            for (Ops.Unary op : Ops.Unary.values()) x.unary(op);
            for (Ops.Scalar op : Ops.Scalar.values()) x.scalarOp(op, 2);
            for (Ops.Binary op : Ops.Binary.values()) x.binary(op, y);
            x.transpose(0, 2).binary(Ops.Binary.ADD, x.transpose(0, 2));
            g.geluBackward(x, x);
            g.biasGeluBackward(g.biasGelu(x, y), y, x);
            g.dropoutMask(t, new int[] {3, 5}, 0.1, 1, 2);
            g.normal(t, new int[] {7}, 0, 1, 1, 2);
            for (Ops.Reduce op : Ops.Reduce.values()) {
                x.reduce(op, false, 0);
                x.reduce(op, true, 2);
                x.reduce(op, false, 0, 2);
            }
            x.argmax(1);
            x.matmul(g.zeros(t, 8, 5));
            x.matmul(x.transpose(1, 2));
            g.zeros(t, 8, 4).transpose(0, 1).matmul(g.zeros(t, 5, 8).transpose(0, 1));
            g.zeros(t, 64, 1024).matmul(g.zeros(t, 1024, 64)); // few tiles, long K: split along K
            x.softmax();
            x.logSoftmax();
            g.softmaxBackward(x, x);
            g.logSoftmaxBackward(x, x);
            var ln = g.layerNorm(x, y, y, 1e-5);
            g.layerNormBackward(x, x, y, ln.mean(), ln.rstd());
            var residualNorm = g.dropoutAddLayerNorm(x, x, y, y, 1e-5, 0.1, 1, 2);
            g.dropoutAddLayerNormBackward(x, residualNorm, y, 0.1, 1, 2);
            Tensor labels = g.fromHost(new int[] {0, 1, -100, 3}, DType.I32, 4);
            Tensor logits = g.zeros(t, 4, 8);
            g.crossEntropy(logits, labels, -100, 0.1);
            g.crossEntropyBackward(logits, labels, -100, 0.1, g.full(t, new int[0], 1));
            Tensor ids = g.zeros(DType.I32, 2, 3);
            g.embedding(g.zeros(t, 10, 8), ids);
            g.embeddingBackward(ids, g.zeros(t, 2, 3, 8), 10);
            Tensor.concat(List.of(x, x), 1);
            x.permute(2, 0, 1).contiguous();
            Tensor p = g.zeros(t, 100);
            g.addInPlace(p, p, 0.5);
            g.scaleInPlace(p, 0.5);
            g.copyInPlace(p, g.zeros(t, 100));
            g.sumOfSquares(p);
            g.adamW(p, p, g.zeros(t, 100), g.zeros(t, 100), new Backend.AdamWStep(1e-3, 0.9, 0.999, 1e-8, 0.01, 1));
            g.adamW(List.of(p), List.of(p), List.of(g.zeros(t, 100)), List.of(g.zeros(t, 100)),
                    new Backend.AdamWStep(1e-3, 0.9, 0.999, 1e-8, 0.01, 1));
            g.scaled(List.of(p, x), 0.5);
            g.updateGuard(List.of(g.zeros(t)), List.of(p), 1.0);
            for (DType to : DType.values()) if (to != t) x.cast(to);
            if (t == DType.F32) {
                g.castAll(List.of(p, x), DType.BF16);
                g.castAll(List.of(p, x), DType.F16);
            }
        }
        g.zeros(DType.I32, 3).cast(DType.F32);
        g.zeros(DType.I32, 3).cast(DType.F64);
        g.full(DType.I32, new int[] {2}, 7).transpose(0, 0).contiguous();
        for (DType half : new DType[] {DType.BF16, DType.F16}) {
            g.full(half, new int[] {2, 3}, 7).transpose(0, 1).contiguous().cast(DType.F32);
            Tensor a = g.zeros(half, 16, 8), b = g.zeros(half, 8, 16);
            for (DType out : new DType[] {half, DType.F32}) {
                for (Tensor[] ab : new Tensor[][] {{a, b}, {b.transpose(0, 1), b}, {a, a.transpose(0, 1)}, {b.transpose(0, 1), a.transpose(0, 1)}}) {
                    ab[0].matmul(ab[1], out);
                }
                g.zeros(half, 64, 1024).matmul(g.zeros(half, 1024, 64), out); // few tiles, long K: split along K
            }
            g.zeros(half, 2, 16, 8).linear(a, g.zeros(half, 16));
            g.linear(g.zeros(half, 2, 16, 8), a, g.zeros(DType.F32, 16), DType.F32);
            Tensor x = g.zeros(DType.F32, 4, 6, 8), gamma = g.zeros(DType.F32, 8);
            g.layerNorm(x, gamma, gamma, 1e-5, half);
            g.dropoutAddLayerNorm(x, x, gamma, gamma, 1e-5, 0.1, 1, 2, half);
            var residual = g.dropoutAddLayerNorm(g.zeros(half, 4, 6, 8), x, gamma, gamma, 1e-5, 0.1, 1, 2, half);
            g.dropoutAddLayerNormBackward(x, residual.out(), gamma, 0.1, 1, 2, half);
            g.gelu(x, half);
            g.mul(x, x, half);
            g.gelu(g.zeros(half, 4, 6, 8), half);
            g.geluBackward(g.zeros(half, 4, 6, 8), x, half);
            for (int hs : new int[] {16, 32, 64}) {
                Tensor q = g.zeros(half, 2, 3, 70, hs), mask = g.zeros(DType.F32, 2, 70);
                var out = g.attention(q, q, q, mask, 0.125, 0.1, 1, 2);
                g.attentionBackward(g.zeros(DType.F32, 2, 3, 70, hs), q, q, q, mask, out, 0.125, 0.1, 1, 2);
                var halfOut = g.attentionHalfOut(q, q, q, mask, 0.125, 0.1, 1, 2);
                g.attentionHalfBackward(q, q, q, q, mask, halfOut, 0.125, 0.1, 1, 2);
            }
        }
        g.useTf32(false);   // IEEE float32 products
        try {
            g.zeros(DType.F32, 8, 4).matmul(g.zeros(DType.F32, 4, 5));
        } finally {
            g.useTf32(true);
        }
        for (int hs : new int[] {16, 32, 64, 8}) {
            Tensor q = g.zeros(DType.F32, 2, 3, 70, hs), mask = g.zeros(DType.F32, 2, 70);
            for (double drop : new double[] {0, 0.1}) {
                var out = g.attention(q, q, q, mask, 0.125, drop, 1, 2);
                g.attentionBackward(q, q, q, q, mask, out, 0.125, drop, 1, 2);
            }
        }
        Tensor d = g.zeros(DType.F64, 1, 2, 5, 4);
        g.attentionBackward(d, d, d, d, g.zeros(DType.F64, 1, 5), g.attention(d, d, d, g.zeros(DType.F64, 1, 5), 0.5, 0.1, 1, 2),
                0.5, 0.1, 1, 2);

        assertEquals(List.of(), rec.problems);
        TreeSet<String> unused = new TreeSet<>(rec.signatures.keySet());
        unused.removeAll(rec.launched);
        assertTrue(unused.isEmpty(), "kernels no op launches: " + unused);
        assertTrue(g.describe().contains("own TF32 tensor-core kernel"), g.describe());
    }
}
