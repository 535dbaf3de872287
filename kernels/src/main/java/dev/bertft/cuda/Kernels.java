package dev.bertft.cuda;

import jcuda.CudaException;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static jcuda.driver.JCudaDriver.cuFuncSetAttribute;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;

/**
 * Our CUDA kernels: the modules under dev/bertft/cuda/ on the class path, loaded once, and a
 * launch helper that looks kernels up by name. A jar built where nvcc exists carries each module
 * as a fatbin (scripts/build-fatbin.sh): machine code for sm_80, sm_86, sm_89 and sm_90a, from
 * which the driver takes the GPU's own, and compute_90 PTX it JIT-compiles on newer GPUs. Every
 * jar carries the committed PTX (scripts/build-ptx.sh), used when there is no fatbin, when the
 * fatbins were built from other sources than it ({@code fatbin.sha256} against
 * {@code sources.sha256}), or when the driver refuses one.
 *
 * <p>The PTX is ISA 8.0 for compute_80 (nvcc 13's output, relabelled from 9.0 by build-ptx.sh):
 * it runs on sm_80 and newer GPUs and needs a CUDA 12 driver, 525.60.13 or newer. An older
 * driver rejects it with CUDA_ERROR_UNSUPPORTED_PTX_VERSION, reported here in those words.
 */
final class Kernels {
    /** One module per .cu file. */
    static final List<String> MODULES = List.of("elementwise", "random", "reduce", "softmax", "layernorm",
            "embedding", "adamw", "gemm", "gemm_half", "attention");
    static final String MINIMUM_DRIVER = "525.60.13 (CUDA 12.0)";
    static final String PTX_TARGET = "PTX ISA 8.0, compute_80";
    static final String PACKAGE = "/dev/bertft/cuda/";

    private static final Pattern ENTRY = Pattern.compile("\\.entry\\s+(\\w+)\\s*\\(([^)]*)\\)");
    private static final Pattern PARAM = Pattern.compile("\\.param\\s+(?:\\.align\\s+\\d+\\s+)?\\.(\\w+)(?:\\s+\\.ptr[^,]*?)?\\s+\\w+(?:\\[(\\d+)\\])?");

    /** Dynamic shared memory a launch may use without asking the driver first. */
    private static final int DEFAULT_SHARED_LIMIT = 48 << 10;

    private final Map<String, CUfunction> functions = new HashMap<>();
    private final Map<String, Integer> sharedLimits = new HashMap<>();
    private final Map<String, List<String>> signatures = new HashMap<>();
    private final CUstream stream;
    /** What was loaded, in words, for {@code doctor}. */
    private final String image;

    /** Loads every module for a GPU of compute capability {@code ccMajor.ccMinor}; a failure says which module and why. */
    Kernels(CUstream stream, int ccMajor, int ccMinor) {
        this.stream = stream;
        String noFatbin = whyNoFatbins(Kernels::resource);
        for (String name : MODULES) {
            byte[] ptx = ptx(name);
            CUmodule module = new CUmodule();
            if (noFatbin == null) {
                byte[] fatbin = resource(name + ".fatbin");
                try {
                    if (fatbin == null) noFatbin = "the jar has no " + name + ".fatbin";
                    else cuModuleLoadData(module, fatbin);
                } catch (CudaException e) {
                    noFatbin = "the driver refused " + name + ".fatbin (" + e.getMessage() + "), so it and the modules after it are PTX";
                }
            }
            if (noFatbin != null) loadPtx(module, ptx, name);
            signatures(new String(ptx, 0, ptx.length - 1, StandardCharsets.US_ASCII)).forEach((entry, params) -> {
                CUfunction f = new CUfunction();
                cuModuleGetFunction(f, module, entry);
                functions.put(entry, f);
                signatures.put(entry, params);
            });
        }
        image = noFatbin == null ? fatbinImage(ccMajor, ccMinor) : PTX_TARGET + ", JIT-compiled by the driver: " + noFatbin;
    }

    /** What {@link #Kernels} loaded, in words. */
    String image() {
        return image;
    }

    /**
     * Why the fatbins cannot be used, or null when they can: they are missing (a build without
     * nvcc), or they come from other sources than the committed PTX (a stale build).
     */
    static String whyNoFatbins(Function<String, byte[]> resources) {
        byte[] fatbins = resources.apply("fatbin.sha256"), sources = resources.apply("sources.sha256");
        if (fatbins == null) return "this jar has no fatbins (built without nvcc)";
        if (sources == null || !Arrays.equals(fatbins, sources)) return "the jar's fatbins were built from other sources than its PTX";
        return null;
    }

    /** The image of a fatbin the driver runs on a GPU of compute capability {@code major.minor}. */
    static String fatbinImage(int major, int minor) {
        String sass = major == 9 && minor == 0 ? "sm_90a" : major != 8 ? null : minor >= 9 ? "sm_89" : minor >= 6 ? "sm_86" : "sm_80";
        return sass != null ? "SASS for " + sass + " from the jar's fatbins" : "the fatbins' compute_90 PTX, JIT-compiled by the driver";
    }

    private static void loadPtx(CUmodule module, byte[] ptx, String name) {
        try {
            cuModuleLoadData(module, ptx);
        } catch (CudaException e) {
            String msg = e.getMessage() == null ? "" : e.getMessage();
            if (msg.contains("UNSUPPORTED_PTX_VERSION")) {
                throw new CudaUnavailableException("driver too old for this PTX: need NVIDIA driver " + MINIMUM_DRIVER
                        + " or newer for " + PTX_TARGET + " (module " + name + ")", e);
            }
            throw new CudaUnavailableException("kernel module " + name + " failed to load: " + msg, e);
        }
    }

    /** A resource of our package, or null when the jar does not have it. */
    private static byte[] resource(String name) {
        try (InputStream in = Kernels.class.getResourceAsStream(PACKAGE + name)) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            throw new CudaUnavailableException("cannot read kernel resource " + PACKAGE + name + ": " + e.getMessage(), e);
        }
    }

    /** The module's PTX text followed by the zero byte cuModuleLoadData(byte[]) expects. */
    static byte[] ptx(String module) {
        byte[] text = resource(module + ".ptx");
        if (text == null) throw new CudaUnavailableException("kernel module " + PACKAGE + module + ".ptx is missing from the class path");
        return Arrays.copyOf(text, text.length + 1);
    }

    /**
     * The kernels a PTX module defines, each with its parameter types in order: "u32", "f32",
     * "u64", "f64", ... and "b8[N]" for a struct of N bytes passed by value.
     */
    static Map<String, List<String>> signatures(String ptx) {
        Map<String, List<String>> out = new java.util.LinkedHashMap<>();
        Matcher m = ENTRY.matcher(ptx);
        while (m.find()) {
            List<String> params = new java.util.ArrayList<>();
            Matcher p = PARAM.matcher(m.group(2));
            while (p.find()) params.add(p.group(2) == null ? p.group(1) : p.group(1) + "[" + p.group(2) + "]");
            out.put(m.group(1), List.copyOf(params));
        }
        return out;
    }

    /**
     * Checks launch arguments against a kernel's PTX parameters, so a mismatch (an int where the
     * kernel takes a long long, say) is an exception naming the kernel rather than garbage on
     * the GPU. Integers and pointers are both 64-bit "u64" in PTX and cannot be told apart.
     */
    static void checkArguments(String kernel, List<String> params, Object[] args) {
        if (params.size() != args.length) {
            throw new IllegalStateException("kernel " + kernel + " takes " + params.size() + " parameters " + params
                    + " but was given " + args.length);
        }
        for (int i = 0; i < args.length; i++) {
            String p = params.get(i);
            Object a = args[i];
            boolean ok = switch (p) {
                case "u32", "s32", "b32" -> a instanceof Integer;
                case "f32" -> a instanceof Float;
                case "f64" -> a instanceof Double;
                case "u64", "s64", "b64" -> a instanceof Long || a instanceof Pointer;
                default -> a instanceof int[] v && p.equals("b8[" + 4 * v.length + "]");
            };
            if (!ok) {
                throw new IllegalStateException("kernel " + kernel + " parameter " + i + " is ." + p + " but the argument is "
                        + (a == null ? "null" : a.getClass().getSimpleName()));
            }
        }
    }

    boolean has(String kernel) {
        return functions.containsKey(kernel);
    }

    /**
     * Launches {@code kernel} on the backend's stream. Arguments map to kernel parameters by
     * type: Integer → int, Long → long long, Float → float, Double → double, a device pointer →
     * pointer, int[] → a struct of ints passed by value (such as Strides3). Past 48 KiB of dynamic
     * shared memory the kernel is first allowed more, once (the driver's opt-in).
     */
    void launch(String kernel, int sharedBytes, int gridX, int gridY, int gridZ, int blockX, int blockY, Object... args) {
        CUfunction f = functions.get(kernel);
        if (f == null) throw new IllegalStateException("no kernel named " + kernel);
        checkArguments(kernel, signatures.get(kernel), args);
        NativePointerObject[] params = new NativePointerObject[args.length];
        for (int i = 0; i < args.length; i++) params[i] = parameter(args[i]);
        try {
            if (sharedBytes > sharedLimits.getOrDefault(kernel, DEFAULT_SHARED_LIMIT)) {
                cuFuncSetAttribute(f, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, sharedBytes);
                sharedLimits.put(kernel, sharedBytes);
            }
            cuLaunchKernel(f, gridX, gridY, gridZ, blockX, blockY, 1, sharedBytes, stream, Pointer.to(params), null);
        } catch (CudaException e) {
            throw new CudaFailureException("launching kernel " + kernel + " (grid " + gridX + "x" + gridY + "x" + gridZ
                    + ", block " + blockX + "x" + blockY + ", " + sharedBytes + " bytes of shared memory): " + e.getMessage(), e);
        }
    }

    private static Pointer parameter(Object a) {
        if (a instanceof Integer v) return Pointer.to(new int[] {v});
        if (a instanceof Long v) return Pointer.to(new long[] {v});
        if (a instanceof Float v) return Pointer.to(new float[] {v});
        if (a instanceof Double v) return Pointer.to(new double[] {v});
        if (a instanceof int[] v) return Pointer.to(v);
        if (a instanceof Pointer p) return Pointer.to(p);
        throw new IllegalArgumentException("unsupported kernel argument " + a);
    }
}
