package dev.bertft.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The event file against RFC 3720's CRC32C vectors and protoc's own decoder. */
class TensorBoardWriterTest {
    private static final Pattern STEP = Pattern.compile("(?m)^2: (\\d+)$");
    private static final Pattern VERSION = Pattern.compile("(?m)^3: \"(.*)\"$");
    private static final Pattern VALUE = Pattern.compile("(?m)^    1: \"(.*)\"\\n    2: 0x([0-9a-f]{8})$");

    /** RFC 3720 B.4's 32-byte vectors; the masked values are ((crc >>> 15) | (crc << 17)) + 0xa282ead8 worked by hand. */
    @Test
    void crc32cMatchesRfc3720AndTfRecordsMask() {
        byte[] zeros = new byte[32], ones = new byte[32], up = new byte[32], down = new byte[32];
        Arrays.fill(ones, (byte) 0xFF);
        for (int i = 0; i < 32; i++) {
            up[i] = (byte) i;
            down[i] = (byte) (31 - i);
        }
        byte[][] data = {zeros, ones, up, down};
        int[] crc = {0x8A9136AA, 0x62A8AB43, 0x46DD794E, 0x113FDB5C};
        int[] masked = {0x0FD7FFFA, 0xF909B029, 0x951F7892, 0x593B0D57};
        for (int i = 0; i < data.length; i++) {
            byte[] padded = new byte[40];
            System.arraycopy(data[i], 0, padded, 5, 32);
            assertEquals(crc[i], TensorBoardWriter.crc32c(padded, 5, 32), "vector " + i);
            assertEquals(masked[i], TensorBoardWriter.maskedCrc32c(padded, 5, 32), "vector " + i);
        }
    }

    @Test
    void hfTagNames() {
        assertEquals("train/loss", TensorBoardWriter.hfTag("loss"));
        assertEquals("train/learning_rate", TensorBoardWriter.hfTag("learning_rate"));
        assertEquals("eval/accuracy", TensorBoardWriter.hfTag("eval_accuracy"));
        assertEquals("test/f1", TensorBoardWriter.hfTag("test_f1"));
        assertEquals("train/train_loss", TensorBoardWriter.hfTag("train_loss"));
    }

    /** Every log.jsonl entry is an event at its step whose scalars, decoded by protoc, are the entry's values. */
    @Test
    void aTrainingRunsEventFileDecodesToItsLog(@TempDir Path out) throws Exception {
        assumeTrue(protocAvailable(), "protoc not installed (apt-get install protobuf-compiler): event file not decoded");
        TrainingArgs a = TrainerTest.args(out).epochs(2).loggingSteps(2).saveStrategy(TrainingArgs.Strategy.NO)
                .reportTo(List.of("tensorboard")).build();
        TrainerTest.trainer(TrainerTest.model(0.1), a, TrainerTest.data(40, 13, false), TrainerTest.data(16, 14, false),
                new Trainer.Listener() {}).train(null);

        Path logs = out.resolve("logs");
        List<Path> files;
        try (Stream<Path> s = Files.list(logs)) {
            files = s.filter(p -> p.getFileName().toString().startsWith("events.out.tfevents.")).toList();
        }
        assertEquals(1, files.size(), "one event file in the logging folder");
        List<byte[]> records = records(Files.readAllBytes(files.get(0)));
        List<String> log = Files.readAllLines(logs.resolve("log.jsonl"));
        assertEquals(1 + log.size(), records.size(), "the version record, then one per log entry");

        String first = decodeRaw(records.get(0));
        Matcher version = VERSION.matcher(first);
        assertTrue(version.find(), first);
        assertEquals("brain.Event:2", version.group(1));

        ObjectMapper json = new ObjectMapper();
        List<String> seenTags = new ArrayList<>();
        for (int i = 0; i < log.size(); i++) {
            JsonNode entry = json.readTree(log.get(i));
            String decoded = decodeRaw(records.get(i + 1));
            Matcher step = STEP.matcher(decoded);
            assertTrue(step.find(), decoded);
            assertEquals(entry.get("step").asLong(), Long.parseLong(step.group(1)));
            Map<String, Float> scalars = new LinkedHashMap<>();
            for (Matcher v = VALUE.matcher(decoded); v.find(); ) {
                scalars.put(v.group(1), Float.intBitsToFloat(Integer.parseUnsignedInt(v.group(2), 16)));
            }
            Map<String, Float> expected = new LinkedHashMap<>();
            entry.fields().forEachRemaining(e -> {
                if (e.getKey().equals("step")) return;
                String tag = e.getKey().startsWith("eval_") ? "eval/" + e.getKey().substring(5) : "train/" + e.getKey();
                expected.put(tag, e.getValue().floatValue());
            });
            assertEquals(expected, scalars, "record " + (i + 1) + ":\n" + decoded);
            seenTags.addAll(scalars.keySet());
        }
        for (String tag : List.of("train/loss", "train/learning_rate", "train/grad_norm", "train/epoch", "eval/loss",
                "eval/accuracy", "train/train_loss")) {
            assertTrue(seenTags.contains(tag), tag);
        }
    }

    /** Reads TFRecords, checking both masked CRCs of each. */
    private static List<byte[]> records(byte[] file) {
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        List<byte[]> out = new ArrayList<>();
        while (b.hasRemaining()) {
            int start = b.position();
            long length = b.getLong();
            assertEquals(mask(file, start, 8), b.getInt(), "length CRC of the record at " + start);
            byte[] data = new byte[(int) length];
            b.get(data);
            assertEquals(mask(data, 0, data.length), b.getInt(), "data CRC of the record at " + start);
            out.add(data);
        }
        return out;
    }

    private static int mask(byte[] bytes, int off, int len) {
        java.util.zip.CRC32C c = new java.util.zip.CRC32C();
        c.update(bytes, off, len);
        int crc = (int) c.getValue();
        return Integer.rotateRight(crc, 15) + 0xa282ead8;
    }

    private static boolean protocAvailable() {
        try {
            Process p = new ProcessBuilder("protoc", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static String decodeRaw(byte[] message) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("protoc", "--decode_raw").start();
        p.getOutputStream().write(message);
        p.getOutputStream().close();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "protoc --decode_raw finished");
        assertEquals(0, p.exitValue(), err);
        return text;
    }
}
