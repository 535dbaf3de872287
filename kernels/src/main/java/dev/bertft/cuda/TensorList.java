package dev.bertft.cuda;

import dev.bertft.tensor.Tensor;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The TensorList kernel parameter of common.cuh: up to {@link #MAX} entries of up to four device
 * pointers each (a parameter, its gradient, its moments) and their element count, with the grid
 * block where each entry starts. One launch then updates a whole group of parameters, where a
 * launch per parameter would leave the GPU waiting on the host for 200 small kernels a step.
 * Passed by value as ints: count, block_start[MAX + 1], n[MAX] (as longs), ptr[4][MAX].
 *
 * <p>Entries go to {@code launch} 48 at a time: {@link #add} hands over a full list and starts
 * again, {@link #flush} hands over the rest. Until then the list holds on to the tensors whose
 * addresses it carries: a dense copy made for the list would otherwise be unreachable once its
 * address is taken, and an allocation before the launch could hand its memory to the next tensor.
 */
final class TensorList {
    static final int MAX = 48;
    /** Elements per block in the list kernels (LIST_CHUNK in common.cuh). */
    static final int CHUNK = 4096;
    private static final int STARTS = 1, COUNTS = STARTS + MAX + 1, POINTERS = COUNTS + 2 * MAX, INTS = POINTERS + 2 * 4 * MAX;

    private final int[] ints = new int[INTS];
    private final List<Tensor> operands = new ArrayList<>();
    private final Function<Tensor, CUdeviceptr> pointer;
    private final Consumer<TensorList> launch;
    private int count;

    /** A list whose entries' addresses {@code pointer} gives and which {@code launch} runs. */
    TensorList(Function<Tensor, CUdeviceptr> pointer, Consumer<TensorList> launch) {
        this.pointer = pointer;
        this.launch = launch;
    }

    /** Adds an entry of up to four operands of the same size; a full list is launched. */
    void add(Tensor... entry) {
        long n = entry[0].numel();
        long blocks = (long) ints[STARTS + count] + (n + CHUNK - 1) / CHUNK;
        if (blocks > Integer.MAX_VALUE) throw new IllegalArgumentException("tensor list of more than 2^31 blocks");
        putLong(COUNTS + 2 * count, n);
        for (int k = 0; k < entry.length; k++) {
            putLong(POINTERS + 2 * (k * MAX + count), address(pointer.apply(entry[k])));
            operands.add(entry[k]);
        }
        count++;
        ints[0] = count;
        ints[STARTS + count] = (int) blocks;
        if (count == MAX) flush();
    }

    /** Launches the entries not launched yet, if any. */
    void flush() {
        if (count == 0) return;
        launch.accept(this);
        Arrays.fill(ints, 0);
        operands.clear();
        count = 0;
    }

    /** Grid blocks the entries need together. */
    int blocks() {
        return ints[STARTS + count];
    }

    int[] parameter() {
        return ints.clone();
    }

    private void putLong(int at, long v) { // little-endian, as the GPU and x86-64 read it
        ints[at] = (int) v;
        ints[at + 1] = (int) (v >>> 32);
    }

    // JCuda keeps a device pointer's address private; the list must carry it as a number.
    private static final Field NATIVE_POINTER, BYTE_OFFSET;

    static {
        try {
            NATIVE_POINTER = NativePointerObject.class.getDeclaredField("nativePointer");
            BYTE_OFFSET = Pointer.class.getDeclaredField("byteOffset");
            NATIVE_POINTER.setAccessible(true);
            BYTE_OFFSET.setAccessible(true);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The address a device pointer stands for. */
    static long address(Pointer p) {
        try {
            return (long) NATIVE_POINTER.get(p) + (long) BYTE_OFFSET.get(p);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }
}
