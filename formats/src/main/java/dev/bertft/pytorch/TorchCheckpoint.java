package dev.bertft.pytorch;

import dev.bertft.pytorch.RestrictedUnpickler.StorageRef;
import dev.bertft.pytorch.RestrictedUnpickler.TensorRef;
import dev.bertft.safetensors.StoredType;
import dev.bertft.safetensors.TensorInfo;
import dev.bertft.safetensors.TensorReader;
import dev.bertft.safetensors.Widening;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * A state dict written by {@code torch.save} (PyTorch 1.6 and later, e.g. a Hugging Face
 * {@code pytorch_model.bin}), read without running Python's pickle.
 *
 * <h2>Format</h2>
 * A zip archive (entries stored, not compressed) whose entries share one top folder, the saved
 * file's name or {@code archive}:
 * <pre>
 * NAME/data.pkl      pickle (protocol 2) of an OrderedDict name -> tensor; each tensor is
 *                    _rebuild_tensor_v2(storage, offset, size, stride, ...) on a storage record
 *                    ("storage", torch.FloatStorage, key, "cpu", numel) given as a persistent id
 * NAME/data/KEY      that storage's numel elements, raw, in NAME/byteorder's order (little endian
 *                    when the entry is absent, as before PyTorch 2.1)
 * NAME/version       the archive format version
 * </pre>
 * A tensor is a strided view of a storage, so tied weights share one storage and a slice may start
 * at an offset or skip elements. The pre-1.6 format (a bare pickle followed by the storages) is
 * recognised and refused; so are big-endian archives.
 *
 * <h2>Validation</h2>
 * Opening runs {@link RestrictedUnpickler} on data.pkl (which refuses any global but the tensor
 * records), requires the result to be a dict of str to tensors, and checks that every storage's
 * entry exists with exactly numel x element-size bytes and that every view stays inside its
 * storage. Reading a tensor checks its storage's CRC-32. Every problem is a
 * {@link TorchCheckpointException} naming the file.
 *
 * <h2>Reading</h2>
 * {@link #names()} is the dict's order. {@link #info} gives the tensor's dtype and shape;
 * begin and end are 0 and the byte size of the tensor as {@link #readBytes} returns it (row major,
 * contiguous), since a view has no byte range of its own. Reads are safe from several threads.
 */
public final class TorchCheckpoint implements TensorReader {
    /** The name Hugging Face folders give a PyTorch state dict. */
    public static final String HF_FILE_NAME = "pytorch_model.bin";
    /** A data.pkl beyond this is not a state dict (bert-large's is under 100 KB). */
    private static final long MAX_PICKLE_BYTES = 100_000_000L;
    private static final int MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;
    private static final Pattern STORAGE_KEY = Pattern.compile("[A-Za-z0-9_]{1,64}");
    /** How every pre-1.6 torch.save file begins: PROTO 2, then LONG1 of 10 bytes (its magic number). */
    private static final byte[] LEGACY_START = {(byte) 0x80, 0x02, (byte) 0x8a, 0x0a};

    private final Path file;
    private final ZipFile zip;
    private final String folder;
    private final Map<String, TensorRef> tensors;

    private TorchCheckpoint(Path file, ZipFile zip, String folder, Map<String, TensorRef> tensors) {
        this.file = file;
        this.zip = zip;
        this.folder = folder;
        this.tensors = tensors;
    }

    /** Opens and validates {@code file}; see the class comment for what is checked. */
    public static TorchCheckpoint open(Path file) throws IOException {
        checkStart(file);
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (ZipException e) {
            throw new TorchCheckpointException(file, "not a readable zip archive, truncated or damaged (" + e.getMessage() + ")");
        }
        try {
            String folder = topFolder(file, zip);
            checkByteOrder(file, zip, folder);
            ZipEntry pickle = zip.getEntry(folder + "data.pkl");
            if (pickle.getSize() > MAX_PICKLE_BYTES) {
                throw new TorchCheckpointException(file, pickle.getName() + " is " + pickle.getSize() + " bytes, not a state dict");
            }
            Object root;
            try {
                root = RestrictedUnpickler.load(entryBytes(file, zip, pickle));
            } catch (RestrictedUnpickler.Problem p) {
                throw new TorchCheckpointException(file, pickle.getName() + " " + p.getMessage());
            }
            TorchCheckpoint checkpoint = new TorchCheckpoint(file, zip, folder, stateDict(file, root));
            checkpoint.checkStorages();
            return checkpoint;
        } catch (IOException | RuntimeException e) {
            zip.close();
            throw e;
        }
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
    public TensorInfo info(String name) throws IOException {
        TensorRef t = tensor(name);
        return new TensorInfo(name, t.storage().dtype(), t.shape(), 0, elements(name, t) * t.storage().dtype().byteSize());
    }

    @Override
    public Map<String, String> metadata() {
        return Map.of();
    }

    @Override
    public float[] readF32(String name) throws IOException {
        return read(name, "readF32", true, "F32, F16, BF16 or F64", float[]::new, Widening::toFloats);
    }

    @Override
    public double[] readF64(String name) throws IOException {
        return read(name, "readF64", true, "F64, F32, F16 or BF16", double[]::new, Widening::toDoubles);
    }

    /** F16 or BF16 as stored, the 16-bit patterns, not widened (the type is in {@link #info}). */
    @Override
    public short[] readHalf(String name) throws IOException {
        TensorRef t = tensor(name);
        StoredType dtype = t.storage().dtype();
        if (dtype != StoredType.F16 && dtype != StoredType.BF16) throw wrongType(name, t, "readHalf", "F16 or BF16");
        ByteBuffer b = contiguous(name, t);
        short[] out = new short[b.capacity() / 2];
        b.asShortBuffer().get(out);
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
        return contiguous(name, tensor(name)).array();
    }

    @Override
    public void close() throws IOException {
        zip.close();
    }

    // ---------------------------------------------------------------- reading

    private TensorRef tensor(String name) throws TorchCheckpointException {
        TensorRef t = tensors.get(name);
        if (t == null) throw new TorchCheckpointException(file, "no tensor '" + name + "' in this file");
        return t;
    }

    /**
     * The tensor's elements converted into a new array by {@code conversion} ({@link Widening}),
     * once its stored type is checked to be floating point, or an integer type, as {@code floating} says.
     */
    private <A> A read(String name, String method, boolean floating, String accepted, IntFunction<A> array,
                       Widening.Conversion<A> conversion) throws IOException {
        TensorRef t = tensor(name);
        StoredType type = t.storage().dtype();
        if (type.isFloatingPoint() != floating) throw wrongType(name, t, method, accepted);
        ByteBuffer b = contiguous(name, t);
        A out = array.apply(b.capacity() / type.byteSize());
        try {
            conversion.convert(type, b, out, 0);
        } catch (Widening.BadElement e) {
            throw new TorchCheckpointException(file, "tensor '" + name + "': " + e.getMessage());
        }
        return out;
    }

    /** The view's elements gathered row major into a little-endian buffer (position 0, capacity = bytes). */
    private ByteBuffer contiguous(String name, TensorRef t) throws IOException {
        int size = t.storage().dtype().byteSize();
        long bytes = elements(name, t) * size;
        if (bytes > MAX_ARRAY_LENGTH) {
            throw new TorchCheckpointException(file, "tensor '" + name + "' is " + bytes + " bytes, more than a Java array holds");
        }
        byte[] storage = entryBytes(file, zip, storageEntry(t.storage()));
        if (bytes == storage.length && t.offset() == 0 && isRowMajor(t)) return ByteBuffer.wrap(storage).order(ByteOrder.LITTLE_ENDIAN);
        byte[] out = new byte[(int) bytes];
        long[] shape = t.shape(), stride = t.stride();
        int rank = shape.length;
        // The last dimension is copied as one run when its stride is 1; the others step like an odometer.
        long run = rank == 0 || stride[rank - 1] == 1 ? (rank == 0 ? 1 : shape[rank - 1]) : 1;
        int outer = rank == 0 || stride[rank - 1] == 1 ? rank - 1 : rank;
        long[] index = new long[Math.max(outer, 0)];
        for (int at = 0; at < out.length; at += (int) (run * size)) {
            long element = t.offset();
            for (int d = 0; d < index.length; d++) element += index[d] * stride[d];
            System.arraycopy(storage, (int) (element * size), out, at, (int) (run * size));
            for (int d = index.length - 1; d >= 0 && ++index[d] == shape[d]; d--) index[d] = 0;
        }
        return ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Whether the strides are those of a contiguous row-major tensor (dimensions of size 1 may have any stride). */
    private static boolean isRowMajor(TensorRef t) {
        long expected = 1;
        for (int d = t.shape().length - 1; d >= 0; d--) {
            if (t.shape()[d] != 1 && t.stride()[d] != expected) return false;
            expected *= t.shape()[d];
        }
        return true;
    }

    private ZipEntry storageEntry(StorageRef s) {
        return zip.getEntry(folder + "data/" + s.key());
    }

    /** An entry's bytes, checked against its recorded size and CRC-32. */
    private static byte[] entryBytes(Path file, ZipFile zip, ZipEntry entry) throws TorchCheckpointException {
        long size = entry.getSize();
        if (size < 0 || size > MAX_ARRAY_LENGTH) {
            throw new TorchCheckpointException(file, "entry " + entry.getName() + " has size " + size + ", which cannot be read");
        }
        byte[] bytes;
        try (InputStream in = zip.getInputStream(entry)) {
            bytes = in.readNBytes((int) size);
        } catch (IOException e) {
            String why = e.getMessage() == null ? "unexpected end of data" : e.getMessage();
            throw new TorchCheckpointException(file, "entry " + entry.getName() + " cannot be read, the archive is damaged (" + why + ")");
        }
        if (bytes.length != size) {
            throw new TorchCheckpointException(file, "entry " + entry.getName() + " ends after " + bytes.length + " of its "
                    + size + " bytes: the archive is truncated");
        }
        CRC32 crc = new CRC32();
        crc.update(bytes);
        if (entry.getCrc() != -1 && crc.getValue() != entry.getCrc()) {
            throw new TorchCheckpointException(file, "entry " + entry.getName() + " is damaged: its CRC-32 is "
                    + Long.toHexString(crc.getValue()) + ", the archive records " + Long.toHexString(entry.getCrc()));
        }
        return bytes;
    }

    // ---------------------------------------------------------------- validation

    /** Tells the formats this reader does not take apart from damage, before zip parsing reports either. */
    private static void checkStart(Path file) throws IOException {
        byte[] start = new byte[4];
        try (InputStream in = Files.newInputStream(file)) {
            int n = in.readNBytes(start, 0, 4);
            if (n < 4) throw new TorchCheckpointException(file, "file is " + n + " bytes, too short for a PyTorch checkpoint");
        }
        if (Arrays.equals(start, LEGACY_START)) {
            throw new TorchCheckpointException(file, "saved in PyTorch's legacy (pre-1.6) format, which is not supported;"
                    + " save it again with torch.save in PyTorch 1.6 or later, or convert it to model.safetensors");
        }
        if (start[0] != 'P' || start[1] != 'K') {
            throw new TorchCheckpointException(file, "not a PyTorch checkpoint (torch.save writes a zip archive; this file does not start like one)");
        }
    }

    /** NAME/ of the one NAME/data.pkl entry. */
    private static String topFolder(Path file, ZipFile zip) throws TorchCheckpointException {
        String folder = null;
        for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements(); ) {
            String name = e.nextElement().getName();
            int slash = name.indexOf('/');
            if (slash > 0 && name.substring(slash + 1).equals("data.pkl")) {
                if (folder != null) throw new TorchCheckpointException(file, "holds more than one data.pkl");
                folder = name.substring(0, slash + 1);
            }
        }
        if (folder == null) throw new TorchCheckpointException(file, "has no data.pkl entry: not a torch.save archive");
        return folder;
    }

    private static void checkByteOrder(Path file, ZipFile zip, String folder) throws TorchCheckpointException {
        ZipEntry order = zip.getEntry(folder + "byteorder");
        if (order == null) return;
        String value = new String(entryBytes(file, zip, order), StandardCharsets.US_ASCII).trim();
        if (!value.equals("little")) {
            throw new TorchCheckpointException(file, "stores tensors in '" + value + "' byte order; only little endian is supported");
        }
    }

    /** The pickle's value as name -> tensor, or why it is not a state dict. */
    private static Map<String, TensorRef> stateDict(Path file, Object root) throws TorchCheckpointException {
        if (!(root instanceof Map<?, ?> dict)) {
            throw new TorchCheckpointException(file, "holds " + RestrictedUnpickler.kind(root) + ", not a state dict of tensors");
        }
        Map<String, TensorRef> tensors = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            if (!(e.getKey() instanceof String name)) {
                throw new TorchCheckpointException(file, "has a key that is " + RestrictedUnpickler.kind(e.getKey()) + ", not a tensor name");
            }
            if (!(e.getValue() instanceof TensorRef t)) {
                throw new TorchCheckpointException(file, "entry '" + name + "' is " + RestrictedUnpickler.kind(e.getValue())
                        + ", not a tensor (only a plain state dict can be loaded)");
            }
            tensors.put(name, t);
        }
        return Collections.unmodifiableMap(tensors);
    }

    /** Every storage is present with the size its record gives, every view inside its storage, and one type per storage. */
    private void checkStorages() throws TorchCheckpointException {
        Map<String, StorageRef> seen = new LinkedHashMap<>();
        for (Map.Entry<String, TensorRef> e : tensors.entrySet()) {
            String name = e.getKey();
            StorageRef s = e.getValue().storage();
            if (!STORAGE_KEY.matcher(s.key()).matches()) {
                throw new TorchCheckpointException(file, "tensor '" + name + "' names an invalid storage key");
            }
            StorageRef first = seen.putIfAbsent(s.key(), s);
            if (first != null && !first.equals(s)) {
                throw new TorchCheckpointException(file, "storage " + s.key() + " is recorded both as " + first.elements() + " x "
                        + first.dtype() + " and as " + s.elements() + " x " + s.dtype());
            }
            ZipEntry entry = storageEntry(s);
            if (entry == null) throw new TorchCheckpointException(file, "tensor '" + name + "': entry " + folder + "data/" + s.key() + " is missing");
            long needed = multiply(name, s.elements(), s.dtype().byteSize());
            if (entry.getSize() != needed) {
                throw new TorchCheckpointException(file, "tensor '" + name + "': entry " + entry.getName() + " holds " + entry.getSize()
                        + " bytes, but its storage record says " + s.elements() + " x " + s.dtype() + " = " + needed + " bytes");
            }
            TensorRef t = e.getValue();
            multiply(name, elements(name, t), s.dtype().byteSize());
            long last = lastElement(name, t);
            if (last >= s.elements()) {
                throw new TorchCheckpointException(file, "tensor '" + name + "' (size " + Arrays.toString(t.shape()) + ", stride "
                        + Arrays.toString(t.stride()) + ", offset " + t.offset() + ") reaches element " + last
                        + " of a storage of " + s.elements());
            }
        }
    }

    /** The highest storage index the view touches; -1 when it is empty. */
    private long lastElement(String name, TensorRef t) throws TorchCheckpointException {
        long last = t.offset();
        for (int d = 0; d < t.shape().length; d++) {
            if (t.shape()[d] == 0) return -1;
            last = add(name, last, multiply(name, t.shape()[d] - 1, t.stride()[d]));
        }
        return last;
    }

    private long elements(String name, TensorRef t) throws TorchCheckpointException {
        long n = 1;
        for (long d : t.shape()) n = multiply(name, n, d);
        return n;
    }

    private long multiply(String name, long a, long b) throws TorchCheckpointException {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw new TorchCheckpointException(file, "tensor '" + name + "': sizes overflow 64 bits");
        }
    }

    private long add(String name, long a, long b) throws TorchCheckpointException {
        try {
            return Math.addExact(a, b);
        } catch (ArithmeticException e) {
            throw new TorchCheckpointException(file, "tensor '" + name + "': offsets overflow 64 bits");
        }
    }

    private TorchCheckpointException wrongType(String name, TensorRef t, String method, String accepted) {
        return new TorchCheckpointException(file, "tensor '" + name + "' is " + t.storage().dtype() + "; " + method + " reads " + accepted);
    }
}
