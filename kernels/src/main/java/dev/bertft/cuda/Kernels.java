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
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static jcuda.driver.JCudaDriver.cuFuncSetAttribute;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;

/**
 * Our CUDA kernels: the PTX modules under dev/bertft/cuda/ on the class path (built from
 * kernels/src/main/cuda by scripts/build-ptx.sh), loaded once through the driver's JIT, and a
 * launch helper that looks kernels up by name.
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

    private static final Pattern ENTRY = Pattern.compile("\\.entry\\s+(\\w+)\\s*\\(([^)]*)\\)");
    private static final Pattern PARAM = Pattern.compile("\\.param\\s+(?:\\.align\\s+\\d+\\s+)?\\.(\\w+)(?:\\s+\\.ptr[^,]*?)?\\s+\\w+(?:\\[(\\d+)\\])?");

    /** Dynamic shared memory a launch may use without asking the driver first. */
    private static final int DEFAULT_SHARED_LIMIT = 48 << 10;

    private final Map<String, CUfunction> functions = new HashMap<>();
    private final Map<String, Integer> sharedLimits = new HashMap<>();
    private final Map<String, List<String>> signatures = new HashMap<>();
    private final CUstream stream;

    /** Loads every module; a failure says which module and why. */
    Kernels(CUstream stream) {
        this.stream = stream;
        for (String name : MODULES) {
            byte[] ptx = ptx(name);
            CUmodule module = new CUmodule();
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
            signatures(new String(ptx, 0, ptx.length - 1, StandardCharsets.US_ASCII)).forEach((entry, params) -> {
                CUfunction f = new CUfunction();
                cuModuleGetFunction(f, module, entry);
                functions.put(entry, f);
                signatures.put(entry, params);
            });
        }
    }

    /** The module's PTX text followed by the zero byte cuModuleLoadData(byte[]) expects. */
    static byte[] ptx(String module) {
        String resource = "/dev/bertft/cuda/" + module + ".ptx";
        try (InputStream in = Kernels.class.getResourceAsStream(resource)) {
            if (in == null) throw new CudaUnavailableException("kernel module " + resource + " is missing from the class path");
            byte[] text = in.readAllBytes();
            return Arrays.copyOf(text, text.length + 1);
        } catch (IOException e) {
            throw new CudaUnavailableException("cannot read kernel module " + resource + ": " + e.getMessage(), e);
        }
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
