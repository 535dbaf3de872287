package dev.bertft.cuda;

import jcuda.CudaException;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuDeviceTotalMem;
import static jcuda.driver.JCudaDriver.cuDriverGetVersion;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuStreamCreate;

/**
 * Opening a GPU for a {@link CudaBackend}: the driver, the device's attributes, its context and
 * stream, the kernel modules and the GEMM path; every driver failure on the way becomes a
 * {@link CudaUnavailableException} saying why in a line. JCuda's classes load only here.
 */
final class CudaDriver {
    private CudaDriver() {
    }

    /** Queries the device, loads the kernels, creates the stream and picks the GEMM path. */
    private static CudaBackend create(int ordinal, CUdevice device, CUcontext context) {
        byte[] name = new byte[256];
        cuDeviceGetName(name, name.length, device);
        int len = 0;
        while (len < name.length && name[len] != 0) len++;
        int[] v = new int[1];
        cuDriverGetVersion(v);
        long[] mem = new long[1];
        cuDeviceTotalMem(mem, device);
        DeviceInfo info = new DeviceInfo(new String(name, 0, len, StandardCharsets.US_ASCII), v[0],
                attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR),
                attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT), mem[0]);
        if (info.ccMajor() < 8) {
            throw new CudaUnavailableException("GPU " + ordinal + " (" + info.name() + ") has compute capability " + info.ccMajor() + "."
                    + info.ccMinor() + "; the kernels need 8.0 or newer (TF32 tensor cores)");
        }
        CUstream stream = new CUstream();
        cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING);
        DeviceOps ops = ProfiledOps.forDriver(new Kernels(stream, info.ccMajor(), info.ccMinor()), new PinnedStaging(stream), stream);
        Selected selected = selectGemm(ops, stream);
        return new CudaBackend(ordinal, context, info, ops, new DriverMemory(), selected.own, selected.chosen);
    }

    private static int attribute(CUdevice device, int attribute) {
        int[] v = new int[1];
        cuDeviceGetAttribute(v, attribute, device);
        return v[0];
    }

    private record Selected(TensorCoreGemm own, GemmEngine chosen) {}

    /** cuBLAS when libcublas.so.12 is found and loads; our kernel otherwise, saying why. */
    private static Selected selectGemm(DeviceOps kernels, CUstream stream) {
        CublasLibrary.Search search = CublasLibrary.find(System.getenv(), System.getProperty("user.home"), CublasLibrary.REAL);
        if (search.found().isEmpty()) {
            TensorCoreGemm own = new TensorCoreGemm(kernels, CublasLibrary.FILE + " not found (searched "
                    + search.searched().size() + " directories: LD_LIBRARY_PATH, CUDA_HOME, /usr/local/cuda*, Python nvidia/cublas, system)");
            return new Selected(own, own);
        }
        Path lib = search.found().get();
        try {
            CublasGemm cublas = CublasGemm.open(lib, stream);
            return new Selected(new TensorCoreGemm(kernels, "not used: cuBLAS loaded"), cublas);
        } catch (LinkageError | RuntimeException e) {
            TensorCoreGemm own = new TensorCoreGemm(kernels, lib + " found but did not load: " + e);
            return new Selected(own, own);
        }
    }

    /**
     * Opens GPU {@code device}: driver, context, stream, kernel modules, GEMM path.
     *
     * @throws CudaUnavailableException saying why the GPU cannot be used
     */
    static synchronized CudaBackend open(int device) {
        if (driverLoadFailure != null) throw new CudaUnavailableException(driverLoadFailure.getMessage(), driverLoadFailure);
        try {
            JCudaDriver.setExceptionsEnabled(true);
        } catch (LinkageError e) {
            // JCuda's class initialisation fails once; later uses only say "could not initialize class"
            driverLoadFailure = noDriver(e);
            throw driverLoadFailure;
        }
        try {
            cuInit(0);
        } catch (CudaException e) {
            String msg = String.valueOf(e.getMessage());
            if (msg.contains("NO_DEVICE")) throw new CudaUnavailableException("no CUDA device: the driver sees no GPU (" + msg + ")", e);
            if (msg.contains("INSUFFICIENT_DRIVER") || msg.contains("COMPAT")) {
                throw new CudaUnavailableException("CUDA driver too old: need NVIDIA driver " + Kernels.MINIMUM_DRIVER + " or newer ("
                        + msg + ")", e);
            }
            throw new CudaUnavailableException("CUDA driver failed to initialise: " + msg, e);
        }
        try {
            int[] count = new int[1];
            cuDeviceGetCount(count);
            if (device < 0 || device >= count[0]) {
                throw new CudaUnavailableException(count[0] == 0 ? "no CUDA device: the driver sees no GPU"
                        : "no CUDA device " + device + ": the driver sees " + count[0] + " (0.." + (count[0] - 1) + ")");
            }
            CUdevice dev = new CUdevice();
            cuDeviceGet(dev, device);
            CUcontext ctx = new CUcontext();
            cuDevicePrimaryCtxRetain(ctx, dev);
            cuCtxSetCurrent(ctx);
            CudaBackend backend = create(device, dev, ctx);
            backend.bind();
            return backend;
        } catch (CudaException e) {
            throw new CudaUnavailableException("opening CUDA device " + device + " failed: " + e.getMessage(), e);
        }
    }

    private static CudaUnavailableException driverLoadFailure;

    /**
     * JCuda's driver library could not load: almost always libcuda.so.1 is missing. JCuda's own
     * message spans many lines of nested stack traces; the exception keeps it as the cause.
     */
    private static CudaUnavailableException noDriver(Throwable e) {
        StringBuilder all = new StringBuilder();
        for (Throwable c = e; c != null; c = c.getCause()) all.append(c.getMessage()).append('\n');
        if (all.indexOf("libcuda") >= 0) {
            return new CudaUnavailableException("no CUDA driver: libcuda.so.1 could not be loaded (is the NVIDIA driver installed?)", e);
        }
        String first = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
        return new CudaUnavailableException("JCuda's native driver library could not be loaded on " + System.getProperty("os.name")
                + "/" + System.getProperty("os.arch") + ": " + first, e);
    }
}
