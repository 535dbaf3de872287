package dev.bertft.tensor.cpu;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed set of worker threads, one per core by default. Work is cut into chunks whose
 * boundaries depend only on the problem size and the grain, never on timing, and every output
 * element is written by exactly one chunk; so results are bit-identical run to run.
 *
 * <p>A training step makes thousands of parallel calls, many of them a few microseconds of work.
 * An executor's queue and a latch per call cost tens of microseconds in thread wake-ups, so
 * instead each worker watches a generation counter: it spins for a short while after each call
 * (the next op usually follows within microseconds) and only then parks, and the caller unparks
 * only the workers that did park.
 */
public final class Parallel implements AutoCloseable {

    /** Body of a parallel loop over the half-open range [from, to). */
    @FunctionalInterface
    public interface Range {
        void run(int from, int to);
    }

    /**
     * How long a worker waiting for the next loop, or a caller waiting for its workers, spins
     * before it parks. Waking a parked thread took about 100 µs on this VM (its idle vCPU has to
     * be scheduled again), against a few microseconds for a spinning one. In a MiniLM 8 × 128
     * training step (about 120 parallel loops) 9 gaps between two loops in 10 were under 200 µs,
     * yet the old spin (at most 50 µs, halved after every park) had shrunk so far that over half
     * of the loops began with a parked worker. So each thread learns its spin from the waits it
     * sees: a wait that a spin of up to {@link #MAX_SPIN_NANOS} would have covered raises the
     * spin to cover it next time, and a longer one (serial work between the loops, or a machine
     * whose other cores are busy, where a spin mostly waits for a thread that is not running)
     * halves it, down to {@link #MIN_SPIN_NANOS}.
     */
    static final long MAX_SPIN_NANOS = 250_000, MIN_SPIN_NANOS = 1_000;

    /** One thread's spin before parking, learned from its waits as {@link #MAX_SPIN_NANOS} says. */
    static final class Spin {
        private long nanos = MAX_SPIN_NANOS;

        long nanos() {
            return nanos;
        }

        /**
         * One more turn of a wait that began at {@code start}, unless its spin is over: a pause,
         * and every 64th turn a look at the clock and a yield, so a thread that has work for this
         * core (the JIT's compiler while the kernels warm up, a caller's own threads) gets it. A
         * spin that only paused made the emulator's parity tests, which interleave CPU ops with
         * JIT-heavy emulated ones, 5–10 % slower.
         */
        boolean spin(long start, int spins) {
            if ((spins & 63) != 0) {
                Thread.onSpinWait();
                return true;
            }
            if (System.nanoTime() - start >= nanos) return false;
            Thread.yield();
            return true;
        }

        /** After a wait of that many nanoseconds: the next spin covers one as long, unless it was too long to spin through. */
        void waited(long wait) {
            nanos = wait <= MAX_SPIN_NANOS ? Math.max(nanos, Math.min(MAX_SPIN_NANOS, 2 * wait)) : Math.max(MIN_SPIN_NANOS, nanos / 2);
        }
    }

    /** True on this pool's workers: a nested loop runs inline instead of waiting on its own pool. */
    private static final ThreadLocal<Boolean> IN_WORKER = ThreadLocal.withInitial(() -> false);

    private final int threads;
    private final Worker[] workers;
    /** Held by the one caller whose loop the workers run; a concurrent caller runs its loop inline. */
    private final AtomicBoolean busy = new AtomicBoolean();
    /** The latest loop; a new object each call, so a worker never mistakes one loop for the next. */
    private volatile Loop loop;
    private volatile boolean closed;
    private volatile Thread waitingCaller;

    /** One published loop; the count is how many of its worker chunks have not finished. */
    @SuppressWarnings("serial")
    private static final class Loop extends AtomicInteger {
        final Range body;
        final int n, chunks;
        volatile Throwable failure;

        Loop(Range body, int n, int chunks) {
            super(chunks - 1);
            this.body = body;
            this.n = n;
            this.chunks = chunks;
        }

        /** Runs chunk c, keeping the first failure for the caller. */
        void run(int c) {
            try {
                body.run(chunkStart(c, n, chunks), chunkStart(c + 1, n, chunks));
            } catch (Throwable t) {
                synchronized (this) {
                    if (failure == null) failure = t;
                }
            }
        }
    }

    public Parallel(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        this.threads = threads;
        this.workers = new Worker[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker(i + 1);
            workers[i].thread.start();
        }
    }

    public int threads() {
        return threads;
    }

    /**
     * Runs {@code body} over [0, n) in chunks of at least {@code grain} items, at most one chunk
     * per thread. The caller's thread runs the first chunk.
     */
    public void forRange(int n, int grain, Range body) {
        if (n <= 0) return;
        int chunks = Math.min(threads, Math.max(1, n / Math.max(1, grain)));
        if (chunks == 1 || IN_WORKER.get() || !busy.compareAndSet(false, true)) {
            body.run(0, n);
            return;
        }
        Loop l = new Loop(body, n, chunks);
        try {
            loop = l;
            for (int c = 1; c < chunks; c++) workers[c - 1].wake();
            IN_WORKER.set(true);
            try {
                l.run(0);
            } finally {
                IN_WORKER.set(false);
            }
            awaitWorkers(l);
        } finally {
            busy.set(false);
        }
        Throwable t = l.failure;
        if (t instanceof RuntimeException re) throw re;
        if (t instanceof Error err) throw err;
        if (t != null) throw new IllegalStateException(t);
    }

    /** Where chunk c of [0, n) cut into {@code chunks} starts. */
    private static int chunkStart(int c, int n, int chunks) {
        return (int) ((long) n * c / chunks);
    }

    /** The caller's spin; one caller at a time waits. */
    private final Spin callerSpin = new Spin();

    private void awaitWorkers(Loop l) {
        long start = System.nanoTime();
        boolean parkedOnce = false;
        for (int spins = 0; l.get() > 0; spins++) {
            if (!parkedOnce && callerSpin.spin(start, spins)) continue;
            parkedOnce = true;
            waitingCaller = Thread.currentThread();
            if (l.get() > 0) LockSupport.park(this);
            waitingCaller = null;
        }
        callerSpin.waited(System.nanoTime() - start);
    }

    @Override
    public void close() {
        closed = true;
        for (Worker w : workers) LockSupport.unpark(w.thread);
    }

    /** Runs chunk {@code index} of every loop that has that many chunks. */
    private final class Worker implements Runnable {
        final int index;
        final Thread thread;
        volatile boolean parked;
        private final Spin spin = new Spin();

        Worker(int index) {
            this.index = index;
            this.thread = new Thread(this, "bert-ft-cpu");
            thread.setDaemon(true);
        }

        void wake() {
            if (parked) LockSupport.unpark(thread);
        }

        @Override
        public void run() {
            IN_WORKER.set(true);
            // Not the current loop: one published before this thread got here is still its to run.
            Loop seen = null;
            while (true) {
                Loop l = awaitNext(seen);
                if (l == null) return;
                seen = l;
                if (index >= l.chunks) continue; // this loop has fewer chunks than threads
                l.run(index);
                if (l.decrementAndGet() == 0) {
                    Thread caller = waitingCaller;
                    if (caller != null) LockSupport.unpark(caller);
                }
            }
        }

        /** Spins, then parks, until a loop other than {@code seen} is published; null once closed. */
        private Loop awaitNext(Loop seen) {
            long start = System.nanoTime();
            boolean parkedOnce = false;
            for (int spins = 0; ; spins++) {
                if (closed) return null;
                Loop l = loop;
                if (l != seen) {
                    spin.waited(System.nanoTime() - start);
                    return l;
                }
                if (!parkedOnce && spin.spin(start, spins)) continue;
                parkedOnce = true;
                parked = true;
                if (loop == seen && !closed) LockSupport.park(this);
                parked = false;
            }
        }
    }
}
