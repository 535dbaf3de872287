package dev.bertft.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The K split rule against the wave arithmetic done by hand: tiles·s blocks on `slots` resident
 * blocks fill ⌈tiles·s / slots⌉ waves, of which tiles·s / (waves·slots) is busy.
 */
class GemmSplitsTest {
    /** An H200: 132 SMs, two blocks each. */
    private static final long SLOTS = 264;

    @Test
    void bertBaseWeightGradientsAreSplitUntilTheLastWaveIsFull() {
        // [768, 768] over 4096 tokens, 36 tiles: s = 6 fills 216/264 = 82%, s = 7 252/264 = 95%
        assertEquals(7, TensorCoreGemm.splits(36, SLOTS, 4096));
        // [3072, 768], 144 tiles: 55% (s = 1, 2), 82% (3), 73% (4), then 720/792 = 91% at s = 5
        assertEquals(5, TensorCoreGemm.splits(144, SLOTS, 4096));
    }

    @Test
    void forwardProductsSplitOnlyWhereKIsLongAndTheLastWaveHalfEmpty() {
        assertEquals(1, TensorCoreGemm.splits(768, SLOTS, 768), "[4096, 3072]: 768/792 = 97% unsplit");
        // [4096, 768], 192 tiles: 73% for s = 1..3, 768/792 = 97% at s = 4, which K = 3072 allows ...
        assertEquals(4, TensorCoreGemm.splits(192, SLOTS, 3072));
        // ... and K = 768 (pieces of at least 256) does not: the best of s ≤ 3, all 73%, is the first
        assertEquals(1, TensorCoreGemm.splits(192, SLOTS, 768));
    }

    @Test
    void shortKIsNeverSplit() {
        assertEquals(1, TensorCoreGemm.splits(1, SLOTS, 255));
        assertEquals(1, TensorCoreGemm.splits(1, SLOTS, 0));
        assertEquals(16, TensorCoreGemm.splits(1, SLOTS, 1 << 20), "at most 16 pieces");
    }
}
