package dev.bertft.bert;

import dev.bertft.cuda.CudaBackend;
import dev.bertft.cuda.KernelEmulator;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The last encoder layer's attention for the [CLS] query rows runs as the fused kernels on the
 * GPU, forward and backward, as every other layer's does (before, the kernels took every query row
 * only, and those rows went through softmax, dropout-mask and matmul kernels of their own): the
 * tiny BERT with 2 heads of 16 features, one training step with dropout on the emulated GPU,
 * counted on the launches. Its logits, loss and gradients against the CPU are
 * GpuTrainingParityTest's.
 */
class EmulatedClsAttentionTest {
    @Test
    void everyLayerLaunchesTheFusedAttentionTheLastForItsClsRows() throws IOException {
        CudaBackend gpu = KernelEmulator.freshBackend();
        BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(Fixtures.tinyModel(), gpu,
                new BertForSequenceClassification.LoadOptions(null, null, 42, Map.of("num_attention_heads", "2")));
        model.setTraining(true);
        int batch = 2, t = 7, layers = model.config().numHiddenLayers();
        int[] ids = new int[batch * t], mask = new int[batch * t];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 1 + (37 * i) % 99;
            mask[i] = i % t < t - 2 * (i / t) ? 1 : 0;  // the second sequence padded by 2
        }
        Tensor in = gpu.fromHost(ids, DType.I32, batch, t), labels = gpu.fromHost(new int[] {0, 2}, DType.I32, batch);
        List<KernelEmulator.Launch> step = new ArrayList<>();
        KernelEmulator.logLaunches(step);
        try {
            model.loss(model.logits(in, null, gpu.fromHost(mask, DType.I32, batch, t)), labels).backward();
        } finally {
            KernelEmulator.restore();
        }
        // the query rows (Tq) each launch took, layer by layer: every row, then the [CLS] row
        List<Integer> allThenCls = new ArrayList<>();
        for (int layer = 0; layer < layers; layer++) allThenCls.add(layer < layers - 1 ? t : 1);
        assertEquals(allThenCls, queryRows(step, "attention_forward_hs16", 11), "fused attention forwards");
        List<Integer> backward = new ArrayList<>(allThenCls);  // from the last layer to the first
        Collections.reverse(backward);
        assertEquals(backward, queryRows(step, "attention_backward_kv_hs16", 15), "fused dk/dv kernels");
        assertEquals(backward, queryRows(step, "attention_backward_q_hs16", 14), "fused dq kernels");
        assertEquals(0, step.stream().filter(l -> l.kernel().startsWith("softmax")).count(), "softmax kernels of a composed attention");
    }

    /** The Tq argument (at {@code index}) of each launch of {@code kernel}, in launch order. */
    private static List<Integer> queryRows(List<KernelEmulator.Launch> launches, String kernel, int index) {
        return launches.stream().filter(l -> l.kernel().equals(kernel)).map(l -> (Integer) l.args()[index]).toList();
    }
}
