package dev.bertft.tensor.cpu;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A fixed pool of worker threads, one per core by default. Work is cut into chunks whose
 * boundaries depend only on the problem size and the grain, never on timing, and every output
 * element is written by exactly one chunk; so results are bit-identical run to run.
 */
public final class Parallel implements AutoCloseable {

    /** Body of a parallel loop over the half-open range [from, to). */
    @FunctionalInterface
    public interface Range {
        void run(int from, int to);
    }

    /** True on this pool's workers: a nested loop runs inline instead of waiting on its own pool. */
    private static final ThreadLocal<Boolean> IN_WORKER = ThreadLocal.withInitial(() -> false);

    private final int threads;
    private final java.util.concurrent.ExecutorService pool;

    public Parallel(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        this.threads = threads;
        this.pool = threads == 1 ? null : java.util.concurrent.Executors.newFixedThreadPool(threads - 1, r -> {
            Thread t = new Thread(() -> {
                IN_WORKER.set(true);
                r.run();
            }, "bert-ft-cpu");
            t.setDaemon(true);
            return t;
        });
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
        if (chunks == 1 || IN_WORKER.get()) {
            body.run(0, n);
            return;
        }
        CountDownLatch done = new CountDownLatch(chunks - 1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (int c = 1; c < chunks; c++) {
            int from = (int) ((long) n * c / chunks), to = (int) ((long) n * (c + 1) / chunks);
            pool.execute(() -> {
                try {
                    body.run(from, to);
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    done.countDown();
                }
            });
        }
        IN_WORKER.set(true);
        try {
            body.run(0, (int) ((long) n / chunks));
        } catch (Throwable t) {
            failure.compareAndSet(null, t);
        } finally {
            IN_WORKER.set(false);
        }
        try {
            done.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for worker threads", e);
        }
        Throwable t = failure.get();
        if (t instanceof RuntimeException re) throw re;
        if (t instanceof Error err) throw err;
        if (t != null) throw new IllegalStateException(t);
    }

    @Override
    public void close() {
        if (pool != null) pool.shutdownNow();
    }
}
