package dev.bertft.safetensors;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bertft.io.AtomicFiles;
import dev.bertft.tensor.DType;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Builds a safetensors file (format in {@link SafetensorsFile}) from Java arrays and writes it
 * atomically. Tensors are laid out in the order they are added; the header carries
 * {@code "__metadata__": {"format": "pt", ...}} and is padded with spaces to a multiple of 8 bytes,
 * so the data buffer starts 8-byte aligned.
 *
 * <pre>
 * new SafetensorsWriter()
 *     .add("classifier.weight", new long[] {2, 384}, weights)      // float[]  -> F32
 *     .add("position_ids", new long[] {1, 512}, positions)          // long[]   -> I64
 *     .add("mask", StoredType.U8, new long[] {3}, bytes)           // raw bytes, any stored type
 *     .metadata("step", "1000")
 *     .write(Path.of("model.safetensors"));
 * </pre>
 *
 * The arrays are kept by reference until {@link #write}: do not change them in between.
 */
public final class SafetensorsWriter {

    private record Entry(StoredType dtype, long[] shape, Object data) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Size of the buffer the data is staged through; the file is never assembled in memory. */
    private static final int CHUNK_BYTES = 1 << 20;

    private final Map<String, Entry> tensors = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>(Map.of("format", "pt"));

    /** Adds a string to {@code __metadata__} (replacing "format" is allowed). */
    public SafetensorsWriter metadata(String key, String value) {
        if (key == null || value == null) throw new IllegalArgumentException("metadata key and value must not be null");
        metadata.put(key, value);
        return this;
    }

    /** An F32 tensor. */
    public SafetensorsWriter add(String name, long[] shape, float[] data) {
        return put(name, StoredType.F32, shape, data, data.length);
    }

    /** An F64 tensor. */
    public SafetensorsWriter add(String name, long[] shape, double[] data) {
        return put(name, StoredType.F64, shape, data, data.length);
    }

    /** An I32 tensor. */
    public SafetensorsWriter add(String name, long[] shape, int[] data) {
        return put(name, StoredType.I32, shape, data, data.length);
    }

    /** An I64 tensor. */
    public SafetensorsWriter add(String name, long[] shape, long[] data) {
        return put(name, StoredType.I64, shape, data, data.length);
    }

    /** An F16 or BF16 tensor from its 16-bit patterns ({@link dev.bertft.tensor.Float16} converts). */
    public SafetensorsWriter add(String name, DType half, long[] shape, short[] bits) {
        if (half != DType.F16 && half != DType.BF16) {
            throw new IllegalArgumentException("tensor '" + name + "': 16-bit patterns are F16 or BF16, not " + half);
        }
        return put(name, StoredType.of(half), shape, bits, bits.length);
    }

    /**
     * A tensor of any dtype given as its little-endian bytes: U8 and BOOL (bytes 0 or 1) one byte
     * per element, F16/BF16 as 16-bit patterns, and so on.
     */
    public SafetensorsWriter add(String name, StoredType dtype, long[] shape, byte[] littleEndianData) {
        if (littleEndianData.length % dtype.byteSize() != 0) {
            throw new IllegalArgumentException("tensor '" + name + "': " + littleEndianData.length
                    + " bytes is not a whole number of " + dtype + " elements");
        }
        if (dtype == StoredType.BOOL) {
            for (int i = 0; i < littleEndianData.length; i++) {
                if (littleEndianData[i] != 0 && littleEndianData[i] != 1) {
                    throw new IllegalArgumentException("tensor '" + name + "': BOOL byte " + i + " is "
                            + littleEndianData[i] + ", not 0 or 1");
                }
            }
        }
        return put(name, dtype, shape, littleEndianData, littleEndianData.length / dtype.byteSize());
    }

    private SafetensorsWriter put(String name, StoredType dtype, long[] shape, Object data, long elements) {
        if (name == null || name.isEmpty() || name.equals("__metadata__")) {
            throw new IllegalArgumentException("invalid tensor name '" + name + "'");
        }
        if (tensors.containsKey(name)) throw new IllegalArgumentException("tensor '" + name + "' added twice");
        long count = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("tensor '" + name + "': negative dimension in "
                    + Arrays.toString(shape));
            count = Math.multiplyExact(count, d);
        }
        if (count != elements) {
            throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape)
                    + " has " + count + " elements but the data has " + elements);
        }
        tensors.put(name, new Entry(dtype, shape.clone(), data));
        return this;
    }

    /** Writes the file whole or not at all ({@link AtomicFiles}): a crash leaves the old file or the complete new one. */
    public void write(Path target) throws IOException {
        byte[] header = header();
        AtomicFiles.write(target, out -> {
            ByteBuffer chunk = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            chunk.putLong(header.length);
            putBytes(out, chunk, header);
            for (Entry e : tensors.values()) putData(out, chunk, e.data());
            flush(out, chunk);
        });
    }

    /** The header JSON, padded with spaces to a multiple of 8 bytes. */
    private byte[] header() throws IOException {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode meta = root.putObject("__metadata__");
        metadata.forEach(meta::put);
        long offset = 0;
        for (Map.Entry<String, Entry> t : tensors.entrySet()) {
            Entry e = t.getValue();
            long bytes = e.dtype().byteSize();
            for (long d : e.shape()) bytes = Math.multiplyExact(bytes, d);
            ObjectNode info = root.putObject(t.getKey());
            info.put("dtype", e.dtype().name());
            ArrayNode shape = info.putArray("shape");
            for (long d : e.shape()) shape.add(d);
            info.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(root);
        byte[] padded = Arrays.copyOf(json, (json.length + 7) / 8 * 8);
        Arrays.fill(padded, json.length, padded.length, (byte) ' ');
        return padded;
    }

    private static void putData(FileChannel out, ByteBuffer chunk, Object data) throws IOException {
        if (data instanceof float[] a) {
            for (int i = 0; i < a.length; ) {
                int n = Math.min(a.length - i, room(out, chunk, 4));
                chunk.asFloatBuffer().put(a, i, n);
                chunk.position(chunk.position() + 4 * n);
                i += n;
            }
        } else if (data instanceof double[] a) {
            for (int i = 0; i < a.length; ) {
                int n = Math.min(a.length - i, room(out, chunk, 8));
                chunk.asDoubleBuffer().put(a, i, n);
                chunk.position(chunk.position() + 8 * n);
                i += n;
            }
        } else if (data instanceof int[] a) {
            for (int i = 0; i < a.length; ) {
                int n = Math.min(a.length - i, room(out, chunk, 4));
                chunk.asIntBuffer().put(a, i, n);
                chunk.position(chunk.position() + 4 * n);
                i += n;
            }
        } else if (data instanceof short[] a) {
            for (int i = 0; i < a.length; ) {
                int n = Math.min(a.length - i, room(out, chunk, 2));
                chunk.asShortBuffer().put(a, i, n);
                chunk.position(chunk.position() + 2 * n);
                i += n;
            }
        } else if (data instanceof long[] a) {
            for (int i = 0; i < a.length; ) {
                int n = Math.min(a.length - i, room(out, chunk, 8));
                chunk.asLongBuffer().put(a, i, n);
                chunk.position(chunk.position() + 8 * n);
                i += n;
            }
        } else {
            putBytes(out, chunk, (byte[]) data);
        }
    }

    private static void putBytes(FileChannel out, ByteBuffer chunk, byte[] a) throws IOException {
        for (int i = 0; i < a.length; ) {
            int n = Math.min(a.length - i, room(out, chunk, 1));
            chunk.put(a, i, n);
            i += n;
        }
    }

    /** Elements of {@code size} bytes that fit in the chunk, flushing it first when it is full. */
    private static int room(FileChannel out, ByteBuffer chunk, int size) throws IOException {
        if (chunk.remaining() < size) flush(out, chunk);
        return chunk.remaining() / size;
    }

    private static void flush(FileChannel out, ByteBuffer chunk) throws IOException {
        chunk.flip();
        while (chunk.hasRemaining()) out.write(chunk);
        chunk.clear();
    }
}
