package dev.bertft.cuda;

import dev.bertft.tensor.DType;
import jcuda.CudaException;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUstream;
import jcuda.driver.CUstreamCaptureMode;

import java.util.List;
import java.util.function.Supplier;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuGraphDestroy;
import static jcuda.driver.JCudaDriver.cuGraphExecDestroy;
import static jcuda.driver.JCudaDriver.cuGraphInstantiate;
import static jcuda.driver.JCudaDriver.cuGraphLaunch;
import static jcuda.driver.JCudaDriver.cuMemsetD8Async;
import static jcuda.driver.JCudaDriver.cuStreamBeginCapture;
import static jcuda.driver.JCudaDriver.cuStreamEndCapture;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

/**
 * {@link DeviceOps} on the real GPU: our loaded kernels, one stream, pinned staging for copies,
 * and graph capture of that stream. Capture is relaxed: the caching allocator may still call
 * cuMemAlloc for a block the captured step needs (a graph keeps the addresses; the allocator
 * keeps the blocks, see {@link CachingAllocator.Pool}).
 */
class DriverOps implements DeviceOps {
    private final Kernels kernels;
    private final PinnedStaging staging;
    private final CUstream stream;
    private boolean capturing;

    DriverOps(Kernels kernels, PinnedStaging staging, CUstream stream) {
        this.kernels = kernels;
        this.staging = staging;
        this.stream = stream;
    }

    @Override
    public void launchShared(String kernel, int sharedBytes, int gridX, int gridY, int gridZ, int blockX, int blockY, Object... args) {
        kernels.launch(kernel, sharedBytes, gridX, gridY, gridZ, blockX, blockY, args);
    }

    @Override
    public float[] deviceMillis(int calls, Runnable call) {
        DeviceOps.refuseWhileCapturing(capturing, "timing on the device");
        CUevent[] events = new CUevent[calls + 1];
        float[] ms = new float[calls];
        try {
            for (int i = 0; i <= calls; i++) {
                events[i] = new CUevent();
                cuEventCreate(events[i], 0);
            }
            cuEventRecord(events[0], stream);
            for (int i = 0; i < calls; i++) {
                call.run();
                cuEventRecord(events[i + 1], stream);
            }
            synchronize();
            float[] one = new float[1];
            for (int i = 0; i < calls; i++) {
                cuEventElapsedTime(one, events[i], events[i + 1]);
                ms[i] = one[0];
            }
            return ms;
        } catch (CudaException e) {
            throw new CudaFailureException("timing on the device: " + e.getMessage(), e);
        } finally {
            for (CUevent e : events) if (e != null) cuEventDestroy(e);
        }
    }

    @Override
    public void zero(CUdeviceptr p, long bytes) {
        try {
            cuMemsetD8Async(p, (byte) 0, bytes, stream);
        } catch (CudaException e) {
            throw new CudaFailureException("zeroing " + bytes + " bytes: " + e.getMessage(), e);
        }
    }

    @Override
    public void upload(Object array, DType dtype, int n, CUdeviceptr dst) {
        DeviceOps.refuseWhileCapturing(capturing, "a copy from the host");
        staging.upload(array, dtype, n, dst);
    }

    @Override
    public void uploadAll(List<Upload> copies) {
        DeviceOps.refuseWhileCapturing(capturing, "a copy from the host");
        staging.uploadAll(copies);
    }

    @Override
    public Object download(CUdeviceptr src, DType dtype, int n) {
        DeviceOps.refuseWhileCapturing(capturing, "a copy to the host");
        return staging.download(src, dtype, n);
    }

    @Override
    public Supplier<Object> downloadLater(CUdeviceptr src, DType dtype, int n) {
        DeviceOps.refuseWhileCapturing(capturing, "a copy to the host");
        return staging.downloadLater(src, dtype, n);
    }

    @Override
    public void synchronize() {
        DeviceOps.refuseWhileCapturing(capturing, "a wait for the GPU");
        try {
            cuStreamSynchronize(stream);
        } catch (CudaException e) {
            throw new CudaFailureException("waiting for the GPU: " + e.getMessage(), e);
        }
    }

    @Override
    public String kernelImage() {
        return kernels.image();
    }

    @Override
    public boolean canCapture() {
        return true;
    }

    @Override
    public void beginCapture() {
        try {
            cuStreamBeginCapture(stream, CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_RELAXED);
        } catch (CudaException e) {
            throw new CudaFailureException("starting a graph capture: " + e.getMessage(), e);
        }
        capturing = true;
    }

    @Override
    public DeviceGraph endCapture() {
        capturing = false;
        CUgraph graph = new CUgraph();
        CUgraphExec exec = new CUgraphExec();
        try {
            cuStreamEndCapture(stream, graph);
            cuGraphInstantiate(exec, graph, 0);
        } catch (CudaException e) {
            throw new CudaFailureException("ending a graph capture: " + e.getMessage(), e);
        }
        return new DeviceGraph() {
            @Override
            public void launch() {
                try {
                    cuGraphLaunch(exec, stream);
                } catch (CudaException e) {
                    throw new CudaFailureException("launching a captured step: " + e.getMessage(), e);
                }
            }

            @Override
            public void destroy() {
                cuGraphExecDestroy(exec);
                cuGraphDestroy(graph);
            }
        };
    }

    @Override
    public void abortCapture() {
        if (!capturing) return;
        capturing = false;
        CUgraph graph = new CUgraph();
        try {
            cuStreamEndCapture(stream, graph);
            cuGraphDestroy(graph);
        } catch (CudaException e) {
            // the capture was invalidated by what failed; the stream is out of capture mode either way
        }
    }
}
