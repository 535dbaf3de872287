package dev.bertft.pytorch;

import dev.bertft.safetensors.StoredType;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The part of Python's pickle machine that {@code torch.save} uses for a state dict (protocol 2),
 * run on values only. Python's unpickler imports every GLOBAL it meets and calls it on REDUCE,
 * which is how a hostile pickle runs code; here a GLOBAL outside a short allow-list stops the
 * load at that opcode, and the allowed ones are never "called": REDUCE builds a plain record
 * ({@link TensorRef}) or a map from their arguments.
 *
 * <pre>
 * allowed globals            what REDUCE or BINPERSID makes of them
 * collections.OrderedDict    ()                                          -> an empty LinkedHashMap
 * torch._utils._rebuild_tensor_v2
 *                            (storage, offset, size, stride, requires_grad, hooks[, metadata]) -> TensorRef
 * torch._utils._rebuild_parameter   (tensor, requires_grad, hooks)       -> the tensor
 * torch.FloatStorage etc.    persistent id ("storage", type, key, location, numel) -> StorageRef
 * </pre>
 * Values: str as String, int as Long, bool as Boolean, None as {@link #NONE}, tuples as {@link Tuple},
 * dicts as LinkedHashMap. Every malformed input (a truncated stream, an unknown opcode, an
 * argument of the wrong kind) is a {@link Problem} that starts with the opcode's byte offset.
 */
final class RestrictedUnpickler {
    /** Python's None (maps and tuples here hold no Java nulls). */
    static final Object NONE = new Object() {
        @Override
        public String toString() {
            return "None";
        }
    };

    /** A tuple, compared by value. */
    record Tuple(List<Object> items) {
        Tuple {
            items = List.copyOf(items);
        }
    }

    /** An allowed class or function named by GLOBAL, as module.name. */
    record Global(String dotted) {
    }

    /** One storage of the archive: elements of one type in the entry {@code data/<key>}. */
    record StorageRef(StoredType dtype, String key, long elements) {
    }

    /** A tensor: a strided view of {@code storage}, in elements. */
    record TensorRef(StorageRef storage, long offset, long[] shape, long[] stride) {
    }

    /** Malformed or refused input; the message says where and what, without the file (the caller adds it). */
    static final class Problem extends Exception {
        private static final long serialVersionUID = 1L;

        Problem(String message) {
            super(message);
        }
    }

    private static final String ORDERED_DICT = "collections.OrderedDict";
    private static final String REBUILD_TENSOR = "torch._utils._rebuild_tensor_v2";
    private static final String REBUILD_PARAMETER = "torch._utils._rebuild_parameter";
    private static final Map<String, StoredType> STORAGES = Map.of(
            "torch.FloatStorage", StoredType.F32, "torch.HalfStorage", StoredType.F16, "torch.BFloat16Storage", StoredType.BF16,
            "torch.DoubleStorage", StoredType.F64, "torch.LongStorage", StoredType.I64, "torch.IntStorage", StoredType.I32,
            "torch.CharStorage", StoredType.I8, "torch.ByteStorage", StoredType.U8, "torch.BoolStorage", StoredType.BOOL);
    /** A global's module and name each end in a newline within this many bytes. */
    private static final int MAX_GLOBAL_PART = 256;

    private final byte[] code;
    private int pos;
    private int opStart;
    private final List<Object> stack = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();

    private RestrictedUnpickler(byte[] code) {
        this.code = code;
    }

    /** The value the pickle's STOP returns. */
    static Object load(byte[] code) throws Problem {
        return new RestrictedUnpickler(code).run();
    }

    private Object run() throws Problem {
        while (true) {
            opStart = pos;
            int op = u8();
            switch (op) {
                case 0x80 -> { // PROTO
                    int protocol = u8();
                    if (protocol > 5) throw problem("pickle protocol " + protocol + " is newer than any known");
                }
                case '.' -> { // STOP
                    return pop();
                }
                case '(' -> marks.add(stack.size());                                         // MARK
                case ')' -> stack.add(new Tuple(List.of()));                                  // EMPTY_TUPLE
                case 't' -> stack.add(new Tuple(popToMark()));                                // TUPLE
                case 0x85 -> stack.add(new Tuple(popItems(1)));                               // TUPLE1
                case 0x86 -> stack.add(new Tuple(popItems(2)));                               // TUPLE2
                case 0x87 -> stack.add(new Tuple(popItems(3)));                               // TUPLE3
                case '}' -> stack.add(new LinkedHashMap<Object, Object>());                    // EMPTY_DICT
                case 's' -> setItems(popItems(2));                                            // SETITEM
                case 'u' -> setItems(popToMark());                                            // SETITEMS
                case 'N' -> stack.add(NONE);                                                  // NONE
                case 0x88 -> stack.add(Boolean.TRUE);                                         // NEWTRUE
                case 0x89 -> stack.add(Boolean.FALSE);                                        // NEWFALSE
                case 'K' -> stack.add((long) u8());                                           // BININT1
                case 'M' -> stack.add((long) (u8() | u8() << 8));                             // BININT2
                case 'J' -> stack.add((long) (u8() | u8() << 8 | u8() << 16 | u8() << 24));  // BININT (signed 32)
                case 0x8a -> stack.add(long1());                                              // LONG1
                case 'X' -> stack.add(utf8(u32()));                                           // BINUNICODE
                case 0x8c -> stack.add(utf8(u8()));                                           // SHORT_BINUNICODE
                case 'q' -> memo.put((long) u8(), peek());                                    // BINPUT
                case 'r' -> memo.put(u32(), peek());                                          // LONG_BINPUT
                case 'h' -> stack.add(memoized(u8()));                                        // BINGET
                case 'j' -> stack.add(memoized(u32()));                                       // LONG_BINGET
                case 'c' -> stack.add(global(line(), line()));                                // GLOBAL
                case 'Q' -> stack.add(storage(pop()));                                        // BINPERSID
                case 'R' -> {                                                                 // REDUCE
                    Object args = pop();
                    stack.add(reduce(pop(), args));
                }
                case 'b' -> build(pop(), peek());                                             // BUILD
                default -> throw problem(String.format("unsupported pickle opcode 0x%02x", op)
                        + " (only what torch.save writes for a state dict is read)");
            }
        }
    }

    // ---------------------------------------------------------------- opcodes with meaning

    /** GLOBAL: only the allow-list, checked before anything else happens with it. */
    private Global global(String module, String name) throws Problem {
        String dotted = module + "." + name;
        if (dotted.equals(ORDERED_DICT) || dotted.equals(REBUILD_TENSOR) || dotted.equals(REBUILD_PARAMETER)
                || STORAGES.containsKey(dotted)) {
            return new Global(dotted);
        }
        throw problem("refuses global '" + dotted + "' (only PyTorch tensor records are read;"
                + " loading this file in Python would call it)");
    }

    private Object reduce(Object callable, Object args) throws Problem {
        if (!(callable instanceof Global g)) throw problem("REDUCE on " + kind(callable) + ", which is not a global");
        List<Object> a = tuple(args, "the arguments of " + g.dotted());
        switch (g.dotted()) {
            case ORDERED_DICT -> {
                if (!a.isEmpty()) throw problem("collections.OrderedDict called with arguments");
                return new LinkedHashMap<Object, Object>();
            }
            case REBUILD_TENSOR -> {
                if (a.size() != 6 && a.size() != 7) throw problem(REBUILD_TENSOR + " with " + a.size() + " arguments, not 6 or 7");
                if (!(a.get(0) instanceof StorageRef storage)) throw problem(REBUILD_TENSOR + " on " + kind(a.get(0)) + ", not a storage");
                long offset = nonNegative(a.get(1), "storage offset");
                long[] shape = longs(a.get(2), "size");
                long[] stride = longs(a.get(3), "stride");
                if (shape.length != stride.length) {
                    throw problem("tensor size " + Arrays.toString(shape) + " and stride " + Arrays.toString(stride) + " differ in rank");
                }
                return new TensorRef(storage, offset, shape, stride);
            }
            case REBUILD_PARAMETER -> {
                if (a.size() != 3 || !(a.get(0) instanceof TensorRef tensor)) {
                    throw problem(REBUILD_PARAMETER + " without a tensor as its first of 3 arguments");
                }
                return tensor;
            }
            default -> throw problem("global '" + g.dotted() + "' is only valid inside a storage record");
        }
    }

    /** BINPERSID: torch's reference to a storage, ("storage", type, key, location, numel). */
    private StorageRef storage(Object pid) throws Problem {
        List<Object> p = tuple(pid, "a persistent id");
        if (p.size() != 5 || !"storage".equals(p.get(0)) || !(p.get(1) instanceof Global type)
                || !STORAGES.containsKey(type.dotted()) || !(p.get(2) instanceof String key)) {
            throw problem("persistent id is not a storage record (\"storage\", type, key, location, numel)");
        }
        return new StorageRef(STORAGES.get(type.dotted()), key, nonNegative(p.get(4), "storage size"));
    }

    /** BUILD: only the state torch.save gives an OrderedDict (its _metadata), which nothing here needs. */
    private void build(Object state, Object target) throws Problem {
        if (!(target instanceof Map)) throw problem("BUILD on " + kind(target) + " (only a dict's state is accepted)");
        if (!(state instanceof Map) && state != NONE) throw problem("BUILD with " + kind(state) + " as a dict's state");
    }

    @SuppressWarnings("unchecked")
    private void setItems(List<Object> keysAndValues) throws Problem {
        if (keysAndValues.size() % 2 != 0) throw problem("SETITEMS with an odd number of items");
        if (!(peek() instanceof Map<?, ?> m)) throw problem("SETITEMS on " + kind(peek()) + ", not a dict");
        Map<Object, Object> map = (Map<Object, Object>) m;
        for (int i = 0; i < keysAndValues.size(); i += 2) {
            Object key = keysAndValues.get(i);
            // str and int keys are all a state dict has; hashing a deeply nested tuple could exhaust the stack
            if (!(key instanceof String) && !(key instanceof Long)) throw problem("dict key is " + kind(key) + ", not a str or int");
            map.put(key, keysAndValues.get(i + 1));
        }
    }

    // ---------------------------------------------------------------- stack and memo

    private Object pop() throws Problem {
        if (stack.isEmpty() || (!marks.isEmpty() && marks.get(marks.size() - 1) == stack.size())) {
            throw problem("stack underflow");
        }
        return stack.remove(stack.size() - 1);
    }

    private Object peek() throws Problem {
        if (stack.isEmpty()) throw problem("stack underflow");
        return stack.get(stack.size() - 1);
    }

    private List<Object> popItems(int n) throws Problem {
        Object[] items = new Object[n];
        for (int i = n - 1; i >= 0; i--) items[i] = pop();
        return Arrays.asList(items);
    }

    private List<Object> popToMark() throws Problem {
        if (marks.isEmpty()) throw problem("no MARK to pop to");
        int mark = marks.remove(marks.size() - 1);
        List<Object> items = new ArrayList<>(stack.subList(mark, stack.size()));
        stack.subList(mark, stack.size()).clear();
        return items;
    }

    private Object memoized(long index) throws Problem {
        Object v = memo.get(index);
        if (v == null) throw problem("memo entry " + index + " was never stored");
        return v;
    }

    // ---------------------------------------------------------------- reading operands

    private int u8() throws Problem {
        if (pos >= code.length) throw problem("the pickle ends in the middle of an opcode");
        return code[pos++] & 0xFF;
    }

    /** A 4-byte little-endian unsigned length or index. */
    private long u32() throws Problem {
        return (u8() | u8() << 8 | u8() << 16 | (long) u8() << 24);
    }

    /** LONG1: a little-endian two's-complement integer of up to 8 bytes here. */
    private long long1() throws Problem {
        int n = u8();
        if (n > 8) throw problem("integer of " + n + " bytes is too large");
        long v = 0;
        for (int i = 0; i < n; i++) v |= (long) u8() << (8 * i);
        if (n > 0 && n < 8 && (v & (1L << (8 * n - 1))) != 0) v |= -1L << (8 * n);   // sign-extend
        return v;
    }

    private String utf8(long length) throws Problem {
        if (length > code.length - pos) throw problem("string of " + length + " bytes runs past the end of the pickle");
        int start = pos;
        pos += (int) length;
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(code, start, (int) length)).toString();
        } catch (CharacterCodingException e) {
            throw problem("string is not valid UTF-8");
        }
    }

    /** One newline-terminated ASCII part of GLOBAL. */
    private String line() throws Problem {
        int start = pos;
        while (pos < code.length && code[pos] != '\n') {
            if (pos - start >= MAX_GLOBAL_PART) throw problem("GLOBAL name longer than " + MAX_GLOBAL_PART + " bytes");
            pos++;
        }
        if (pos >= code.length) throw problem("the pickle ends in the middle of an opcode");
        return new String(code, start, pos++ - start, StandardCharsets.ISO_8859_1);
    }

    // ---------------------------------------------------------------- checking values

    private List<Object> tuple(Object v, String what) throws Problem {
        if (!(v instanceof Tuple t)) throw problem(what + " is " + kind(v) + ", not a tuple");
        return t.items();
    }

    private long nonNegative(Object v, String what) throws Problem {
        if (!(v instanceof Long n) || n < 0) throw problem(what + " is " + kind(v) + ", not a non-negative integer");
        return n;
    }

    private long[] longs(Object v, String what) throws Problem {
        List<Object> items = tuple(v, "tensor " + what);
        long[] out = new long[items.size()];
        for (int i = 0; i < out.length; i++) out[i] = nonNegative(items.get(i), "tensor " + what + " entry");
        return out;
    }

    /** What a value is, in Python's words, for messages. */
    static String kind(Object v) {
        if (v instanceof String) return "a str";
        if (v instanceof Long) return "an int";
        if (v instanceof Boolean) return "a bool";
        if (v == NONE) return "None";
        if (v instanceof Tuple) return "a tuple";
        if (v instanceof Map) return "a dict";
        if (v instanceof Global g) return "global " + g.dotted();
        if (v instanceof StorageRef) return "a storage";
        if (v instanceof TensorRef) return "a tensor";
        return "a value";
    }

    private Problem problem(String what) {
        return new Problem("at byte " + opStart + ": " + what);
    }
}
