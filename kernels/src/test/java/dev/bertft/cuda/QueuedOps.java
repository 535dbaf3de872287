package dev.bertft.cuda;

import dev.bertft.tensor.DType;
import jcuda.driver.CUdeviceptr;

import java.util.ArrayDeque;
import java.util.List;
import java.util.function.Supplier;

/**
 * Another device's ops (the emulator's) run as a GPU runs its stream: launches, fills and copies
 * from the host are queued, and run in order only when the host waits for them ({@link #synchronize},
 * {@link #download}, or a later download's result, which runs the queue up to that copy and no
 * further). The emulator's own ops finish each call before they return, so a host that reads what
 * it has not waited for, or a later read that would return what work queued after it wrote, works
 * there and fails here, as it would on a GPU. {@link #waits} counts the host's waits, so a test can
 * show that queueing a step did not wait for the one before.
 */
final class QueuedOps implements DeviceOps {
    private final DeviceOps device;
    private final ArrayDeque<Runnable> queue = new ArrayDeque<>();
    /** How many queued items have run, and how many were queued, since the start. */
    private long ran, queued;
    private long waits;

    QueuedOps(DeviceOps device) {
        this.device = device;
    }

    /** How many times the host has waited for queued work so far. */
    long waits() {
        return waits;
    }

    /** How many queued items have not run yet. */
    int pending() {
        return queue.size();
    }

    private long enqueue(Runnable work) {
        queue.addLast(work);
        return ++queued;
    }

    /** Runs the queue through item {@code number} (counted from 1 since the start). */
    private void runThrough(long number) {
        waits++;
        while (ran < number) {
            queue.removeFirst().run();
            ran++;
        }
    }

    @Override
    public void launchShared(String kernel, int sharedBytes, int gridX, int gridY, int gridZ, int blockX, int blockY, Object... args) {
        Object[] kept = args.clone(); // structs passed by value: the caller may reuse their arrays
        for (int i = 0; i < kept.length; i++) if (kept[i] instanceof int[] v) kept[i] = v.clone();
        enqueue(() -> device.launchShared(kernel, sharedBytes, gridX, gridY, gridZ, blockX, blockY, kept));
    }

    @Override
    public void zero(CUdeviceptr p, long bytes) {
        enqueue(() -> device.zero(p, bytes));
    }

    /** The array as it is now, as the driver stages it in pinned memory before it returns. */
    @Override
    public void upload(Object array, DType dtype, int n, CUdeviceptr dst) {
        Object staged = switch (dtype) {
            case F32 -> ((float[]) array).clone();
            case F64 -> ((double[]) array).clone();
            case I32 -> ((int[]) array).clone();
            case BF16, F16 -> ((short[]) array).clone();
        };
        enqueue(() -> device.upload(staged, dtype, n, dst));
    }

    @Override
    public void uploadAll(List<Upload> copies) {
        for (Upload u : copies) upload(u.array(), u.dtype(), u.n(), u.dst());
    }

    @Override
    public Object download(CUdeviceptr src, DType dtype, int n) {
        runThrough(queued);
        return device.download(src, dtype, n);
    }

    @Override
    public Supplier<Object> downloadLater(CUdeviceptr src, DType dtype, int n) {
        Object[] copied = new Object[1];
        long number = enqueue(() -> copied[0] = device.download(src, dtype, n));
        return () -> {
            if (ran < number) runThrough(number);
            return copied[0];
        };
    }

    @Override
    public void synchronize() {
        runThrough(queued);
        device.synchronize();
    }
}
