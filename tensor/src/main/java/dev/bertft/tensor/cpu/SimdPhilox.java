package dev.bertft.tensor.cpu;

import dev.bertft.tensor.Philox;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Philox 4x32-10 on as many counter blocks at once as a vector of longs holds (8 with
 * AVX-512): each 32-bit word sits in the low half of a 64-bit lane, so the 32×32→64 products
 * of a round are one lane-wise multiply. Produces exactly {@link Philox#dropoutDraws}' draws,
 * eight a block.
 */
final class SimdPhilox {
    private static final VectorSpecies<Long> L = LongVector.SPECIES_PREFERRED;
    private static final long LOW = 0xFFFFFFFFL;
    private static final long M0 = 0xD2511F53L, M1 = 0xCD9E8D57L;
    private static final int W0 = 0x9E3779B9, W1 = 0xBB67AE85;
    /** LANE_INDEX[l] = l: lane l holds counter block blk + l. */
    private static final long[] LANE_INDEX = new long[L.length()];
    /**
     * Each thread's four output words of a vector of blocks, and a fifth row for {@link #keptBits}'
     * bytes, kept: dropout draws a row at a time, and five fresh arrays a call came to 16 MB in 4 s
     * of a MiniLM 8×128 training run.
     */
    private static final ThreadLocal<long[][]> WORDS = ThreadLocal.withInitial(() -> new long[5][2 * L.length()]);

    static {
        for (int l = 0; l < LANE_INDEX.length; l++) LANE_INDEX[l] = l;
    }

    private SimdPhilox() {}

    /** Same contract as {@link Philox#dropoutDraws}. */
    static void dropoutDraws(long seed, long offset, long first, int[] out, int n) {
        int lanes = L.length();
        long firstBlock = first >> 3, lastBlock = (first + n - 1) >> 3;
        long[][] words = WORDS.get();
        long[] w0 = words[0], w1 = words[1], w2 = words[2], w3 = words[3];
        for (long blk = firstBlock; blk <= lastBlock; blk += 2 * lanes) {
            blocks(seed, offset, blk, words);
            for (int l = 0; l < 2 * lanes; l++) {
                long base = ((blk + l) << 3) - first;
                int a = (int) w0[l], b = (int) w1[l], c = (int) w2[l], d = (int) w3[l];
                if (base >= 0 && base + 7 < n) {
                    int o = (int) base;
                    out[o] = a & 0xFFFF;
                    out[o + 1] = a >>> 16;
                    out[o + 2] = b & 0xFFFF;
                    out[o + 3] = b >>> 16;
                    out[o + 4] = c & 0xFFFF;
                    out[o + 5] = c >>> 16;
                    out[o + 6] = d & 0xFFFF;
                    out[o + 7] = d >>> 16;
                } else {
                    put(out, n, base, a & 0xFFFF);
                    put(out, n, base + 1, a >>> 16);
                    put(out, n, base + 2, b & 0xFFFF);
                    put(out, n, base + 3, b >>> 16);
                    put(out, n, base + 4, c & 0xFFFF);
                    put(out, n, base + 5, c >>> 16);
                    put(out, n, base + 6, d & 0xFFFF);
                    put(out, n, base + 7, d >>> 16);
                }
            }
        }
    }

    /**
     * The bits {@link SimdResidualNorm#packKept} makes of {@link #dropoutDraws}' n draws from
     * element {@code first} (a multiple of 8: the range starts a counter block), without the draws:
     * bit j % 32 of words[wb + j / 32] set where draw j ≥ threshold, compared in the vector lanes
     * the block's four words come out in. A block's eight draws become one byte, lane l's byte
     * shifted to bit 8·l, so one vector of blocks is 8·lanes consecutive bits (two words with
     * AVX-512): 78 ns a row of 128 against 118–137 for the draws then {@code packKept}.
     */
    static void keptBits(long seed, long offset, long first, int n, int threshold, int[] out, int wb) {
        int lanes = L.length(), step = 8 * lanes;
        java.util.Arrays.fill(out, wb, wb + (n + 31) / 32, 0);
        long[][] words = WORDS.get();
        long[] bytes = words[4];
        for (int j0 = 0; j0 < n; j0 += 2 * step) {
            blocks(seed, offset, (first + j0) >> 3, words);
            for (int j = j0, l = 0; j < Math.min(n, j0 + 2 * step); j += step, l += lanes) {
                LongVector a = LongVector.fromArray(L, words[0], l), b = LongVector.fromArray(L, words[1], l);
                LongVector c = LongVector.fromArray(L, words[2], l), d = LongVector.fromArray(L, words[3], l);
                // draw 2w + h of a block is half h (low 16 bits first) of its word w
                LongVector kept = LongVector.zero(L)
                        .lanewise(VectorOperators.OR, 1L, a.and(0xFFFFL).compare(VectorOperators.GE, threshold))
                        .lanewise(VectorOperators.OR, 2L, a.lanewise(VectorOperators.LSHR, 16).compare(VectorOperators.GE, threshold))
                        .lanewise(VectorOperators.OR, 4L, b.and(0xFFFFL).compare(VectorOperators.GE, threshold))
                        .lanewise(VectorOperators.OR, 8L, b.lanewise(VectorOperators.LSHR, 16).compare(VectorOperators.GE, threshold))
                        .lanewise(VectorOperators.OR, 16L, c.and(0xFFFFL).compare(VectorOperators.GE, threshold))
                        .lanewise(VectorOperators.OR, 32L, c.lanewise(VectorOperators.LSHR, 16).compare(VectorOperators.GE, threshold))
                        .lanewise(VectorOperators.OR, 64L, d.and(0xFFFFL).compare(VectorOperators.GE, threshold))
                        .lanewise(VectorOperators.OR, 128L, d.lanewise(VectorOperators.LSHR, 16).compare(VectorOperators.GE, threshold));
                // lane l's byte to bit 8·l, in scalar code. A vector shift by lane then an OR
                // reduction did this before; in the JVM of the whole test suite C2 once compiled
                // them as calls (48 boxed vectors a call, three a turn: what those two box), and
                // this costs 2–10 ns more a row of 128 than they did when intrinsified.
                kept.intoArray(bytes, 0);
                long bits = 0;
                for (int k = 0; k < lanes; k++) bits |= bytes[k] << (8 * k);
                if (n - j < step) bits &= (1L << (n - j)) - 1;
                out[wb + (j >>> 5)] |= (int) (bits << (j & 31));
                if (step > 32 && n - j > 32) out[wb + (j >>> 5) + 1] = (int) (bits >>> 32);
            }
        }
    }

    /**
     * Philox of the counter blocks blk, blk + 1, …, two vectors of them (one block a lane) into
     * words[0..3], each word in the low half of its lane: the two chains of multiplies overlap.
     */
    private static void blocks(long seed, long offset, long blk, long[][] words) {
        int lanes = L.length();
        LongVector c2 = LongVector.broadcast(L, offset & LOW), c3 = LongVector.broadcast(L, offset >>> 32), e2 = c2, e3 = c3;
        LongVector counter = LongVector.fromArray(L, LANE_INDEX, 0).add(blk), next = counter.add(lanes);
        LongVector c0 = counter.and(LOW), c1 = counter.lanewise(VectorOperators.LSHR, 32);
        LongVector e0 = next.and(LOW), e1 = next.lanewise(VectorOperators.LSHR, 32);
        int k0 = (int) seed, k1 = (int) (seed >>> 32);
        for (int round = 0; round < 10; round++) {
            long key0 = k0 & LOW, key1 = k1 & LOW;
            LongVector p0 = c0.mul(M0), p1 = c2.mul(M1), q0 = e0.mul(M0), q1 = e2.mul(M1);
            c0 = p1.lanewise(VectorOperators.LSHR, 32).lanewise(VectorOperators.XOR, c1).lanewise(VectorOperators.XOR, key0);
            e0 = q1.lanewise(VectorOperators.LSHR, 32).lanewise(VectorOperators.XOR, e1).lanewise(VectorOperators.XOR, key0);
            c1 = p1.and(LOW);
            e1 = q1.and(LOW);
            c2 = p0.lanewise(VectorOperators.LSHR, 32).lanewise(VectorOperators.XOR, c3).lanewise(VectorOperators.XOR, key1);
            e2 = q0.lanewise(VectorOperators.LSHR, 32).lanewise(VectorOperators.XOR, e3).lanewise(VectorOperators.XOR, key1);
            c3 = p0.and(LOW);
            e3 = q0.and(LOW);
            k0 += W0;
            k1 += W1;
        }
        c0.intoArray(words[0], 0);
        c1.intoArray(words[1], 0);
        c2.intoArray(words[2], 0);
        c3.intoArray(words[3], 0);
        e0.intoArray(words[0], lanes);
        e1.intoArray(words[1], lanes);
        e2.intoArray(words[2], lanes);
        e3.intoArray(words[3], lanes);
    }

    private static void put(int[] out, int n, long at, int v) {
        if (at >= 0 && at < n) out[(int) at] = v;
    }
}
