package dev.bertft.safetensors;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Opens the real all-MiniLM-L6-v2 checkpoint from ../shared; skipped (with a message) when absent. */
class MiniLmCheckpointTest {

    /** Walks up from the module directory to the folder that holds the shared data. */
    private static Path sharedModel() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path candidate = p.resolve("shared/models/all-MiniLM-L6-v2/model.safetensors");
            if (Files.isRegularFile(candidate)) return candidate;
        }
        return null;
    }

    @Test
    void opensTheSharedMiniLmCheckpoint() throws Exception {
        Path model = sharedModel();
        assumeTrue(model != null, "shared/models/all-MiniLM-L6-v2/model.safetensors not found above "
                + Path.of("").toAbsolutePath() + "; skipping the real-checkpoint test");
        try (SafetensorsFile f = SafetensorsFile.open(model)) {
            assertEquals(102, f.names().size());
            assertEquals("pt", f.metadata().get("format"));

            TensorInfo words = f.info("embeddings.word_embeddings.weight");
            assertEquals(StoredType.F32, words.dtype());
            assertArrayEquals(new long[] {30522, 384}, words.shape());
            TensorInfo positions = f.info("embeddings.position_ids");
            assertEquals(StoredType.I64, positions.dtype());
            assertArrayEquals(new long[] {1, 512}, positions.shape());
            assertArrayEquals(new long[] {384}, f.info("encoder.layer.5.output.LayerNorm.bias").shape());

            // position_ids is arange(512) by construction
            long[] ids = f.readI64("embeddings.position_ids");
            for (int i = 0; i < 512; i++) assertEquals(i, ids[i]);

            // reference values read from the file with numpy (np.frombuffer(..., '<f4'))
            float[] w = f.readF32("embeddings.word_embeddings.weight");
            assertEquals(30522 * 384, w.length);
            assertEquals(-0x1.20ad1cp-6f, w[101 * 384], 0f);       // [CLS] row, first three entries
            assertEquals(-0x1.f21c1p-8f, w[101 * 384 + 1], 0f);
            assertEquals(0x1.81e37cp-5f, w[101 * 384 + 2], 0f);
            double sum = 0;
            for (float v : w) sum += v;
            assertEquals(138.0507221492362, sum, 1e-6);
            double lnSum = 0;
            for (float v : f.readF32("embeddings.LayerNorm.weight")) lnSum += v;
            assertEquals(236.85435231029987, lnSum, 1e-9);
            assertTrue(f.names().stream().noneMatch(n -> n.startsWith("pooler.")), "this checkpoint has no pooler");
        }
    }
}
