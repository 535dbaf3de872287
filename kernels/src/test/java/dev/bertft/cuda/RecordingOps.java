package dev.bertft.cuda;

import dev.bertft.tensor.DType;
import jcuda.driver.CUdeviceptr;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Graph capture as the CUDA driver does it, over another device's ops (the emulator's): between
 * {@link #beginCapture} and {@link #endCapture} launches and fills are recorded, not run, and
 * copies to or from the host and waits fail; the graph's launch runs the recorded work again, with
 * the arguments it was recorded with. So a step that works captured here reads nothing from the
 * host inside and takes what changes from step to step from device memory, as on a GPU.
 */
final class RecordingOps implements DeviceOps {
    private final DeviceOps device;
    /** The work recorded by the capture in progress, or null. */
    private List<Runnable> recording;

    RecordingOps(DeviceOps device) {
        this.device = device;
    }

    @Override
    public void launchShared(String kernel, int sharedBytes, int gridX, int gridY, int gridZ, int blockX, int blockY, Object... args) {
        if (recording == null) {
            device.launchShared(kernel, sharedBytes, gridX, gridY, gridZ, blockX, blockY, args);
            return;
        }
        Object[] kept = args.clone(); // structs passed by value: the caller may reuse their arrays
        for (int i = 0; i < kept.length; i++) if (kept[i] instanceof int[] v) kept[i] = v.clone();
        recording.add(() -> device.launchShared(kernel, sharedBytes, gridX, gridY, gridZ, blockX, blockY, kept));
    }

    @Override
    public void zero(CUdeviceptr p, long bytes) {
        if (recording == null) device.zero(p, bytes);
        else recording.add(() -> device.zero(p, bytes));
    }

    @Override
    public void upload(Object array, DType dtype, int n, CUdeviceptr dst) {
        DeviceOps.refuseWhileCapturing(recording != null, "a copy from the host");
        device.upload(array, dtype, n, dst);
    }

    @Override
    public Object download(CUdeviceptr src, DType dtype, int n) {
        DeviceOps.refuseWhileCapturing(recording != null, "a copy to the host");
        return device.download(src, dtype, n);
    }

    @Override
    public Supplier<Object> downloadLater(CUdeviceptr src, DType dtype, int n) {
        DeviceOps.refuseWhileCapturing(recording != null, "a copy to the host");
        return device.downloadLater(src, dtype, n);
    }

    @Override
    public void synchronize() {
        DeviceOps.refuseWhileCapturing(recording != null, "a wait for the GPU");
        device.synchronize();
    }

    @Override
    public boolean canCapture() {
        return true;
    }

    @Override
    public void beginCapture() {
        if (recording != null) throw new IllegalStateException("captures do not nest");
        recording = new ArrayList<>();
    }

    @Override
    public DeviceGraph endCapture() {
        List<Runnable> work = List.copyOf(recording);
        recording = null;
        return new DeviceGraph() {
            private boolean destroyed;

            @Override
            public void launch() {
                if (destroyed) throw new IllegalStateException("launching a destroyed graph");
                work.forEach(Runnable::run);
            }

            @Override
            public void destroy() {
                destroyed = true;
            }
        };
    }

    @Override
    public void abortCapture() {
        recording = null;
    }
}
