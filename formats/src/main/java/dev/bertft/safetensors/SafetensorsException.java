package dev.bertft.safetensors;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A safetensors file (or shard index) that is malformed, or a request it cannot answer.
 * The message is one line and starts with the file, then the tensor when one is involved:
 * {@code /models/x.safetensors: tensor 'a.weight': data_offsets [0, 12] but F32 [2, 2] needs 16 bytes}.
 */
public final class SafetensorsException extends IOException {

    private static final long serialVersionUID = 1L;

    public SafetensorsException(Path file, String detail) {
        super(file + ": " + oneLine(detail));
    }

    public SafetensorsException(Path file, String tensor, String detail) {
        super(file + ": tensor '" + oneLine(tensor) + "': " + oneLine(detail));
    }

    /** Escapes control characters, so a hostile name cannot break the message over lines. */
    public static String oneLine(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7F) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.toString();
    }
}
