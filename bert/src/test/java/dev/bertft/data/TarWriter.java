package dev.bertft.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

/** A minimal tar writer for test fixtures: ustar headers, GNU 'L' records for names over 100 bytes. */
final class TarWriter implements AutoCloseable {
    private final OutputStream out;

    TarWriter(OutputStream out) {
        this.out = out;
    }

    static TarWriter gzip(Path file) throws IOException {
        return new TarWriter(new GZIPOutputStream(Files.newOutputStream(file)));
    }

    void directory(String name) throws IOException {
        header(name.endsWith("/") ? name : name + "/", 0, '5');
    }

    void file(String name, String text) throws IOException {
        file(name, text.getBytes(StandardCharsets.UTF_8));
    }

    void file(String name, byte[] data) throws IOException {
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        if (nameBytes.length > 100) {
            header("././@LongLink", nameBytes.length + 1, 'L');
            out.write(nameBytes);
            out.write(0);
            pad(nameBytes.length + 1);
            name = name.substring(0, 100);
        }
        header(name, data.length, '0');
        out.write(data);
        pad(data.length);
    }

    void symlink(String name) throws IOException {
        header(name, 0, '2');
    }

    private void header(String name, long size, char type) throws IOException {
        byte[] h = new byte[512];
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(n, 0, h, 0, Math.min(100, n.length));
        octal(h, 100, 8, 0644);
        octal(h, 108, 8, 0);
        octal(h, 116, 8, 0);
        octal(h, 124, 12, size);
        octal(h, 136, 12, 1_700_000_000L);
        h[156] = (byte) type;
        System.arraycopy("ustar\u000000".getBytes(StandardCharsets.US_ASCII), 0, h, 257, 8);
        for (int i = 148; i < 156; i++) h[i] = ' ';
        long sum = 0;
        for (byte b : h) sum += b & 0xff;
        octal(h, 148, 7, sum);
        out.write(h);
    }

    private static void octal(byte[] h, int offset, int length, long value) {
        String s = Long.toOctalString(value);
        s = "0".repeat(length - 1 - s.length()) + s;
        System.arraycopy(s.getBytes(StandardCharsets.US_ASCII), 0, h, offset, length - 1);
    }

    private void pad(long size) throws IOException {
        out.write(new byte[(int) ((512 - size % 512) % 512)]);
    }

    @Override
    public void close() throws IOException {
        out.write(new byte[1024]);
        out.close();
    }

    static byte[] bytes(ThrowingWriter w) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (TarWriter t = new TarWriter(b)) {
            w.write(t);
        }
        return b.toByteArray();
    }

    interface ThrowingWriter {
        void write(TarWriter t) throws IOException;
    }
}
