package dev.bertft.tensor;

/**
 * Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
 * counter-based generator, so element i of a draw is a pure function of (seed, offset, i).
 * Any thread, and later any GPU thread, computes the same mask bits for the same element.
 *
 * <p>Element i of a draw keyed by (seed, offset) is lane (i mod 4) of
 * philox(key = seed, counter = (i/4 low, i/4 high, offset low, offset high)).
 */
public final class Philox {
    private static final int M0 = 0xD2511F53, M1 = 0xCD9E8D57;
    private static final int W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    private Philox() {}

    /** The four 32-bit outputs for one counter block, written to out[0..3]. */
    public static void block(long seed, long offset, long blockIndex, int[] out) {
        int c0 = (int) blockIndex, c1 = (int) (blockIndex >>> 32), c2 = (int) offset, c3 = (int) (offset >>> 32);
        int k0 = (int) seed, k1 = (int) (seed >>> 32);
        for (int round = 0; round < 10; round++) {
            long p0 = (M0 & 0xFFFFFFFFL) * (c0 & 0xFFFFFFFFL);
            long p1 = (M1 & 0xFFFFFFFFL) * (c2 & 0xFFFFFFFFL);
            int n0 = (int) (p1 >>> 32) ^ c1 ^ k0;
            int n1 = (int) p1;
            int n2 = (int) (p0 >>> 32) ^ c3 ^ k1;
            int n3 = (int) p0;
            c0 = n0;
            c1 = n1;
            c2 = n2;
            c3 = n3;
            k0 += W0;
            k1 += W1;
        }
        out[0] = c0;
        out[1] = c1;
        out[2] = c2;
        out[3] = c3;
    }

    /**
     * Draws elements [first, first + n) of the stream keyed by (seed, offset) into out[0..n):
     * element i is lane i mod 4 of block i / 4.
     */
    public static void fill(long seed, long offset, long first, int[] out, int n) {
        int[] bits = new int[4];
        long blk = first >> 2;
        block(seed, offset, blk, bits);
        for (int j = 0; j < n; j++) {
            long idx = first + j;
            if (idx >> 2 != blk) {
                blk = idx >> 2;
                block(seed, offset, blk, bits);
            }
            out[j] = bits[(int) (idx & 3)];
        }
    }

    /** A uniform float in [0, 1) from the top 24 bits of a 32-bit draw. */
    public static float uniform(int bits) {
        return (bits >>> 8) * 0x1.0p-24f;
    }

    /** Dropout's rule for one element: dropped when its uniform draw falls below p. */
    public static boolean kept(int bits, float p) {
        return uniform(bits) >= p;
    }

    /**
     * {@link #kept}'s rule as one integer comparison, for tight loops: kept exactly when
     * {@code (bits >>> 8) >= keepThreshold(p)}, since uniform(bits) is that 24-bit integer times 2⁻²⁴.
     */
    public static int keepThreshold(float p) {
        return (int) Math.ceil(p * 0x1p24f);
    }

    /** A uniform double in (0, 1] from a 32-bit draw, safe to take the log of. */
    public static double uniformOpenZero(int bits) {
        return ((bits & 0xFFFFFFFFL) + 1.0) * 0x1.0p-32;
    }
}
