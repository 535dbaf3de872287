package dev.bertft.bert;

import dev.bertft.autograd.Precision;
import dev.bertft.autograd.Var;
import dev.bertft.cuda.CudaBackend;
import dev.bertft.cuda.KernelEmulator;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The half residual stream of a bf16 training step (issue #15), in the tiny BERT's forward on the
 * emulated GPU (2 heads of 16, so attention takes the fused BF16 kernel): each residual block ends
 * in the one kernel that reads the Linear's BF16 product and writes, beside its float32 output,
 * the BF16 copy the next Linear reads, so no cast kernel of an activation runs between it and
 * that product. Before, the block ended in the float32 kernel and a cast of its [B, T, H] output
 * followed before the FFN's and the next layer's products. The casts that remain:
 * {@link #attentionWritesAndReadsTheHalfOperandsOfTheProductsAroundIt}.
 */
class EmulatedHalfResidualStreamTest {
    private static final Path TINY = Path.of("src", "test", "resources", "bert", "tiny");
    /** gemm_pipeline.cuh's number for the epilogue that takes GELU's derivative. */
    private static final int EPI_GELU_GRAD = 2;

    @Test
    void residualLayerNormsWriteTheBf16OperandOfTheNextProduct() throws IOException {
        CudaBackend gpu = KernelEmulator.freshBackend();
        BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(TINY, gpu,
                new BertForSequenceClassification.LoadOptions(null, null, 42, Map.of("num_attention_heads", "2")));
        model.setPrecision(Precision.BF16);
        model.setTraining(true);
        int batch = 2, t = 7, hidden = model.config().hiddenSize(), inner = model.config().intermediateSize();
        int[] ids = new int[batch * t];
        for (int i = 0; i < ids.length; i++) ids[i] = 1 + (37 * i) % 99;
        Tensor in = gpu.fromHost(ids, DType.I32, batch, t), labels = gpu.fromHost(new int[] {0, 2}, DType.I32, batch);
        List<KernelEmulator.Launch> forward = new ArrayList<>();
        KernelEmulator.logLaunches(forward);
        Var loss;
        try {
            loss = model.loss(model.logits(in, null, null), labels);
        } finally {
            KernelEmulator.restore();
        }
        loss.backward(); // the step runs through on what the forward kept
        int fused = 0, fusedFromFloat = 0;
        for (int i = 0; i < forward.size(); i++) {
            assertNotEquals("dropout_add_layernorm_f32", forward.get(i).kernel(), "a residual LayerNorm without its BF16 copy");
            if (forward.get(i).kernel().equals("dropout_add_layernorm_f32_copy_bf16")) fusedFromFloat++;
            else if (!forward.get(i).kernel().equals("dropout_add_layernorm_bf16_copy_bf16")) continue;
            fused++;
            for (int j = i + 1; j < forward.size() && !forward.get(j).kernel().startsWith("hgemm_"); j++) {
                KernelEmulator.Launch l = forward.get(j);
                long n = castElements(l);
                if (n == (long) batch * t * hidden || n == (long) batch * t * inner) fail(l.kernel() + " of " + n + " elements after residual LayerNorm " + fused);
            }
        }
        assertEquals(2 * model.config().numHiddenLayers(), fused, "residual LayerNorms writing the BF16 copy");
        // the classifier computes the last layer's products for the [CLS] rows only and places
        // them, in float32, into the [B, T, H] the LayerNorm reads (BertLayer#forwardCls); every
        // other residual LayerNorm reads the BF16 product
        assertEquals(2, fusedFromFloat, "residual LayerNorms of the last layer, reading its float32 [CLS] rows");
    }

    /**
     * The feed-forward GELU of a bf16 and an fp16 training step and prediction is written by the
     * epilogue of intermediate.dense's half product (it was a kernel reading that product), and its
     * derivative by the epilogue of output.dense's input-gradient product, which writes the half dY
     * that intermediate.dense's two backward products read (it was a GELU backward kernel reading
     * that product in float32): no widening cast runs at all (before, GELU's pre-activation was
     * widened to float32 once in the forward and again in the backward, and dY rounded to half by a
     * cast after the GELU backward). The backward of each residual block's LayerNorm writes the
     * half dY of the Linear before it the same way (before, a cast followed it), and dropout in
     * training the half copy of its output (the embeddings' and the pooled output's, before cast
     * for layer 0's Q, K and V and for the classifier). Prediction runs its
     * layers in memory scopes, each passing on its output with the half copy the next layer reads
     * (that copy was freed with the scope).
     */
    @Test
    void producersWriteTheHalfOperandsOfTheirLinearsForwardAndBackward() throws IOException {
        for (Precision precision : new Precision[] {Precision.BF16, Precision.FP16}) {
            StepAndPrediction run = stepAndPrediction(precision);
            BertForSequenceClassification model = run.model();
            List<KernelEmulator.Launch> step = run.step(), prediction = run.prediction();
            for (List<KernelEmulator.Launch> launches : List.of(step, prediction)) {
                for (int i = 0; i < launches.size(); i++) {
                    String k = launches.get(i).kernel();
                    if (k.startsWith("cast_") && k.endsWith("16_f32")) fail(precision + ": " + k + " widens an activation, after " + launches.get(i - 1).kernel());
                    if (k.startsWith("layernorm_param_grads_final") && launches.get(i + 1).kernel().startsWith("cast_")) {
                        fail(precision + ": a residual LayerNorm's dx cast to half");
                    }
                }
            }
            String h = precision == Precision.BF16 ? "bf16" : "f16";
            // the forward's GELU is the half GEMM's epilogue (no kernel of its own), its backward one kernel a layer
            for (List<KernelEmulator.Launch> launches : List.of(step, prediction)) {
                assertEquals(0, launches.stream().filter(l -> l.kernel().equals("gelu_" + h)).count(), precision + ": GELU kernels after the GEMM");
            }
            // and its derivative is taken in the epilogue of the input-gradient product of output.dense,
            // which writes the half dY of intermediate.dense's products (there was a GELU backward kernel a layer)
            assertEquals(0, step.stream().filter(l -> l.kernel().startsWith("gelu_backward")).count(), precision + ": GELU backward kernels of a step");
            assertEquals(model.config().numHiddenLayers(), step.stream()
                    .filter(l -> l.kernel().equals("hgemm_" + h + "_nn_" + h) && l.args()[16].equals(EPI_GELU_GRAD)).count(),
                    precision + ": input-gradient products writing the half gradient at GELU's input");
            // the last layer's blocks compute the [CLS] rows only and keep their float32 product (BertLayer#forwardCls)
            assertEquals(2 * (model.config().numHiddenLayers() - 1), step.stream().filter(l -> l.kernel().equals("dropout_add_layernorm_backward_f32_copy_" + h))
                    .count(), precision + ": residual LayerNorm backward kernels writing dY's half copy");
            // a Linear's input gradient is added to the residual's by the product's epilogue (EPI_ADD):
            // before, binary_f32 followed Q/K/V's and the FFN's first Linear's dX products
            for (int i = 0; i + 1 < step.size(); i++) {
                if (step.get(i).kernel().equals("hgemm_" + h + "_nn_f32") && step.get(i + 1).kernel().equals("binary_f32")) {
                    fail(precision + ": an input gradient added to the residual's by binary_f32, launch " + (i + 1));
                }
            }
            // every Linear's bias gradient is summed by its weight-gradient product from the half dY it
            // reads (there was a column reduction over a float32 dY per Linear but Q/K/V's); the one left
            // sums the position embeddings' gradient over the batch
            assertEquals(1, step.stream().filter(l -> l.kernel().startsWith("reduce_cols_partial")).count(), precision + ": column sums of a step");
            assertEquals(2, step.stream().filter(l -> l.kernel().equals("mul_f32_copy_" + h)).count(),
                    precision + ": the embeddings' and the pooled output's dropout writing the classifier's and layer 0's half operand");
        }
    }

    /**
     * Attention under autocast reads and writes only the half operands of the products around it:
     * the forward writes the context in the format (the operand of the output projection, which no
     * float32 op reads), the backward reads dO in the format as the output projection's dx product
     * writes it, and writes dQ, dK and dV in the format, the operand of the Q/K/V projection's two
     * backward products (its dx, dW and db stay float32). Before, a cast followed each forward
     * kernel, one preceded each backward, and one rounded the concatenated float32 dQ, dK, dV.
     * The casts left in a bf16/fp16 tiny-BERT step (2 layers, the last computing [CLS] rows only):
     * one launch casting every Linear's weight and bias at the forward's start (Autocast.castAll;
     * 16 launches before, one per product as torch.autocast's cache makes them), and 6 of
     * activations: the last layer's two [CLS] rows into the FFN and the pooler; in the backward, the
     * gradients into the classifier and the pooler and the last layer's two [CLS] rows' dY.
     * Prediction: the list and 4, the same forward less dropout plus the pooled output into the
     * classifier and the mask's widening.
     */
    @Test
    void attentionWritesAndReadsTheHalfOperandsOfTheProductsAroundIt() throws IOException {
        for (Precision precision : new Precision[] {Precision.BF16, Precision.FP16}) {
            StepAndPrediction run = stepAndPrediction(precision);
            List<KernelEmulator.Launch> step = run.step(), prediction = run.prediction();
            int batch = StepAndPrediction.BATCH, t = StepAndPrediction.T, hidden = run.model().config().hiddenSize();
            String h = precision == Precision.BF16 ? "bf16" : "f16";
            for (List<KernelEmulator.Launch> launches : List.of(step, prediction)) {
                for (int i = 0; i + 1 < launches.size(); i++) {
                    String k = launches.get(i).kernel(), next = launches.get(i + 1).kernel();
                    if (k.startsWith("attention_")) assertTrue(k.endsWith("_" + h), precision + ": " + k + " writes float32");
                    long n = castElements(launches.get(i)), nextN = castElements(launches.get(i + 1));
                    // the context, [B, T, H] or the last layer's [B, H]; the parameters' casts may follow
                    if (k.startsWith("attention_forward") && (nextN == (long) batch * t * hidden || nextN == (long) batch * hidden)) {
                        fail(precision + ": " + next + " of the attention's context");
                    }
                    if (next.startsWith("attention_backward_dot") && n > 0) fail(precision + ": " + k + " of the attention's dO");
                    if (n == 3L * batch * t * hidden) fail(precision + ": " + k + " of the packed dQ, dK, dV");
                }
            }
            for (List<KernelEmulator.Launch> launches : List.of(step, prediction)) {
                assertEquals(1, launches.stream().filter(l -> l.kernel().equals("cast_list_f32_" + h)).count(), precision + ": parameter casts");
            }
            assertEquals(6, step.stream().filter(l -> castElements(l) > 0).count(), precision + ": casts of activations in a training step");
            assertEquals(4, prediction.stream().filter(l -> castElements(l) > 0).count(), precision + ": casts of activations in a prediction");
        }
    }

    /** The elements a cast kernel of one tensor converts (its third argument); 0 for any other launch, the list cast's too. */
    private static long castElements(KernelEmulator.Launch l) {
        return l.kernel().startsWith("cast_") && !l.kernel().startsWith("cast_list_") ? ((Number) l.args()[2]).longValue() : 0;
    }

    /** The launches of a tiny-BERT training step (forward and backward) and of a prediction, and the model trained. */
    private record StepAndPrediction(BertForSequenceClassification model, List<KernelEmulator.Launch> step, List<KernelEmulator.Launch> prediction) {
        static final int BATCH = 2, T = 7;
    }

    private static StepAndPrediction stepAndPrediction(Precision precision) throws IOException {
        CudaBackend gpu = KernelEmulator.freshBackend();
        BertForSequenceClassification model = tiny(gpu, precision), eval = tiny(gpu, precision);
        model.setTraining(true);
        eval.setTraining(false);
        int batch = StepAndPrediction.BATCH, t = StepAndPrediction.T;
        int[] ids = new int[batch * t], ones = new int[batch * t];
        for (int i = 0; i < ids.length; i++) ids[i] = 1 + (37 * i) % 99;
        Arrays.fill(ones, 1);
        Tensor in = gpu.fromHost(ids, DType.I32, batch, t), labels = gpu.fromHost(new int[] {0, 2}, DType.I32, batch);
        List<KernelEmulator.Launch> step = new ArrayList<>(), prediction = new ArrayList<>();
        KernelEmulator.logLaunches(step);
        try {
            model.loss(model.logits(in, null, null), labels).backward();
            KernelEmulator.logLaunches(prediction);
            eval.predictLogits(in, gpu.fromHost(new int[batch * t], DType.I32, batch, t), gpu.fromHost(ones, DType.I32, batch, t));
        } finally {
            KernelEmulator.restore();
        }
        return new StepAndPrediction(model, step, prediction);
    }

    private static BertForSequenceClassification tiny(CudaBackend gpu, Precision precision) throws IOException {
        BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(TINY, gpu,
                new BertForSequenceClassification.LoadOptions(null, null, 42, Map.of("num_attention_heads", "2")));
        model.setPrecision(precision);
        return model;
    }
}
