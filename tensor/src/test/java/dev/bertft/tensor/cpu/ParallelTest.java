package dev.bertft.tensor.cpu;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pool's contract: every index once, chunks cut by size alone, failures and nesting, many calls back to back. */
class ParallelTest {

    @Test
    void everyIndexRunsOnceInChunksThatDependOnlyOnTheSize() {
        try (Parallel pool = new Parallel(3)) {
            for (int call = 0; call < 2000; call++) {
                int n = 1 + call % 97;
                int[] hits = new int[n];
                List<int[]> chunks = java.util.Collections.synchronizedList(new ArrayList<>());
                pool.forRange(n, 8, (from, to) -> {
                    chunks.add(new int[] {from, to});
                    for (int i = from; i < to; i++) hits[i]++;
                });
                int[] ones = new int[n];
                java.util.Arrays.fill(ones, 1);
                assertArrayEquals(ones, hits, "n = " + n);
                // n / chunks items each, cut at n·c / chunks: 3 chunks for n ≥ 24, fewer below
                int expected = Math.min(3, Math.max(1, n / 8));
                assertEquals(expected, chunks.size(), "chunks of n = " + n);
                for (int[] c : chunks) {
                    int index = (int) Math.round((double) c[0] * expected / n);
                    assertEquals((int) ((long) n * index / expected), c[0]);
                    assertEquals((int) ((long) n * (index + 1) / expected), c[1]);
                }
            }
        }
    }

    @Test
    void aLoopBelowTwoGrainsRunsOnTheCallersThread() {
        try (Parallel pool = new Parallel(2)) {
            Set<Thread> ran = ConcurrentHashMap.newKeySet();
            pool.forRange(100, 64, (from, to) -> ran.add(Thread.currentThread()));
            assertEquals(Set.of(Thread.currentThread()), ran);
            pool.forRange(128, 64, (from, to) -> ran.add(Thread.currentThread()));
            assertEquals(2, ran.size(), "two grains' worth goes to both threads");
        }
    }

    @Test
    void aWorkersFailureReachesTheCallerAndThePoolKeepsWorking() {
        try (Parallel pool = new Parallel(2)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.forRange(10, 1, (from, to) -> {
                if (from > 0) throw new IllegalStateException("chunk at " + from);
            }));
            assertEquals("chunk at 5", e.getMessage());
            AtomicInteger sum = new AtomicInteger();
            pool.forRange(10, 1, (from, to) -> sum.addAndGet(to - from));
            assertEquals(10, sum.get());
        }
    }

    @Test
    void aNestedLoopRunsInlineOnItsThread() {
        try (Parallel pool = new Parallel(2)) {
            int[] inner = new int[2];
            pool.forRange(2, 1, (from, to) -> {
                Thread outer = Thread.currentThread();
                pool.forRange(100, 1, (f, t) -> {
                    assertSame(outer, Thread.currentThread());
                    inner[from] += t - f;
                });
            });
            assertArrayEquals(new int[] {100, 100}, inner);
        }
    }

    @Test
    void callersOnSeveralThreadsAllGetTheirWholeLoop() throws InterruptedException {
        try (Parallel pool = new Parallel(2)) {
            AtomicInteger wrong = new AtomicInteger();
            List<Thread> callers = new ArrayList<>();
            for (int c = 0; c < 3; c++) {
                Thread t = new Thread(() -> {
                    for (int call = 0; call < 3000; call++) {
                        AtomicInteger count = new AtomicInteger();
                        pool.forRange(64, 1, (from, to) -> count.addAndGet(to - from));
                        if (count.get() != 64) wrong.incrementAndGet();
                    }
                });
                callers.add(t);
                t.start();
            }
            for (Thread t : callers) t.join();
            assertEquals(0, wrong.get());
        }
    }

    @Test
    void aWorkerThatSleptPastItsSpinStillTakesItsChunk() throws InterruptedException {
        try (Parallel pool = new Parallel(2)) {
            for (int call = 0; call < 5; call++) {
                Thread.sleep(5); // long past the spin: the worker has parked
                Set<Thread> ran = ConcurrentHashMap.newKeySet();
                pool.forRange(2, 1, (from, to) -> ran.add(Thread.currentThread()));
                assertEquals(2, ran.size());
                assertTrue(ran.contains(Thread.currentThread()));
            }
        }
    }

    @Test
    void aLoopPublishedBeforeTheWorkersFirstRunStillGetsThemAll() {
        // A worker that starts after the pool's first loop was published must take that loop, not treat
        // it as one it had already seen (that hung PhiloxTest: the caller waited for a chunk nobody ran).
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (int pool = 0; pool < 300; pool++) {
                try (Parallel p = new Parallel(3)) {
                    AtomicInteger ran = new AtomicInteger();
                    p.forRange(3, 1, (from, to) -> ran.addAndGet(to - from));
                    assertEquals(3, ran.get());
                }
            }
        });
    }

    /**
     * The spin before parking follows the waits: a wait a spin could have covered raises it to
     * twice that wait (never above the cap, never lowering it), a longer one halves it, down to
     * the floor; so short gaps between loops stop costing a park, and long pauses stop costing a
     * spin.
     */
    @Test
    void theSpinBeforeParkingCoversShortWaitsAndShrinksOnLongOnes() {
        Parallel.Spin spin = new Parallel.Spin();
        assertEquals(Parallel.MAX_SPIN_NANOS, spin.nanos(), "a new thread spins the longest");
        spin.waited(Parallel.MAX_SPIN_NANOS + 1);
        assertEquals(Parallel.MAX_SPIN_NANOS / 2, spin.nanos(), "a wait past the cap halves it");
        for (int i = 0; i < 40; i++) spin.waited(10 * Parallel.MAX_SPIN_NANOS);
        assertEquals(Parallel.MIN_SPIN_NANOS, spin.nanos(), "long pauses bring it down to the floor");
        spin.waited(40_000);
        assertEquals(80_000, spin.nanos(), "a 40 µs gap: the next spin covers it twice over");
        spin.waited(10_000);
        assertEquals(80_000, spin.nanos(), "a shorter wait leaves it");
        spin.waited(Parallel.MAX_SPIN_NANOS - 1);
        assertEquals(Parallel.MAX_SPIN_NANOS, spin.nanos(), "never above the cap");
    }
}
