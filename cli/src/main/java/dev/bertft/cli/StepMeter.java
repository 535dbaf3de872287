package dev.bertft.cli;

import java.lang.management.ManagementFactory;

/**
 * Times the steps of a benchmark phase and counts the heap bytes every JVM thread allocated
 * during each one. A warm CPU step allocates its activations and little else; hundreds of
 * megabytes a step mean a Vector API kernel runs as the API's boxed Java fallback (C2 did not
 * compile it into vector instructions), which made one JVM's steps 15–25 % slower than
 * another's with the same jar (bench/results/cpu-2026-12-02-s7.md). Counting costs a few
 * microseconds a step, so unlike Flight Recorder it cannot change what C2 does.
 */
final class StepMeter {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private final double[] seconds;
    private final long[] bytes;
    private int done;
    private long startNanos, startBytes;

    StepMeter(int steps) {
        seconds = new double[steps];
        bytes = new long[steps];
    }

    void start() {
        startBytes = allocatedBytes();
        startNanos = System.nanoTime();
    }

    void stop() {
        seconds[done] = (System.nanoTime() - startNanos) / 1e9;
        bytes[done++] = startBytes < 0 ? -1 : allocatedBytes() - startBytes;
    }

    double[] seconds() {
        return seconds.clone();
    }

    /** Bytes allocated in each step; -1 for every step where the JVM does not count them. */
    long[] bytes() {
        return bytes.clone();
    }

    /** The heap bytes all live threads have allocated so far, or -1 where the JVM does not count them. */
    private static long allocatedBytes() {
        if (!THREADS.isThreadAllocatedMemorySupported() || !THREADS.isThreadAllocatedMemoryEnabled()) return -1;
        long sum = 0;
        for (long b : THREADS.getThreadAllocatedBytes(THREADS.getAllThreadIds())) sum += Math.max(0, b);
        return sum;
    }
}
