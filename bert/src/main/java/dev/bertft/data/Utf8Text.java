package dev.bertft.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Strict UTF-8: a byte sequence that is not UTF-8 is an error naming the file, never a silent U+FFFD. */
final class Utf8Text {
    /** Longest text (bytes in a file, characters in a table cell) one example may have: far beyond any review, and it bounds memory on a bad file. */
    static final int MAX_LENGTH = 64 << 20;

    private Utf8Text() {
    }

    static CharsetDecoder strictDecoder() {
        return StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
    }

    static BufferedReader reader(InputStream in) {
        return new BufferedReader(new InputStreamReader(in, strictDecoder()), 1 << 16);
    }

    /** The whole stream as text; {@code where} names it in errors. */
    static String readAll(InputStream in, String where) throws DataException {
        byte[] bytes;
        try {
            bytes = in.readNBytes(MAX_LENGTH + 1);
        } catch (DataException e) {
            throw e;
        } catch (IOException e) {
            throw new DataException("cannot read " + where + ": " + e.getMessage(), e);
        }
        if (bytes.length > MAX_LENGTH) throw new DataException(where + ": text longer than " + MAX_LENGTH + " bytes");
        try {
            return strictDecoder().decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw notUtf8(where, e);
        }
    }

    /**
     * The error for a table file whose decoder failed. A Reader decodes ahead of the parser, so the line is
     * found again here: decode the file from the start and count the line feeds before the first bad byte.
     */
    static DataException notUtf8(Path file, CharacterCodingException e) {
        CharsetDecoder decoder = strictDecoder();
        ByteBuffer bytes = ByteBuffer.allocate(1 << 16);
        CharBuffer chars = CharBuffer.allocate(1 << 16);
        long line = 1, offset = 0;
        try (InputStream in = Files.newInputStream(file)) {
            boolean end = false;
            while (true) {
                int n = end ? -1 : in.read(bytes.array(), bytes.position(), bytes.remaining());
                if (n < 0) end = true;
                else bytes.position(bytes.position() + n);
                bytes.flip();
                int start = bytes.position();
                CoderResult r = decoder.decode(bytes, chars, end);
                for (int i = start; i < bytes.position(); i++) if (bytes.get(i) == '\n') line++;
                offset += bytes.position() - start;
                if (r.isError()) break;
                if (end && !bytes.hasRemaining()) return notUtf8(file.toString(), e);   // not found again: say the file
                bytes.compact();
                chars.clear();
            }
        } catch (IOException io) {
            return notUtf8(file.toString(), e);
        }
        return new DataException(file + ":" + line + ": not valid UTF-8 text (byte offset " + offset + ")", e);
    }

    static DataException notUtf8(String where, CharacterCodingException e) {
        return new DataException(where + ": not valid UTF-8 text", e);
    }
}
