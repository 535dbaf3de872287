package dev.bertft.cuda;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import jcuda.driver.CUdeviceptr;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The update steps of {@link CudaBackend#runStep}: a key's first step runs eagerly (it makes the
 * optimizer's moments and warms the allocator), its second is captured as a graph and launched,
 * and later ones replay the graph: the inputs copied into the captured ones, the host's work
 * ({@link HostWork}: ids turned into arrays, checks, the step's scalars) done again for them, then
 * one graph launch. At most {@code cap} graphs are kept, the least recently used dropped first;
 * cap 0, or a device without capture, runs every step eagerly. Eager, captured and replayed
 * steps launch the same kernels with the same arguments, so their results are the same bits.
 *
 * <p>A capture costs more than an eager step and pays only when the graph replays before it is
 * dropped. So a key is captured only while the last {@code 2 × cap} steps used at most {@code cap}
 * keys: with more (dynamic padding of texts of every length, prediction's length-sorted batches,
 * each a few tokens shorter than the last) the graphs would be dropped before they replay, and the
 * steps run eagerly instead; a run of one shape (the long texts cut to the maximum length) is
 * captured as soon as it repeats.
 *
 * <p>Whatever changes from step to step reaches the kernels through device memory written here
 * before the launch: the dropout stream's start (the Philox kernels add it to their offsets),
 * AdamW's learning-rate terms; what the host used to decide in the middle of a step (clipping,
 * skipping a non-finite update, the loss's row count) is decided on the device.
 */
final class StepGraphs {
    /** How many captured steps a backend keeps; 0 turns capture off. */
    static final String PROPERTY = "bertft.cuda.graphs";
    static final int DEFAULT_CAP = 4;
    /** Keys remembered as seen once, so a run with many shapes does not grow without end. */
    private static final int SEEN_LIMIT = 256;

    /** Host work an op needs: run at once outside a captured step, before each of its launches inside one. */
    interface HostWork {
        void run(HostSide side);
    }

    /** What host work may use. */
    interface HostSide {
        /** The values of {@code t}, an I32 tensor the step was given (or a contiguous view of one). */
        int[] ints(Tensor t);

        /** The running step's values; null outside {@link CudaBackend#runStep}. */
        Backend.StepValues values();

        /**
         * Copies {@code array} into {@code dst}'s memory, before the step's kernels run (in a
         * replay, with the replay's other copies after its host work: the array must not change).
         */
        void upload(Tensor dst, Object array);
    }

    /** A captured step: its graph, the tensors it reads its inputs from and writes its output to, its host work. */
    private record Captured(DeviceGraph graph, List<Tensor> slots, Tensor output, List<HostWork> hostWork, List<Tensor> hostTargets,
                            CachingAllocator<CUdeviceptr>.Pool pool) {
        void drop() {
            graph.destroy();
            pool.close();
        }
    }

    /**
     * The step in progress: its values, the given input behind each slot, and in a capture the host
     * work deferred and the tensors it writes (else null).
     */
    private record Running(Backend.StepValues values, Map<Object, Tensor> inputBehind, List<HostWork> deferred, List<Tensor> hostTargets,
                           Tensor philoxStart) {}

    /**
     * Counts for tests and {@code bench}, and the host's time in the replays, summed (nanoseconds):
     * copying the inputs into the captured ones, the host work and of it the copies it asks for
     * (made together after it, with one wait for the stream where they fit the pinned buffer), the
     * graph's launch.
     */
    record Counts(long eager, long captures, long replays, long evictions, long copyInNanos, long hostWorkNanos, long uploads,
                  long uploadNanos, long launchNanos) {}

    private final CudaBackend backend;
    private final DeviceOps ops;
    private final CachingAllocator<CUdeviceptr> allocator;
    private final int cap;
    private final LinkedHashMap<String, Captured> graphs = new LinkedHashMap<>(16, 0.75f, true);
    private final LinkedHashMap<String, Boolean> seen = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > SEEN_LIMIT;
        }
    };
    /** The keys of the last {@code 2 × cap} steps, oldest first. */
    private final ArrayDeque<String> recent = new ArrayDeque<>();
    private Running running;
    /** Eight zero bytes: the dropout stream's start outside a step (a kernel's offset is then the host's), "do not skip". */
    private final Tensor zeroWord;
    private long eager, captures, replays, evictions, copyInNanos, hostWorkNanos, uploads, uploadNanos, launchNanos;
    /** While a replay's host work runs, the copies it asks for, made together after it; else null. */
    private List<DeviceOps.Upload> replayUploads;

    StepGraphs(CudaBackend backend, DeviceOps ops, CachingAllocator<CUdeviceptr> allocator, int cap) {
        this.backend = backend;
        this.ops = ops;
        this.allocator = allocator;
        this.cap = ops.canCapture() ? cap : 0;
        zeroWord = backend.allocateUnscoped(DType.I32, 2);
        backend.upload(zeroWord, new int[2]);
    }

    /** The cap from {@value #PROPERTY}, {@value #DEFAULT_CAP} when unset. */
    static int capFromProperty() {
        return Integer.getInteger(PROPERTY, DEFAULT_CAP);
    }

    Counts counts() {
        return new Counts(eager, captures, replays, evictions, copyInNanos, hostWorkNanos, uploads, uploadNanos, launchNanos);
    }

    Backend.StepRun run(String key, List<Tensor> inputs, Backend.StepValues values, Function<List<Tensor>, Tensor> step) {
        if (running != null) throw new IllegalStateException("runStep inside a running step");
        recent.addLast(key);
        if (recent.size() > 2 * cap) recent.removeFirst();
        Captured c = graphs.get(key);
        if (c != null) {
            launch(c, inputs, values);
            replays++;
            return new Backend.StepRun(backend.contiguous(c.output()), true);
        }
        if (cap == 0 || seen.put(key, Boolean.TRUE) == null || new HashSet<>(recent).size() > cap) return eager(inputs, values, step);
        if (graphs.size() >= cap) {
            Map.Entry<String, Captured> eldest = graphs.entrySet().iterator().next();
            graphs.remove(eldest.getKey());
            eldest.getValue().drop();
            evictions++;
        }
        c = capture(inputs, values, step);
        graphs.put(key, c);
        launch(c, inputs, values);
        captures++;
        return new Backend.StepRun(backend.contiguous(c.output()), false);
    }

    private Backend.StepRun eager(List<Tensor> inputs, Backend.StepValues values, Function<List<Tensor>, Tensor> step) {
        Tensor start = backend.zeros(DType.I32, 2);
        running = new Running(values, Map.of(), null, null, start);
        try {
            writeStart(start).run(side(running));
            eager++;
            return new Backend.StepRun(step.apply(inputs), false);
        } finally {
            running = null;
        }
    }

    /** Records the step: nothing runs until the graph is launched. */
    private Captured capture(List<Tensor> inputs, Backend.StepValues values, Function<List<Tensor>, Tensor> step) {
        CachingAllocator<CUdeviceptr>.Pool pool = allocator.openPool();
        boolean done = false;
        try {
            List<Tensor> slots = new ArrayList<>(inputs.size());
            Map<Object, Tensor> behind = new IdentityHashMap<>();
            for (Tensor t : inputs) {
                Tensor slot = backend.allocateUnscoped(t.dtype(), t.shape());
                slots.add(slot);
                behind.put(slot.storage(), t);
            }
            Tensor start = backend.allocateUnscoped(DType.I32, 2);
            List<HostWork> hostWork = new ArrayList<>(List.of(writeStart(start)));
            List<Tensor> hostTargets = new ArrayList<>();
            running = new Running(values, behind, hostWork, hostTargets, start);
            ops.beginCapture();
            Tensor output;
            DeviceGraph graph;
            try {
                output = step.apply(slots);
                backend.detach(output);
                graph = ops.endCapture();
            } catch (RuntimeException | Error e) {
                ops.abortCapture();
                throw e;
            }
            done = true;
            return new Captured(graph, slots, output, List.copyOf(hostWork), List.copyOf(hostTargets), pool);
        } finally {
            running = null;
            pool.endCapture();
            if (!done) pool.close();
        }
    }

    private void launch(Captured c, List<Tensor> inputs, Backend.StepValues values) {
        long start = System.nanoTime();
        Map<Object, Tensor> behind = new IdentityHashMap<>();
        for (int i = 0; i < inputs.size(); i++) {
            Tensor slot = c.slots().get(i), in = inputs.get(i);
            if (!Arrays.equals(slot.shape(), in.shape()) || slot.dtype() != in.dtype()) {
                throw new IllegalArgumentException("runStep: input " + i + " is " + in + ", the captured step's is " + slot
                        + "; a key must fix the inputs' shapes");
            }
            backend.copyInPlace(slot, in);
            behind.put(slot.storage(), in);
        }
        long copied = System.nanoTime();
        // the host work's copies (some thirty small arrays a step) made together: one wait for the stream, not one each
        HostSide side = side(new Running(values, behind, null, null, null));
        List<DeviceOps.Upload> copies = new ArrayList<>();
        replayUploads = copies;
        try {
            for (HostWork w : c.hostWork()) w.run(side);
        } finally {
            replayUploads = null;
        }
        long uploading = System.nanoTime();
        backend.uploadAll(copies);
        long worked = System.nanoTime();
        uploads += copies.size();
        uploadNanos += worked - uploading;
        c.graph().launch();
        copyInNanos += copied - start;
        hostWorkNanos += worked - copied;
        launchNanos += System.nanoTime() - worked;
    }

    /** Host work that writes the step's dropout-stream start into {@code start} (two ints, low word first). */
    private static HostWork writeStart(Tensor start) {
        return side -> {
            long offset = side.values().rngOffset();
            side.upload(start, new int[] {(int) offset, (int) (offset >>> 32)});
        };
    }

    /** Runs {@code work} now, or, while a step is captured, at each of its launches. */
    void onHost(HostWork work) {
        if (capturing()) running.deferred().add(work);
        else work.run(side(running));
    }

    /** Where the kernels read the dropout stream's start: the running step's, or zero. */
    Tensor philoxStart() {
        return running != null ? running.philoxStart() : zeroWord;
    }

    /** Eight zero bytes on the device. */
    Tensor zeroWord() {
        return zeroWord;
    }

    boolean capturing() {
        return running != null && running.deferred() != null;
    }

    /** Keeps a tensor that the capture's host work writes for as long as the graph. */
    void keep(Tensor hostTarget) {
        running.hostTargets().add(hostTarget);
    }

    /** Fails inside a capture: for ops whose launches carry what changes from step to step. */
    void requireUncaptured(String what) {
        if (capturing()) throw new IllegalStateException(what + " cannot be captured in a graph");
    }

    /** The running step's values, or null. */
    Backend.StepValues values() {
        return running == null ? null : running.values();
    }

    private HostSide side(Running r) {
        return new HostSide() {
            @Override
            public int[] ints(Tensor t) {
                Tensor given = r == null ? null : r.inputBehind().get(t.storage());
                if (given == null) {
                    if (r == null) return backend.indices(t);
                    // inside a step: a constant it uploaded itself, else (eager only) read back
                    int[] uploaded = backend.uploadedValues(t);
                    if (uploaded != null) return uploaded;
                    if (r.inputBehind().isEmpty()) return backend.indices(t);
                    throw new IllegalStateException("a captured step needs on the host the values of a tensor it computes itself");
                }
                int[] all = backend.indices(given);
                return t.numel() == all.length ? all : Arrays.copyOfRange(all, t.offset(), t.offset() + t.numel());
            }

            @Override
            public Backend.StepValues values() {
                return r == null ? null : r.values();
            }

            @Override
            public void upload(Tensor dst, Object array) {
                if (replayUploads != null) replayUploads.add(backend.uploadOf(dst, array));
                else backend.upload(dst, array);
            }
        };
    }
}
