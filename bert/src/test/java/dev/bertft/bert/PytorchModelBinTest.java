package dev.bertft.bert;

import dev.bertft.pytorch.TorchCheckpoint;
import dev.bertft.safetensors.SafetensorsFile;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Model folders whose weights are a PyTorch pytorch_model.bin: tiny_pytorch_model.bin is the tiny model's
 * safetensors weights saved by PyTorch 1.13's torch.save with legacy LayerNorm names, the position_ids
 * buffer and a tied MLM decoder (src/test/python/make_pytorch_model_bin.py).
 */
class PytorchModelBinTest {
    static final Backend CPU = new CpuBackend();
    static final Path BIN = Fixtures.RESOURCES.resolve("tiny_pytorch_model.bin");

    @TempDir
    Path tmp;

    /** The tiny model's folder with pytorch_model.bin in place of model.safetensors. */
    Path binOnlyFolder() throws IOException {
        Path dir = tmp.resolve("bin-only");
        Files.createDirectories(dir);
        for (String f : List.of("config.json", "vocab.txt", "tokenizer_config.json")) {
            Files.copy(Fixtures.tinyModel().resolve(f), dir.resolve(f));
        }
        Files.copy(BIN, dir.resolve("pytorch_model.bin"));
        return dir;
    }

    @Test
    void everyTensorEqualsTheSafetensorsValue() throws IOException {
        try (TorchCheckpoint bin = TorchCheckpoint.open(BIN);
             SafetensorsFile st = SafetensorsFile.open(Fixtures.tinyModel().resolve("model.safetensors"))) {
            for (String name : st.names()) {
                String stored = CheckpointWeights.candidates(name).stream().filter(bin::contains).findFirst()
                        .orElseThrow(() -> new AssertionError(name + " not in the .bin"));
                assertArrayEquals(st.info(name).shape(), bin.info(stored).shape(), name);
                assertArrayEquals(st.readF32(name), bin.readF32(stored), name);
            }
            assertTrue(bin.contains("bert.embeddings.LayerNorm.gamma"), "legacy names, as old checkpoints have them");
            assertArrayEquals(bin.readF32("bert.embeddings.word_embeddings.weight"), bin.readF32("cls.predictions.decoder.weight"));
        }
    }

    @Test
    void aFolderWithOnlyPytorchModelBinGivesTheSafetensorsLogits() throws IOException {
        BertForSequenceClassification fromSafetensors = BertForSequenceClassification.fromPretrained(Fixtures.tinyModel(), CPU,
                BertForSequenceClassification.LoadOptions.seed(3));
        BertForSequenceClassification fromBin = BertForSequenceClassification.fromPretrained(binOnlyFolder(), CPU,
                BertForSequenceClassification.LoadOptions.seed(3));
        assertEquals(List.of(), fromBin.loadReport().newlyInitialized());
        assertEquals(List.of("bert.embeddings.position_ids", "cls.predictions.decoder.weight"), fromBin.loadReport().ignored());
        fromSafetensors.setTraining(false);
        fromBin.setTraining(false);
        Tensor ids = Tensor.of(CPU, new int[] {2, 7, 9, 3, 2, 8, 4, 0}, 2, 4);
        Tensor mask = Tensor.of(CPU, new int[] {1, 1, 1, 1, 1, 1, 1, 0}, 2, 4);
        assertArrayEquals(fromSafetensors.logits(ids, null, mask).value().toFloatArray(), fromBin.logits(ids, null, mask).value().toFloatArray());
    }

    @Test
    void safetensorsArePreferredAndSavingWritesOnlySafetensors() throws IOException {
        Path dir = binOnlyFolder();
        Files.copy(Fixtures.tinyModel().resolve("model.safetensors"), dir.resolve("model.safetensors"));
        Files.write(dir.resolve("pytorch_model.bin"), new byte[] {'P', 'K', 0, 0});   // never opened when safetensors exist
        BertForSequenceClassification.fromPretrained(dir, CPU, BertForSequenceClassification.LoadOptions.seed(3));

        Files.delete(dir.resolve("model.safetensors"));
        Files.copy(BIN, dir.resolve("pytorch_model.bin"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Path saved = tmp.resolve("saved");
        BertForSequenceClassification.fromPretrained(dir, CPU, BertForSequenceClassification.LoadOptions.seed(3)).save(saved);
        assertTrue(Files.exists(saved.resolve("model.safetensors")));
        assertFalse(Files.exists(saved.resolve("pytorch_model.bin")));
    }

    @Test
    void aPytorchModelBinThatWouldRunCodeIsRefused() throws IOException {
        Path dir = binOnlyFolder();
        Files.copy(Path.of("..", "formats", "src", "test", "resources", "pytorch", "os_system.bin"), dir.resolve("pytorch_model.bin"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        IOException e = assertThrows(IOException.class, () -> BertForSequenceClassification.fromPretrained(dir, CPU,
                BertForSequenceClassification.LoadOptions.seed(3)));
        assertTrue(e.getMessage().contains(dir.resolve("pytorch_model.bin").toString()) && e.getMessage().contains("posix.system"),
                e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
}
