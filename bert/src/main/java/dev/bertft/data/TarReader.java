package dev.bertft.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Reads a tar stream entry by entry without unpacking it: POSIX ustar (name + prefix), GNU long names
 * ('L' entries) and pax extended headers ('x', for the path). Everything that is not a regular file comes
 * back with {@code isFile() == false} so the caller can skip it.
 *
 * <p>Layout: each entry is a 512-byte header followed by its data padded to a multiple of 512; the archive
 * ends with zero-filled blocks. Header fields used: name [0,100), size [124,136) in octal (or GNU base-256
 * when the top bit of the first byte is set), checksum [148,156), type flag [156], magic [257,263),
 * prefix [345,500).
 */
final class TarReader {
    private static final int BLOCK = 512;
    private static final int MAX_META_BYTES = 1 << 20;   // long-name and pax records: a path, not a payload

    record Entry(String name, long size, boolean isFile) {
    }

    private final InputStream in;
    private final String archive;
    private final byte[] header = new byte[BLOCK];
    private long remaining;   // unread data bytes of the current entry
    private long padding;     // zero bytes after them up to the next header
    private String current = "";

    TarReader(InputStream in, String archive) {
        this.in = in;
        this.archive = archive;
    }

    /** The next entry, or null at the end of the archive. Unread data of the previous entry is skipped. */
    Entry next() throws IOException {
        skip(remaining + padding);
        remaining = padding = 0;
        String longName = null;
        String paxPath = null;
        while (true) {
            if (!readHeader()) return null;
            if (isZeroBlock()) return null;
            checkChecksum();
            long size = number(124, 12);
            char type = (char) header[156];
            if (type == 'L' || type == 'x') {
                byte[] meta = readMeta(size);
                if (type == 'L') longName = cString(meta, 0, meta.length);
                else paxPath = paxPath(meta);
                continue;
            }
            if (type == 'g' || type == 'K') {   // global pax header, GNU long link name: nothing we use
                skip(size + pad(size));
                continue;
            }
            String name = paxPath != null ? paxPath : longName != null ? longName : ustarName();
            current = name;
            boolean isFile = type == '0' || type == '\0' || type == '7';
            // only regular files carry data we may read; a hard link's or directory's size field is ignored
            remaining = (type == '1' || type == '2' || type == '5') ? 0 : size;
            padding = pad(remaining);
            return new Entry(name, isFile ? size : 0, isFile);
        }
    }

    /** The current entry's data; reading stops at its end. Closing it does not close the archive. */
    InputStream body() {
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (remaining == 0) return -1;
                int n = in.read(b, off, (int) Math.min(len, remaining));
                if (n < 0) throw truncated();
                remaining -= n;
                return n;
            }
        };
    }

    private boolean readHeader() throws IOException {
        int got = in.readNBytes(header, 0, BLOCK);
        if (got == 0) return false;   // no end-of-archive blocks; GNU tar accepts this too
        if (got < BLOCK) throw truncated();
        return true;
    }

    private boolean isZeroBlock() {
        for (byte b : header) if (b != 0) return false;
        return true;
    }

    /** Sum of the header's bytes with the checksum field counted as spaces; old tars summed signed bytes. */
    private void checkChecksum() throws DataException {
        long unsigned = 0, signed = 0;
        for (int i = 0; i < BLOCK; i++) {
            int b = (i >= 148 && i < 156) ? ' ' : header[i];
            unsigned += b & 0xff;
            signed += (byte) b;
        }
        long stored = number(148, 8);
        if (stored != unsigned && stored != signed) {
            throw new DataException(archive + ": not a tar archive, or corrupt after entry '" + current + "' (bad header checksum)");
        }
    }

    /** An octal field (NUL- or space-terminated), or GNU base-256 for sizes of 8 GiB and more. */
    private long number(int offset, int length) throws DataException {
        if ((header[offset] & 0x80) != 0) {
            long v = header[offset] & 0x7f;
            for (int i = 1; i < length; i++) {
                if (v > (Long.MAX_VALUE >> 8)) throw new DataException(archive + ": size field out of range after entry '" + current + "'");
                v = (v << 8) | (header[offset + i] & 0xff);
            }
            return v;
        }
        long v = 0;
        int i = offset, end = offset + length;
        while (i < end && header[i] == ' ') i++;
        for (; i < end && header[i] != 0 && header[i] != ' '; i++) {
            int digit = header[i] - '0';
            if (digit < 0 || digit > 7) throw new DataException(archive + ": not a tar archive, or corrupt after entry '" + current + "' (bad octal field)");
            v = v * 8 + digit;
        }
        return v;
    }

    private String ustarName() {
        String name = cString(header, 0, 100);
        boolean ustar = header[257] == 'u' && header[258] == 's' && header[259] == 't' && header[260] == 'a' && header[261] == 'r';
        String prefix = ustar ? cString(header, 345, 155) : "";
        return prefix.isEmpty() ? name : prefix + "/" + name;
    }

    private byte[] readMeta(long size) throws IOException {
        if (size > MAX_META_BYTES) throw new DataException(archive + ": header record of " + size + " bytes after entry '" + current + "'");
        byte[] meta = in.readNBytes((int) size);
        if (meta.length < size) throw truncated();
        skip(pad(size));
        return meta;
    }

    /** pax records are "LENGTH key=value\n", LENGTH counting the whole record in bytes. */
    private String paxPath(byte[] meta) throws DataException {
        String path = null;
        int pos = 0;
        while (pos < meta.length) {
            int space = pos;
            while (space < meta.length && meta[space] != ' ') space++;
            int length;
            try {
                length = Integer.parseInt(new String(meta, pos, space - pos, StandardCharsets.US_ASCII));
            } catch (NumberFormatException e) {
                throw new DataException(archive + ": bad pax header after entry '" + current + "'");
            }
            if (length <= space - pos || pos + length > meta.length) throw new DataException(archive + ": bad pax header after entry '" + current + "'");
            String record = new String(meta, space + 1, pos + length - space - 2, StandardCharsets.UTF_8);
            if (record.startsWith("path=")) path = record.substring("path=".length());
            pos += length;
        }
        return path;
    }

    private void skip(long n) throws IOException {
        while (n > 0) {
            long skipped = in.skip(n);
            if (skipped <= 0) {
                if (in.read() < 0) throw truncated();
                skipped = 1;
            }
            n -= skipped;
        }
    }

    private DataException truncated() {
        return new DataException(archive + ": archive is truncated (in entry '" + current + "')");
    }

    private static long pad(long size) {
        return (BLOCK - size % BLOCK) % BLOCK;
    }

    private static String cString(byte[] b, int offset, int length) {
        int end = offset;
        while (end < offset + length && b[end] != 0) end++;
        return new String(b, offset, end - offset, StandardCharsets.UTF_8);
    }
}
