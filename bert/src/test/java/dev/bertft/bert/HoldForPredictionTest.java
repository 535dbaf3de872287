package dev.bertft.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

/** A model held for prediction (its Linear weights packed once on the CPU) predicts the same bits and refuses training. */
class HoldForPredictionTest {

    @Test
    void heldModelPredictsTheSameBitsAndRefusesTraining() {
        CpuBackend cpu = new CpuBackend(2);
        BertForSequenceClassification model = BertForSequenceClassification.init(SaveDtypeTest.tiny(), cpu, 3);
        int[] ids = new int[3 * 9];
        for (int i = 0; i < ids.length; i++) ids[i] = (i * 7 + 1) % 50;
        int[] keep = new int[ids.length];
        for (int i = 0; i < keep.length; i++) keep[i] = i < 2 * 9 + 5 ? 1 : 0; // the last sequence padded after 5 tokens
        Tensor inputIds = cpu.fromHost(ids, DType.I32, 3, 9), mask = cpu.fromHost(keep, DType.I32, 3, 9),
                types = cpu.fromHost(new int[ids.length], DType.I32, 3, 9);
        model.setTraining(false);
        float[] before = model.predictLogits(inputIds, types, mask).toFloatArray();
        model.holdForPrediction();
        assertArrayEquals(before, model.predictLogits(inputIds, types, mask).toFloatArray());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> model.setTraining(true));
        assertEquals("weights held for prediction only", e.getMessage());
    }
}
