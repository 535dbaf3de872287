package dev.bertft.cuda;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Which kernel image a GPU runs: the committed PTX is tied to the sources by the hash beside it
 * (computed here independently, as sha256sum prints it), the fatbins are used only when they carry
 * the same hash, and the SASS the driver takes from a fatbin is the GPU's own architecture's.
 */
class KernelImagesTest {

    @Test
    void theCommittedSourceHashIsTheSourcesHash() throws Exception {
        StringBuilder expected = new StringBuilder();
        List<Path> sources;
        try (Stream<Path> s = Files.list(Nvcc.cudaSources())) {
            sources = s.filter(p -> p.toString().endsWith(".cu") || p.toString().endsWith(".cuh"))
                    .sorted((a, b) -> a.getFileName().toString().compareTo(b.getFileName().toString())).toList();
        }
        for (Path p : sources) {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p));
            expected.append(HexFormat.of().formatHex(digest)).append("  ").append(p.getFileName()).append('\n');
        }
        assertEquals(expected.toString(), Files.readString(Nvcc.committedPtx().resolve("sources.sha256")),
                "a kernel source changed without kernels/scripts/build-ptx.sh kernels/src/main/resources/dev/bertft/cuda");
    }

    @Test
    void fatbinsAreUsedOnlyWhenBuiltFromThePtxsSources() {
        byte[] h = "abc  gemm.cu\n".getBytes(StandardCharsets.US_ASCII), other = "abd  gemm.cu\n".getBytes(StandardCharsets.US_ASCII);
        assertNull(Kernels.whyNoFatbins(Map.of("fatbin.sha256", h, "sources.sha256", h.clone())::get));
        assertEquals("this jar has no fatbins (built without nvcc)", Kernels.whyNoFatbins(Map.of("sources.sha256", h)::get));
        assertEquals("the jar's fatbins were built from other sources than its PTX",
                Kernels.whyNoFatbins(Map.of("fatbin.sha256", other, "sources.sha256", h)::get));
    }

    /** Machine code for sm_XY runs on X.Z for Z ≥ Y; sm_90a only on 9.0; anything else JIT-compiles the PTX. */
    @Test
    void theDriverTakesTheGpusOwnMachineCode() {
        assertEquals("SASS for sm_80 from the jar's fatbins", Kernels.fatbinImage(8, 0));
        assertEquals("SASS for sm_86 from the jar's fatbins", Kernels.fatbinImage(8, 6));
        assertEquals("SASS for sm_86 from the jar's fatbins", Kernels.fatbinImage(8, 7));
        assertEquals("SASS for sm_89 from the jar's fatbins", Kernels.fatbinImage(8, 9));
        assertEquals("SASS for sm_90a from the jar's fatbins", Kernels.fatbinImage(9, 0));
        assertEquals("the fatbins' compute_90 PTX, JIT-compiled by the driver", Kernels.fatbinImage(10, 0));
        assertEquals("the fatbins' compute_90 PTX, JIT-compiled by the driver", Kernels.fatbinImage(12, 0));
    }
}
