package dev.bertft.cuda;

import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The host half of the GPU embedding backward: summing dy rows segment by segment, in the order
 * embedding.cu does (one thread per column, positions order[start[s]..start[s+1]) in turn),
 * gives the CPU backend's scatter-add bit for bit.
 */
class IdSegmentsTest {

    @Test
    void segmentsGroupPositionsByIdInIncreasingOrder() {
        IdSegments s = IdSegments.of(new int[] {5, 2, 5, 0, 2, 5});
        assertArrayEquals(new int[] {0, 2, 5}, s.ids());
        assertArrayEquals(new int[] {0, 1, 3, 6}, s.start());
        assertArrayEquals(new int[] {3, 1, 4, 0, 2, 5}, s.order());
        assertEquals(0, IdSegments.of(new int[0]).count());
        assertEquals(0, s.longOnes().length);
        int[] padded = new int[700];
        for (int t = 0; t < padded.length; t++) padded[t] = t < 100 ? t + 1 : t < 400 ? 0 : 200;  // 300 zeros, 300 of 200
        assertArrayEquals(new int[] {0, 101}, IdSegments.of(padded).longOnes(), "the segments of id 0 and of id 200");
        assertEquals(2, IdSegments.mostLong(700));
        assertEquals(1, IdSegments.mostLong(3));
    }

    /** Against (id, position) pairs sorted as longs, the construction this replaced: BERT's three id kinds and a negative range. */
    @Test
    void segmentsAreThoseOfTheSortedPairs() {
        Random r = new Random(11);
        int tokens = 16384;
        int[][] cases = {new int[tokens], new int[tokens], new int[tokens], new int[tokens], {7}};
        for (int t = 0; t < tokens; t++) {
            cases[0][t] = r.nextInt(30522);  // word ids
            cases[1][t] = t % 512;           // positions
            cases[2][t] = r.nextInt(2);      // token types
            cases[3][t] = r.nextInt(9) - 4;
        }
        for (int[] ids : cases) {
            long[] pairs = new long[ids.length];
            for (int t = 0; t < ids.length; t++) pairs[t] = ((long) ids[t] << 32) | t;
            java.util.Arrays.sort(pairs);
            IdSegments s = IdSegments.of(ids);
            int[] order = new int[ids.length];
            for (int i = 0; i < ids.length; i++) order[i] = (int) pairs[i];
            assertArrayEquals(order, s.order());
            assertEquals(s.count() + 1, s.start().length);
            assertEquals(ids.length, s.start()[s.count()]);
            for (int k = 0; k < s.count(); k++) {
                assertEquals(ids[order[s.start()[k]]], s.ids()[k]);
                if (k > 0) assertEquals(true, s.ids()[k - 1] < s.ids()[k] && s.start()[k - 1] < s.start()[k]);
                for (int i = s.start()[k]; i < s.start()[k + 1]; i++) assertEquals(s.ids()[k], ids[order[i]]);
            }
        }
    }

    @Test
    void segmentSumsInKernelOrderEqualTheCpuScatterAddBitForBit() {
        Random r = new Random(3);
        int tokens = 500, h = 16, vocab = 40;
        int[] ids = new int[tokens];
        float[] dy = new float[tokens * h];
        for (int t = 0; t < tokens; t++) ids[t] = r.nextInt(t % 2 == 0 ? 4 : vocab);
        for (int i = 0; i < dy.length; i++) dy[i] = (float) r.nextGaussian() * (1 << r.nextInt(10));
        CpuBackend cpu = new CpuBackend(2);
        Tensor expected = cpu.embeddingBackward(Tensor.of(cpu, ids, tokens), Tensor.of(cpu, dy, tokens, h), vocab);

        float[] dw = new float[vocab * h];
        IdSegments seg = IdSegments.of(ids);
        for (int s = 0; s < seg.count(); s++) {
            for (int c = 0; c < h; c++) {
                float acc = 0;
                for (int k = seg.start()[s]; k < seg.start()[s + 1]; k++) acc += dy[seg.order()[k] * h + c];
                dw[seg.ids()[s] * h + c] = acc;
            }
        }
        assertArrayEquals((float[]) expected.cast(DType.F32).toHost(), dw, 0f);
    }
}
