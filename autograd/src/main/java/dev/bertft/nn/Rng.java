package dev.bertft.nn;

/**
 * The random stream of a run: a seed and a running offset. Each draw (a dropout mask, an
 * initializer) takes the next offset, and Philox(seed, offset) gives its elements; saving
 * (seed, offset) in a checkpoint is all it takes to resume the exact same stream.
 */
public final class Rng {
    private final long seed;
    private long offset;

    public Rng(long seed) {
        this(seed, 0);
    }

    public Rng(long seed, long offset) {
        this.seed = seed;
        this.offset = offset;
    }

    public long seed() {
        return seed;
    }

    public long offset() {
        return offset;
    }

    /** Moves the stream to {@code offset}, as when resuming from a checkpoint that saved {@link #offset()}. */
    public void seek(long offset) {
        this.offset = offset;
    }

    /** The offset for the next draw. */
    public long next() {
        return offset++;
    }
}
