package dev.bertft.bench;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

/**
 * Calls and the calling thread's CPU nanoseconds, which JMH sums per iteration over threads:
 * work per CPU-second holds up when other processes share the cores (wall time then mostly
 * measures the scheduler).
 */
@AuxCounters(AuxCounters.Type.EVENTS)
@State(Scope.Thread)
public class CpuTimeCounters {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    public long calls;
    public long cpuNanos;

    /** This thread's CPU time so far, to pass back to {@link #add}. */
    static long now() {
        return THREADS.getCurrentThreadCpuTime();
    }

    /** Counts one call that started at {@code start} (from {@link #now}). */
    void add(long start) {
        cpuNanos += now() - start;
        calls++;
    }
}
