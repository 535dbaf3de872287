package dev.bertft.tensor.cpu;

import dev.bertft.tensor.Philox;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Philox 4x32-10 on as many counter blocks at once as a vector of longs holds (8 with
 * AVX-512): each 32-bit word sits in the low half of a 64-bit lane, so the 32×32→64 products
 * of a round are one lane-wise multiply. Produces exactly {@link Philox#block}'s words.
 */
final class SimdPhilox {
    private static final VectorSpecies<Long> L = LongVector.SPECIES_PREFERRED;
    private static final long LOW = 0xFFFFFFFFL;
    private static final long M0 = 0xD2511F53L, M1 = 0xCD9E8D57L;
    private static final int W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    private SimdPhilox() {}

    /** Same contract as {@link Philox#fill}. */
    static void fill(long seed, long offset, long first, int[] out, int n) {
        int lanes = L.length();
        long firstBlock = first >> 2, lastBlock = (first + n - 1) >> 2;
        long[] counter = new long[lanes], w0 = new long[lanes], w1 = new long[lanes], w2 = new long[lanes], w3 = new long[lanes];
        LongVector c2 = LongVector.broadcast(L, offset & LOW), c3 = LongVector.broadcast(L, offset >>> 32);
        for (long blk = firstBlock; blk <= lastBlock; blk += lanes) {
            for (int l = 0; l < lanes; l++) counter[l] = blk + l;
            LongVector c0 = LongVector.fromArray(L, counter, 0).and(LOW);
            LongVector c1 = LongVector.fromArray(L, counter, 0).lanewise(VectorOperators.LSHR, 32);
            LongVector d2 = c2, d3 = c3;
            int k0 = (int) seed, k1 = (int) (seed >>> 32);
            for (int round = 0; round < 10; round++) {
                LongVector p0 = c0.mul(M0), p1 = d2.mul(M1);
                LongVector n0 = p1.lanewise(VectorOperators.LSHR, 32).lanewise(VectorOperators.XOR, c1).lanewise(VectorOperators.XOR, k0 & LOW);
                LongVector n1 = p1.and(LOW);
                LongVector n2 = p0.lanewise(VectorOperators.LSHR, 32).lanewise(VectorOperators.XOR, d3).lanewise(VectorOperators.XOR, k1 & LOW);
                LongVector n3 = p0.and(LOW);
                c0 = n0;
                c1 = n1;
                d2 = n2;
                d3 = n3;
                k0 += W0;
                k1 += W1;
            }
            c0.intoArray(w0, 0);
            c1.intoArray(w1, 0);
            d2.intoArray(w2, 0);
            d3.intoArray(w3, 0);
            for (int l = 0; l < lanes; l++) {
                long base = ((blk + l) << 2) - first;
                if (base >= 0 && base + 3 < n) {
                    int b = (int) base;
                    out[b] = (int) w0[l];
                    out[b + 1] = (int) w1[l];
                    out[b + 2] = (int) w2[l];
                    out[b + 3] = (int) w3[l];
                } else {
                    put(out, n, base, (int) w0[l]);
                    put(out, n, base + 1, (int) w1[l]);
                    put(out, n, base + 2, (int) w2[l]);
                    put(out, n, base + 3, (int) w3[l]);
                }
            }
        }
    }

    private static void put(int[] out, int n, long at, int v) {
        if (at >= 0 && at < n) out[(int) at] = v;
    }
}
