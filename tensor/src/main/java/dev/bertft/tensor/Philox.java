package dev.bertft.tensor;

/**
 * Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
 * counter-based generator, so element i of a draw is a pure function of (seed, offset, i).
 * Any thread, and later any GPU thread, computes the same mask bits for the same element.
 *
 * <p>Word i of a draw keyed by (seed, offset) is lane (i mod 4) of
 * philox(key = seed, counter = (i/4 low, i/4 high, offset low, offset high)); dropout takes
 * 16 bits an element from it ({@link #dropoutDraw}).
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
     * Element {@code index}'s dropout draw, a uniform integer in [0, 2¹⁶): half {@code index mod 2}
     * (the low half first) of word {@code index / 2} of the (seed, offset) stream, word w being lane
     * w mod 4 of block w / 4. One block serves eight elements.
     *
     * <p>Why 16 bits: the keep test compares the draw with p in steps of 2⁻¹⁶, so p = 0.1 acts as
     * ⌈0.1·2¹⁶⌉/2¹⁶ = 0.100006, a relative error of 6·10⁻⁵, against a keep-rate spread of
     * √(0.09/n) = 2.4·10⁻⁴ within a single MiniLM step's 32×128×384 hidden dropout; and since
     * 1/(1−p) rescales the survivors, the mean activation is off by 7·10⁻⁶. PyTorch compares a
     * full-precision uniform (24 or more bits) and pays a whole word per element; 8 bits would
     * make p = 0.1 act as 0.1016, a bias as large as the spread of a 100-element row.
     */
    public static int dropoutDraw(long seed, long offset, long index) {
        int[] bits = new int[4];
        block(seed, offset, index >>> 3, bits);
        return half(bits[(int) ((index >>> 1) & 3)], index);
    }

    /** {@link #dropoutDraw} for elements [first, first + n) into out[0..n), a block computed once for its eight elements. */
    public static void dropoutDraws(long seed, long offset, long first, int[] out, int n) {
        int[] bits = new int[4];
        long blk = first >> 3;
        block(seed, offset, blk, bits);
        for (int j = 0; j < n; j++) {
            long idx = first + j;
            if (idx >> 3 != blk) {
                blk = idx >> 3;
                block(seed, offset, blk, bits);
            }
            out[j] = half(bits[(int) ((idx >>> 1) & 3)], idx);
        }
    }

    /** The 16-bit half of {@code word} that element {@code index} draws. */
    private static int half(int word, long index) {
        return (word >>> ((index & 1) << 4)) & 0xFFFF;
    }

    /** Dropout's rule for one element: dropped when its draw, as a fraction of 2¹⁶, falls below p. */
    public static boolean kept(int draw, float p) {
        return draw * 0x1.0p-16f >= p;
    }

    /** {@link #kept}'s rule as one integer comparison for tight loops: kept exactly when {@code draw >= keepThreshold(p)}. */
    public static int keepThreshold(float p) {
        return (int) Math.ceil(p * 0x1p16f);
    }

    /** A uniform float in [0, 1) from the top 24 bits of a 32-bit draw. */
    public static float uniform(int bits) {
        return (bits >>> 8) * 0x1.0p-24f;
    }

    /** A uniform double in (0, 1] from a 32-bit draw, safe to take the log of. */
    public static double uniformOpenZero(int bits) {
        return ((bits & 0xFFFFFFFFL) + 1.0) * 0x1.0p-32;
    }
}
