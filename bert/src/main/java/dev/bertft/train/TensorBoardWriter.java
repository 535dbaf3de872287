package dev.bertft.train;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * A TensorBoard event file of scalars, the file {@code tensorboard --logdir} reads: TFRecords
 * (length, masked CRC32C of the length, an {@code Event} protobuf, masked CRC32C of it), the
 * first holding {@code file_version}, each later one a {@code Summary} of simple values at a
 * step. The protobuf is written by hand: four fields of two messages do not need a library.
 */
final class TensorBoardWriter {
    private static final int MASK_DELTA = 0xa282ead8;
    private final Path file;

    private TensorBoardWriter(Path file) {
        this.file = file;
    }

    /**
     * Creates {@code events.out.tfevents.<unix seconds>.<host>.<pid>} in {@code dir}: the pid (as torch's
     * SummaryWriter adds) and a counter keep a resumed run from overwriting the file of the run before it.
     */
    static TensorBoardWriter create(Path dir) throws IOException {
        Files.createDirectories(dir);
        double now = System.currentTimeMillis() / 1000.0;
        String base = "events.out.tfevents." + (long) now + "." + hostName() + "." + ProcessHandle.current().pid();
        byte[] first = record(event(now, 0, "brain.Event:2", null));
        for (int n = 0; ; n++) {
            Path file = dir.resolve(n == 0 ? base : base + "." + n);
            try {
                Files.write(file, first, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                return new TensorBoardWriter(file);
            } catch (FileAlreadyExistsException e) {
                // another writer in the same second: take the next name
            }
        }
    }

    Path file() {
        return file;
    }

    /** Appends one event with these scalars at {@code step}; the file is complete after each call. */
    void scalars(long step, Map<String, Float> values) throws IOException {
        Files.write(file, record(event(System.currentTimeMillis() / 1000.0, step, null, values)), StandardOpenOption.APPEND);
    }

    /** HF's TensorBoardCallback names: eval_x as eval/x, test_x as test/x, everything else train/x. */
    static String hfTag(String key) {
        if (key.startsWith("eval_")) return "eval/" + key.substring(5);
        if (key.startsWith("test_")) return "test/" + key.substring(5);
        return "train/" + key;
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }

    // Event: wall_time (1, double), step (2, int64), file_version (3, string), summary (5, Summary).
    // Summary: value (1, repeated Value). Value: tag (1, string), simple_value (2, float).
    private static byte[] event(double wallTime, long step, String fileVersion, Map<String, Float> values) {
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        key(e, 1, 1);
        e.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putDouble(wallTime).array());
        key(e, 2, 0);
        varint(e, step);
        if (fileVersion != null) lengthDelimited(e, 3, fileVersion.getBytes(StandardCharsets.UTF_8));
        if (values != null) {
            ByteArrayOutputStream summary = new ByteArrayOutputStream();
            values.forEach((tag, v) -> {
                ByteArrayOutputStream value = new ByteArrayOutputStream();
                lengthDelimited(value, 1, tag.getBytes(StandardCharsets.UTF_8));
                key(value, 2, 5);
                value.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(v).array());
                lengthDelimited(summary, 1, value.toByteArray());
            });
            lengthDelimited(e, 5, summary.toByteArray());
        }
        return e.toByteArray();
    }

    private static void key(ByteArrayOutputStream out, int field, int wireType) {
        varint(out, (long) field << 3 | wireType);
    }

    private static void varint(ByteArrayOutputStream out, long v) {
        while ((v & ~0x7FL) != 0) {
            out.write((int) (v & 0x7F) | 0x80);
            v >>>= 7;
        }
        out.write((int) v);
    }

    private static void lengthDelimited(ByteArrayOutputStream out, int field, byte[] bytes) {
        key(out, field, 2);
        varint(out, bytes.length);
        out.writeBytes(bytes);
    }

    /** TFRecord framing, little-endian: uint64 length, masked CRC of those 8 bytes, data, masked CRC of the data. */
    static byte[] record(byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(8 + 4 + data.length + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(data.length);
        b.putInt(maskedCrc32c(b.array(), 0, 8));
        b.put(data);
        b.putInt(maskedCrc32c(data, 0, data.length));
        return b.array();
    }

    static int crc32c(byte[] bytes, int off, int len) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, off, len);
        return (int) crc.getValue();
    }

    /** TFRecord's mask, so that a CRC stored inside the data it covers does not check itself. */
    static int maskedCrc32c(byte[] bytes, int off, int len) {
        int crc = crc32c(bytes, off, len);
        return ((crc >>> 15) | (crc << 17)) + MASK_DELTA;
    }
}
