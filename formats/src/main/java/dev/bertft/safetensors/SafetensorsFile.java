package dev.bertft.safetensors;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * A safetensors file opened for reading, its header validated up front and tensor data
 * memory-mapped on demand.
 *
 * <h2>Format</h2>
 * <pre>
 * [8 bytes]  N = header length, unsigned 64-bit little endian (N &lt;= 100,000,000 here)
 * [N bytes]  UTF-8 JSON object, may end in spaces:
 *            {"__metadata__": {"format": "pt", ...string to string...},   (optional)
 *             "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
 * [rest]     the data buffer: every tensor's elements, little endian, row major, at
 *            [begin, end) relative to byte 8 + N
 * </pre>
 *
 * <h2>Validation</h2>
 * As strict as the reference implementation (the Rust {@code safetensors} crate), a little
 * stricter in places (unknown fields in a tensor entry, repeated keys, non-0/1 BOOL bytes):
 * the file holds the 8-byte length; N fits the limit and the file; the header is UTF-8, starts
 * with '{' and is one JSON object with no repeated key; each tensor has a known dtype, a shape of
 * non-negative integers and data_offsets [begin, end] with begin &lt;= end inside the data buffer;
 * (end - begin) == elements x dtype size, computed without overflow; sorted by offset, each tensor
 * begins where the previous one ended (no gap, no overlap), the first at 0, and the last ends
 * exactly at the end of the file. Every violation is a {@link SafetensorsException} naming the
 * file and, where there is one, the tensor; nothing is allocated from a size the file has not
 * been checked to hold.
 *
 * <h2>Reading</h2>
 * {@link #names()} lists tensors in data-layout order (by offset), which for files written by
 * {@link SafetensorsWriter} is the order they were added. A read maps the tensor's bytes in windows
 * of at most 1 GiB ({@link FileChannel#map} is limited to 2 GiB), so files and single tensors may
 * be larger than 2 GiB; a result must still fit one Java array. Reads are safe from several
 * threads. The file must not be truncated while open: each read re-checks the size.
 */
public final class SafetensorsFile implements TensorReader {

    /** Largest header accepted, the reference implementation's limit. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    /** Bytes mapped at once; a multiple of every element size. */
    static final long DEFAULT_WINDOW_BYTES = 1L << 30;

    /** The largest array length every JVM allocates. */
    private static final int MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();

    private final Path file;
    private final FileChannel channel;
    private final long fileSize;
    private final long dataStart;
    private final long windowBytes;
    private final Map<String, TensorInfo> tensors; // in offset order
    private final Map<String, String> metadata;
    private volatile boolean closed;

    private SafetensorsFile(Path file, FileChannel channel, long fileSize, long dataStart, long windowBytes,
                            Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.file = file;
        this.channel = channel;
        this.fileSize = fileSize;
        this.dataStart = dataStart;
        this.windowBytes = windowBytes;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Opens and validates {@code file}; see the class comment for what is checked. */
    public static SafetensorsFile open(Path file) throws IOException {
        return open(file, DEFAULT_WINDOW_BYTES);
    }

    /** {@link #open(Path)} with a smaller mapping window, so tests can exercise windowed reads. */
    static SafetensorsFile open(Path file, long windowBytes) throws IOException {
        if (windowBytes <= 0 || windowBytes % 8 != 0 || windowBytes > DEFAULT_WINDOW_BYTES) {
            throw new IllegalArgumentException("window must be a positive multiple of 8 up to 1 GiB: " + windowBytes);
        }
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        try {
            long fileSize = channel.size();
            if (fileSize < 8) {
                throw new SafetensorsException(file, "file is " + fileSize
                        + " bytes, too short for the 8-byte header length");
            }
            ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(file, channel, lengthBytes, 0);
            long headerLength = lengthBytes.getLong(0); // u64; negative here means >= 2^63
            if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
                throw new SafetensorsException(file, "header length " + Long.toUnsignedString(headerLength)
                        + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
            }
            if (headerLength > fileSize - 8) {
                throw new SafetensorsException(file, "header length " + headerLength
                        + " runs past the end of the file (" + fileSize + " bytes)");
            }
            ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
            readFully(file, channel, headerBytes, 8);
            long dataStart = 8 + headerLength;
            JsonNode header = parseHeader(file, headerBytes.array());
            Map<String, String> metadata = parseMetadata(file, header.get("__metadata__"));
            Map<String, TensorInfo> tensors = parseTensors(file, header, fileSize - dataStart);
            return new SafetensorsFile(file, channel, fileSize, dataStart, windowBytes, tensors, metadata);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    public Path file() {
        return file;
    }

    @Override
    public Path source() {
        return file;
    }

    @Override
    public List<String> names() {
        return List.copyOf(tensors.keySet());
    }

    @Override
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    @Override
    public TensorInfo info(String name) throws SafetensorsException {
        TensorInfo t = tensors.get(name);
        if (t == null) throw new SafetensorsException(file, name, "no such tensor in this file");
        return t;
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public float[] readF32(String name) throws IOException {
        return read(name, "readF32", true, "F32, F16, BF16 or F64", float[]::new, Widening::toFloats);
    }

    @Override
    public double[] readF64(String name) throws IOException {
        return read(name, "readF64", true, "F64, F32, F16 or BF16", double[]::new, Widening::toDoubles);
    }

    @Override
    public short[] readHalf(String name) throws IOException {
        TensorInfo t = info(name);
        if (t.dtype() != StoredType.F16 && t.dtype() != StoredType.BF16) throw wrongType(t, "readHalf", "F16 or BF16");
        short[] out = new short[arrayLength(t, t.elementCount())];
        forEachWindow(t, (w, first) -> w.asShortBuffer().get(out, first, w.remaining() / 2));
        return out;
    }

    @Override
    public int[] readI32(String name) throws IOException {
        return read(name, "readI32", false, "I32, I64, I8, U8 or BOOL", int[]::new, Widening::toInts);
    }

    @Override
    public long[] readI64(String name) throws IOException {
        return read(name, "readI64", false, "I64, I32, I8, U8 or BOOL", long[]::new, Widening::toLongs);
    }

    @Override
    public byte[] readBytes(String name) throws IOException {
        TensorInfo t = info(name);
        byte[] out = new byte[arrayLength(t, t.byteSize())];
        // windows are multiples of the element size, so the element index is the byte index / size
        int size = t.dtype().byteSize();
        forEachWindow(t, (w, first) -> w.get(out, first * size, w.remaining()));
        return out;
    }

    @Override
    public void close() throws IOException {
        closed = true;
        channel.close();
    }

    // ---------------------------------------------------------------- reading

    /**
     * The tensor's elements converted window by window into a new array by {@code conversion}
     * ({@link Widening}), once its type is checked to be floating point, or an integer type, as {@code floating} says.
     */
    private <A> A read(String name, String method, boolean floating, String accepted, IntFunction<A> array,
                       Widening.Conversion<A> conversion) throws IOException {
        TensorInfo t = info(name);
        if (t.dtype().isFloatingPoint() != floating) throw wrongType(t, method, accepted);
        A out = array.apply(arrayLength(t, t.elementCount()));
        forEachWindow(t, (w, first) -> conversion.convert(t.dtype(), w, out, first));
        return out;
    }

    /** Receives one mapped window (little endian, position 0) holding elements from {@code first} on. */
    private interface WindowReader {
        void read(ByteBuffer window, int first) throws Widening.BadElement;
    }

    private void forEachWindow(TensorInfo t, WindowReader reader) throws IOException {
        if (closed) throw new SafetensorsException(file, t.name(), "read after the file was closed");
        long size = channel.size();
        if (size != fileSize) {
            throw new SafetensorsException(file, "file changed size since it was opened (" + fileSize
                    + " -> " + size + " bytes)");
        }
        int elementBytes = t.dtype().byteSize();
        long total = t.byteSize();
        for (long done = 0; done < total; done += windowBytes) {
            long length = Math.min(windowBytes, total - done);
            ByteBuffer window = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + t.begin() + done, length)
                    .order(ByteOrder.LITTLE_ENDIAN);
            try {
                reader.read(window, (int) (done / elementBytes));
            } catch (Widening.BadElement e) {
                throw new SafetensorsException(file, t.name(), e.getMessage());
            }
        }
    }

    private int arrayLength(TensorInfo t, long length) throws SafetensorsException {
        if (length > MAX_ARRAY_LENGTH) {
            throw new SafetensorsException(file, t.name(), "needs an array of " + length
                    + " entries, more than a Java array holds (" + MAX_ARRAY_LENGTH + ")");
        }
        return (int) length;
    }

    private SafetensorsException wrongType(TensorInfo t, String method, String accepted) {
        return new SafetensorsException(file, t.name(), "is " + t.dtype() + "; " + method + " reads " + accepted);
    }

    private static void readFully(Path file, FileChannel channel, ByteBuffer into, long position) throws IOException {
        while (into.hasRemaining()) {
            int n = channel.read(into, position + into.position());
            if (n < 0) throw new SafetensorsException(file, "file ended while reading the header");
        }
    }

    // ---------------------------------------------------------------- header validation

    private static JsonNode parseHeader(Path file, byte[] bytes) throws SafetensorsException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new SafetensorsException(file, "header is not valid UTF-8");
        }
        if (text.isEmpty() || text.charAt(0) != '{') {
            throw new SafetensorsException(file, "header does not start with '{'");
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new SafetensorsException(file, "header is not valid JSON: " + jsonProblem(e));
        }
        if (root == null || !root.isObject()) {
            throw new SafetensorsException(file, "header is not a JSON object");
        }
        return root;
    }

    /** Jackson's message without its multi-line source excerpt, plus the position. */
    static String jsonProblem(JsonProcessingException e) {
        String problem = e.getOriginalMessage();
        int newline = problem.indexOf('\n');
        if (newline >= 0) problem = problem.substring(0, newline);
        JsonLocation at = e.getLocation();
        return at == null ? problem : problem + " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
    }

    private static Map<String, String> parseMetadata(Path file, JsonNode node) throws SafetensorsException {
        if (node == null || node.isNull()) return Map.of();
        if (!node.isObject()) throw new SafetensorsException(file, "__metadata__ is not a JSON object");
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!e.getValue().isTextual()) {
                throw new SafetensorsException(file, "__metadata__ value of '" + e.getKey() + "' is not a string");
            }
            metadata.put(e.getKey(), e.getValue().textValue());
        }
        return Collections.unmodifiableMap(metadata);
    }

    private static Map<String, TensorInfo> parseTensors(Path file, JsonNode header, long dataLength)
            throws SafetensorsException {
        List<TensorInfo> list = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : header.properties()) {
            if (!e.getKey().equals("__metadata__")) list.add(parseTensor(file, e.getKey(), e.getValue(), dataLength));
        }
        // Writers may list tensors in any order; the layout is checked in offset order (a stable
        // sort, so zero-size tensors sharing an offset keep their header order).
        list.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        String previous = null;
        long expectedBegin = 0;
        for (TensorInfo t : list) {
            if (t.begin() < expectedBegin) {
                throw new SafetensorsException(file, t.name(), "data_offsets [" + t.begin() + ", " + t.end()
                        + "] overlap tensor '" + SafetensorsException.oneLine(previous) + "', which ends at " + expectedBegin);
            }
            if (t.begin() > expectedBegin) {
                String after = previous == null ? "the start of the data buffer"
                        : "tensor '" + SafetensorsException.oneLine(previous) + "' (which ends at " + expectedBegin + ")";
                throw new SafetensorsException(file, t.name(), "data_offsets [" + t.begin() + ", " + t.end()
                        + "] leave a gap of " + (t.begin() - expectedBegin) + " bytes after " + after);
            }
            tensors.put(t.name(), t);
            previous = t.name();
            expectedBegin = t.end();
        }
        if (expectedBegin != dataLength) {
            throw new SafetensorsException(file, "the tensors cover " + expectedBegin + " bytes of the "
                    + dataLength + "-byte data buffer; the remaining " + (dataLength - expectedBegin)
                    + " bytes belong to no tensor");
        }
        return Collections.unmodifiableMap(tensors);
    }

    private static TensorInfo parseTensor(Path file, String name, JsonNode entry, long dataLength)
            throws SafetensorsException {
        if (!entry.isObject()) throw new SafetensorsException(file, name, "header entry is not a JSON object");
        for (Map.Entry<String, JsonNode> property : entry.properties()) {
            String field = property.getKey();
            if (!field.equals("dtype") && !field.equals("shape") && !field.equals("data_offsets")) {
                throw new SafetensorsException(file, name, "unexpected field '" + field + "'");
            }
        }
        JsonNode dtypeNode = entry.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new SafetensorsException(file, name, "missing or non-string \"dtype\"");
        }
        StoredType dtype = StoredType.fromHeader(dtypeNode.textValue());
        if (dtype == null) {
            throw new SafetensorsException(file, name, "unknown dtype '" + dtypeNode.textValue()
                    + "' (known: " + Arrays.toString(StoredType.values()) + ")");
        }
        long[] shape = nonNegativeIntegers(file, name, "shape", entry.get("shape"));
        long[] offsets = nonNegativeIntegers(file, name, "data_offsets", entry.get("data_offsets"));
        if (offsets.length != 2) {
            throw new SafetensorsException(file, name, "data_offsets must be [begin, end], got "
                    + offsets.length + " numbers");
        }
        long begin = offsets[0], end = offsets[1];
        if (begin > end) {
            throw new SafetensorsException(file, name, "data_offsets [" + begin + ", " + end + "] end before they begin");
        }
        if (end > dataLength) {
            throw new SafetensorsException(file, name, "data_offsets [" + begin + ", " + end
                    + "] run past the end of the " + dataLength + "-byte data buffer");
        }
        long bytes;
        try {
            long elements = 1;
            for (long d : shape) elements = Math.multiplyExact(elements, d);
            bytes = Math.multiplyExact(elements, (long) dtype.byteSize());
        } catch (ArithmeticException overflow) {
            throw new SafetensorsException(file, name, "shape " + Arrays.toString(shape) + " x " + dtype
                    + " overflows a 64-bit byte count");
        }
        if (end - begin != bytes) {
            throw new SafetensorsException(file, name, "data_offsets [" + begin + ", " + end + "] hold "
                    + (end - begin) + " bytes but " + dtype + " " + Arrays.toString(shape) + " needs " + bytes);
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static long[] nonNegativeIntegers(Path file, String name, String field, JsonNode node)
            throws SafetensorsException {
        if (node == null || !node.isArray()) {
            throw new SafetensorsException(file, name, "missing or non-array \"" + field + "\"");
        }
        long[] values = new long[node.size()];
        for (int i = 0; i < values.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
                throw new SafetensorsException(file, name, field + " entry " + v + " is not a non-negative integer");
            }
            values[i] = v.longValue();
        }
        return values;
    }
}
