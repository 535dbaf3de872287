package dev.bertft.tensor;

import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Philox 4x32-10 against the Random123 known-answer vectors, and the dropout masks built on it. */
class PhiloxTest {

    /** Runs one block for counter (c0, c1, c2, c3) and key (k0, k1), mapped as the class doc says. */
    private static int[] philox(int c0, int c1, int c2, int c3, int k0, int k1) {
        long seed = (k0 & 0xFFFFFFFFL) | (long) k1 << 32;
        long blockIndex = (c0 & 0xFFFFFFFFL) | (long) c1 << 32;
        long offset = (c2 & 0xFFFFFFFFL) | (long) c3 << 32;
        int[] out = new int[4];
        Philox.block(seed, offset, blockIndex, out);
        return out;
    }

    @Test
    void random123KnownAnswers() {
        // kat_vectors from Random123 for philox4x32_10.
        assertArrayEquals(new int[] {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}, philox(0, 0, 0, 0, 0, 0));
        assertArrayEquals(new int[] {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}, philox(-1, -1, -1, -1, -1, -1));
        assertArrayEquals(new int[] {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
                philox(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0));
    }

    @Test
    void dropoutMaskDoesNotDependOnTheThreadCount() {
        // Large enough that the 2-thread backend really splits the work (GRAIN is 16384 elements).
        int[] shape = {3, 257, 129};
        Tensor one = new CpuBackend(1).dropoutMask(DType.F32, shape, 0.1, 1234, 5);
        Tensor two = new CpuBackend(2).dropoutMask(DType.F32, shape, 0.1, 1234, 5);
        Tensor four = new CpuBackend(4).dropoutMask(DType.F32, shape, 0.1, 1234, 5);
        assertArrayEquals(one.toFloatArray(), two.toFloatArray());
        assertArrayEquals(one.toFloatArray(), four.toFloatArray());
    }

    @Test
    void dropoutMaskKeepRateAndScale() {
        CpuBackend cpu = new CpuBackend(2);
        int n = 200_000;
        for (double p : new double[] {0.1, 0.5}) {
            float[] m = cpu.dropoutMask(DType.F32, new int[] {n}, p, 99, 0).toFloatArray();
            int kept = 0;
            for (float v : m) {
                if (v != 0) {
                    assertEquals((float) (1 / (1 - p)), v, 0f);
                    kept++;
                }
            }
            // Binomial(n, 1−p): 5 standard deviations is ~0.0034 at p = 0.5.
            double rate = (double) kept / n, sd = Math.sqrt(p * (1 - p) / n);
            assertEquals(1 - p, rate, 5 * sd, "keep rate at p=" + p);
        }
    }

    @Test
    void normalSamplesAreThreadIndependentWithTheRightMoments() {
        int[] shape = {300, 301};
        Tensor one = new CpuBackend(1).normal(DType.F64, shape, 0.5, 2.0, 77, 1);
        Tensor two = new CpuBackend(2).normal(DType.F64, shape, 0.5, 2.0, 77, 1);
        double[] v = one.toDoubleArray();
        assertArrayEquals(v, two.toDoubleArray(), 0.0);
        double mean = 0, sq = 0;
        for (double x : v) mean += x / v.length;
        for (double x : v) sq += (x - mean) * (x - mean) / v.length;
        // n = 90300: the standard error of the mean is 2/√n ≈ 0.0067, of the std about 0.0047.
        assertEquals(0.5, mean, 0.03);
        assertEquals(2.0, Math.sqrt(sq), 0.025);
        int within1 = 0;
        for (double x : v) if (Math.abs(x - 0.5) < 2.0) within1++;
        assertEquals(0.6827, (double) within1 / v.length, 0.01, "share within one sigma");
    }

    @Test
    void dropoutMaskElementIsAPureFunctionOfSeedOffsetAndIndex() {
        CpuBackend cpu = new CpuBackend(2);
        float[] a = cpu.dropoutMask(DType.F32, new int[] {10}, 0.5, 7, 3).toFloatArray();
        float[] longer = cpu.dropoutMask(DType.F32, new int[] {2, 13}, 0.5, 7, 3).toFloatArray();
        for (int i = 0; i < a.length; i++) assertEquals(a[i], longer[i], 0f, "element " + i);
        // Element i is the low (i even) or high 16 bits of lane (i/2) mod 4 of block i/8: check it
        // straight from the generator.
        int[] bits = new int[4];
        for (int i = 0; i < a.length; i++) {
            Philox.block(7, 3, i / 8, bits);
            int word = bits[(i / 2) % 4], draw = i % 2 == 0 ? word & 0xFFFF : word >>> 16;
            float expected = draw / 65536.0 >= 0.5 ? 2f : 0f; // dropped when the draw falls below p
            assertEquals(expected, a[i], 0f, "element " + i);
        }
        float[] otherOffset = cpu.dropoutMask(DType.F32, new int[] {64}, 0.5, 7, 4).toFloatArray();
        float[] sameOffset = cpu.dropoutMask(DType.F32, new int[] {64}, 0.5, 7, 3).toFloatArray();
        boolean differs = false;
        for (int i = 0; i < 64; i++) differs |= otherOffset[i] != sameOffset[i];
        assertTrue(differs, "a new offset draws a new mask");
    }

    /**
     * The dropout factors of the first Tq query rows of attention probabilities are those rows of
     * the full [B, NH, T, T] mask, element for element, and only they are drawn: the result holds
     * B·NH·Tq·T elements (the full mask's narrowed view held B·NH·T·T). Row lengths that are and are
     * not multiples of a Philox block's 8 draws, a chunk of 4096 elements spanning many rows, both
     * element types, and a backend with more threads than chunks.
     */
    @Test
    void attentionDropoutMaskIsTheFullMasksFirstRowsDrawnAlone() {
        for (CpuBackend cpu : new CpuBackend[] {new CpuBackend(1), new CpuBackend(4)}) {
            for (DType dtype : new DType[] {DType.F32, DType.F64}) {
                for (int[] bhT : new int[][] {{2, 3, 24}, {1, 2, 7}, {3, 4, 70}}) {
                    int b = bhT[0], nh = bhT[1], t = bhT[2];
                    Tensor full = cpu.dropoutMask(dtype, new int[] {b, nh, t, t}, 0.3, 99, 11);
                    for (int tq : new int[] {1, 5, t}) {
                        Tensor rows = cpu.attentionDropoutMask(dtype, new int[] {b, nh, tq, t}, 0.3, 99, 11);
                        String what = dtype + " B=" + b + " NH=" + nh + " Tq=" + tq + " T=" + t;
                        assertArrayEquals(full.narrow(2, 0, tq).contiguous().toDoubleArray(), rows.toDoubleArray(), 0.0, what);
                        assertEquals((long) b * nh * tq * t, rows.storage().size(), what + ": elements drawn and held");
                    }
                }
            }
        }
    }

    @Test
    void keepThresholdIsTheKeptRule() {
        float[] ps = {0f, 1e-9f, 0.1f, 1f / 3, 0.5f, 0.9f, Math.nextDown(1f), 1f};
        for (float p : ps) {
            int threshold = Philox.keepThreshold(p);
            // every 16-bit draw, against the rule in double: kept when draw / 2¹⁶ ≥ p
            for (int draw = 0; draw < 1 << 16; draw++) {
                assertEquals(draw / 65536.0 >= p, Philox.kept(draw, p), "p=" + p + " draw=" + draw);
                assertEquals(Philox.kept(draw, p), draw >= threshold, "p=" + p + " draw=" + draw);
            }
        }
    }

    /**
     * The 16-bit draws keep each element with probability 1 − p to within 2⁻¹⁶: over 2²² draws
     * the keep rate lies within 5 standard deviations of ⌈p·2¹⁶⌉ rounding's rate, and so does
     * each of the eight element positions of a block (both halves of all four words).
     */
    @Test
    void keepRateIsOneMinusPWithinSamplingError() {
        int n = 1 << 22;
        int[] draws = new int[n];
        Philox.dropoutDraws(11, 5, 123, draws, n);
        for (float p : new float[] {0.1f, 0.5f, 0.9f}) {
            double expected = 1 - Math.ceil(p * 65536.0) / 65536.0;
            assertEquals(1 - p, expected, 1.0 / 65536, "the rule's rate");
            long[] keptAt = new long[8];
            for (int i = 0; i < n; i++) if (Philox.kept(draws[i], p)) keptAt[(123 + i) & 7]++;
            long kept = 0;
            for (int pos = 0; pos < 8; pos++) {
                kept += keptAt[pos];
                double sd = Math.sqrt(expected * (1 - expected) / (n / 8.0));
                assertEquals(expected, keptAt[pos] / (n / 8.0), 5 * sd, "p=" + p + ", position " + pos + " of a block");
            }
            assertEquals(expected, (double) kept / n, 5 * Math.sqrt(expected * (1 - expected) / n), "p=" + p);
        }
    }
}
