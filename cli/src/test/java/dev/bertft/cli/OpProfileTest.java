package dev.bertft.cli;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@code bench --profile}'s attribution of samples to ops, on stacks written by hand (innermost frame first). */
class OpProfileTest {
    @Test
    void aSampleBelongsToTheOutermostBackendMethodALambdaToTheMethodThatWroteIt() {
        assertEquals("biasGelu", OpProfile.opOf(List.of("dev.bertft.tensor.cpu.SimdGelu.forward", "dev.bertft.tensor.cpu.CpuBackend.lambda$biasGelu$7",
                "dev.bertft.tensor.cpu.Parallel.lambda$forRange$0", "java.lang.Thread.run")));
        assertEquals("linear", OpProfile.opOf(List.of("dev.bertft.tensor.cpu.SimdGemm.kernel", "dev.bertft.tensor.cpu.Gemm.multiply",
                "dev.bertft.tensor.cpu.CpuBackend.linear", "dev.bertft.autograd.Var.linear")));
        assertEquals("layerNorm", OpProfile.opOf(List.of("dev.bertft.tensor.cpu.CpuStorage.allocate", "dev.bertft.tensor.cpu.CpuBackend.allocate",
                "dev.bertft.tensor.cpu.CpuBackend.layerNorm", "dev.bertft.tensor.Tensor.layerNorm")));
        assertEquals(OpProfile.GEMM_WORKER, OpProfile.opOf(List.of("dev.bertft.tensor.cpu.SimdGemm.kernel",
                "dev.bertft.tensor.cpu.Parallel.lambda$forRange$0", "java.lang.Thread.run")));
        assertEquals(OpProfile.GEMM_WORKER, OpProfile.opOf(List.of("dev.bertft.tensor.cpu.SimdGemmFewRows.kernel",
                "dev.bertft.tensor.cpu.SimdGemmFewRows.lambda$product$1", "dev.bertft.tensor.cpu.Parallel.lambda$forRange$0",
                "java.lang.Thread.run")));
        assertEquals(OpProfile.OUTSIDE + " Var.backward", OpProfile.opOf(List.of("java.util.ArrayList.add", "dev.bertft.autograd.Var.backward")));
        assertEquals("(JVM)", OpProfile.opOf(List.of("java.lang.Thread.run")));
    }

    /** Attention's loops run on workers with no CpuBackend frame below them; their samples are still attention's. */
    @Test
    void attentionOnAWorkerIsAttention() {
        assertEquals("attention", OpProfile.opOf(List.of("dev.bertft.tensor.cpu.SimdExp.expSum", "dev.bertft.tensor.cpu.SimdSoftmax.forward",
                "dev.bertft.tensor.cpu.Attention.lambda$forward$0", "dev.bertft.tensor.cpu.Parallel.lambda$forRange$0", "java.lang.Thread.run")));
        assertEquals("attentionBackward", OpProfile.opOf(List.of("dev.bertft.tensor.cpu.SimdHeadProduct.tileOfColumns",
                "dev.bertft.tensor.cpu.Attention.lambda$backward$1", "dev.bertft.tensor.cpu.Parallel.lambda$forRange$0", "java.lang.Thread.run")));
    }

    @Test
    void workerGemmSamplesAreSharedInProportionToTheCallersGemmSamplesAndNoneIsLost() {
        Map<String, Long> byOp = new HashMap<>(Map.of("linear", 40L, "matmul", 20L, "gelu", 5L));
        OpProfile.spread(byOp, Map.of("linear", 30L, "matmul", 10L), 41);
        // 41 · 30/40 = 30.75 → 30 to linear (rounded down), the remaining 11 to matmul
        assertEquals(Map.of("linear", 70L, "matmul", 31L, "gelu", 5L), byOp);
    }
}
