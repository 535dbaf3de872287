package dev.bertft.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The grid geometry a launcher assumes is the one its .cu file was written for: each constant the
 * Java side launches with equals the {@code #define} the kernel is compiled with, read from the
 * sources, so changing one side alone fails here instead of on a GPU.
 */
class KernelGeometryTest {

    @Test
    void attentionBlocksMatchAttentionCu() throws IOException {
        Map<String, Integer> cu = defines("attention.cu");
        assertEquals(cu.get("ROWS"), AttentionKernels.ROWS, "query rows per block");
        assertEquals(cu.get("BLOCK_THREADS"), AttentionKernels.BLOCK_THREADS, "threads per block");
    }

    @Test
    void gemmTilesAndSharedMemoryMatchGemmCu() throws IOException {
        Map<String, Integer> cu = defines("gemm.cu");
        assertEquals(cu.get("BM"), TensorCoreGemm.TILE, "tile rows");
        assertEquals(cu.get("BN"), TensorCoreGemm.TILE, "tile columns");
        assertEquals(cu.get("THREADS"), TensorCoreGemm.THREADS, "threads per block");
        assertEquals(cu.get("STAGES"), TensorCoreGemm.TF32_STAGES, "pipeline stages");
        assertEquals(cu.get("DT"), TensorCoreGemm.D_TILE, "float64 tile");
        // STAGES × STAGE_FLOATS floats, STAGE_FLOATS = 2 × BM × BK (unpadded, swizzled tiles)
        assertEquals(cu.get("STAGES") * 2 * cu.get("BM") * cu.get("BK") * Float.BYTES, TensorCoreGemm.SHARED_BYTES,
                "dynamic shared memory of the float32 pipeline");
        Map<String, Integer> half = defines("gemm_half.cu");
        assertEquals(half.get("BM"), TensorCoreGemm.TILE, "half tile rows");
        assertEquals(half.get("BN"), TensorCoreGemm.HALF_TILE_N, "half tile columns");
        assertEquals(half.get("THREADS"), TensorCoreGemm.HALF_THREADS, "half threads per block");
        assertEquals(half.get("STAGES"), TensorCoreGemm.HALF_STAGES, "half pipeline stages");
        // STAGES × (A tile + B tile), each [rows][BK + 8] 16-bit elements
        assertEquals(half.get("STAGES") * (half.get("BM") + half.get("BN")) * (half.get("BK") + 8) * 2, TensorCoreGemm.HALF_SHARED_BYTES,
                "dynamic shared memory of the half pipeline");
    }

    @Test
    void longEmbeddingSegmentsMatchEmbeddingCu() throws IOException {
        Map<String, Integer> cu = defines("embedding.cu");
        assertEquals(cu.get("LONG_SEGMENT"), EmbeddingKernels.LONG_SEGMENT, "positions from which a segment is long");
        assertEquals(cu.get("LONG_WARPS"), EmbeddingKernels.LONG_WARPS, "warps of a long segment's block");
    }

    @Test
    void tensorListMatchesCommonCuh() throws IOException {
        Map<String, Integer> cuh = defines("common.cuh");
        assertEquals(cuh.get("LIST_MAX"), TensorList.MAX, "tensors per list launch");
        assertEquals(cuh.get("LIST_CHUNK"), TensorList.CHUNK, "elements per list block");
    }

    private static final Pattern DEFINE = Pattern.compile("^#define\\s+(\\w+)\\s+(\\d+)\\b", Pattern.MULTILINE);

    /** The file's integer {@code #define}s. */
    private static Map<String, Integer> defines(String file) throws IOException {
        Map<String, Integer> out = new HashMap<>();
        Matcher m = DEFINE.matcher(Files.readString(Nvcc.cudaSources().resolve(file)));
        while (m.find()) out.put(m.group(1), Integer.parseInt(m.group(2)));
        return out;
    }
}
