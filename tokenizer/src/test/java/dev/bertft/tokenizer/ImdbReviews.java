package dev.bertft.tokenizer;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * The review texts of aclImdb_v1_labeled.tar.gz, read with a minimal tar reader: 512-byte
 * headers (name at 0, ustar prefix at 345, size in octal at 124, type flag at 156), each file's
 * data padded to a multiple of 512, two zero blocks at the end.
 */
final class ImdbReviews {
    private ImdbReviews() {}

    static List<String> read(Path tarGz) throws IOException {
        List<String> reviews = new ArrayList<>();
        try (InputStream raw = new GZIPInputStream(Files.newInputStream(tarGz), 1 << 16);
             DataInputStream in = new DataInputStream(raw)) {
            byte[] header = new byte[512];
            while (true) {
                try {
                    in.readFully(header);
                } catch (EOFException e) {
                    break;
                }
                if (header[0] == 0) break; // end-of-archive block
                String name = field(header, 345, 155) + (header[345] == 0 ? "" : "/") + field(header, 0, 100);
                long size = Long.parseLong(field(header, 124, 12).trim(), 8);
                byte[] data = new byte[Math.toIntExact(size)];
                in.readFully(data);
                in.skipNBytes((512 - size % 512) % 512);
                boolean file = header[156] == '0' || header[156] == 0;
                if (file && name.endsWith(".txt") && (name.contains("/pos/") || name.contains("/neg/"))) {
                    reviews.add(new String(data, StandardCharsets.UTF_8));
                }
            }
        }
        return reviews;
    }

    private static String field(byte[] h, int at, int len) {
        int end = at;
        while (end < at + len && h[end] != 0) end++;
        return new String(h, at, end - at, StandardCharsets.US_ASCII);
    }
}
