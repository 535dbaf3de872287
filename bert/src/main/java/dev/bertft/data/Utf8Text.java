package dev.bertft.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** Strict UTF-8: a byte sequence that is not UTF-8 is an error naming the file, never a silent U+FFFD. */
final class Utf8Text {
    /** Longest text one example may have; far beyond any review, and it bounds memory on a bad file. */
    static final int MAX_CHARS = 64 << 20;

    private Utf8Text() {
    }

    static BufferedReader reader(InputStream in) {
        return new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)), 1 << 16);
    }

    /** The whole stream as text; {@code where} names it in errors. */
    static String readAll(InputStream in, String where) throws DataException {
        StringBuilder text = new StringBuilder();
        char[] buffer = new char[8192];
        try {
            BufferedReader r = reader(in);
            for (int n; (n = r.read(buffer)) >= 0; ) {
                if (text.length() + n > MAX_CHARS) throw new DataException(where + ": text longer than " + MAX_CHARS + " characters");
                text.append(buffer, 0, n);
            }
        } catch (CharacterCodingException e) {
            throw notUtf8(where, e);
        } catch (DataException e) {
            throw e;
        } catch (IOException e) {
            throw new DataException("cannot read " + where + ": " + e, e);
        }
        return text.toString();
    }

    static DataException notUtf8(String where, CharacterCodingException e) {
        return new DataException(where + ": not valid UTF-8 text (" + e.getClass().getSimpleName() + ")", e);
    }
}
