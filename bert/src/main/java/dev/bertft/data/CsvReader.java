package dev.bertft.data;

import java.io.IOException;
import java.io.Reader;
import java.util.ArrayList;
import java.util.List;

/**
 * RFC 4180 records from a character stream, with a configurable delimiter (',' for CSV, '\t' for TSV):
 * a field in double quotes may hold delimiters, line breaks and doubled quotes ("" for one "); a quote
 * inside an unquoted field is an ordinary character. Lines end with \n, \r\n or \r. Empty lines are
 * skipped, as pandas and Hugging Face's csv loader do.
 */
final class CsvReader {
    private final Reader in;
    private final char delimiter;
    private final String file;
    private final char[] buffer = new char[1 << 16];
    private int pos;
    private int limit;
    private int line = 1;        // line of the next character
    private int recordLine;      // line the last record started on

    CsvReader(Reader in, char delimiter, String file) {
        this.in = in;
        this.delimiter = delimiter;
        this.file = file;
    }

    /** Line (1-based) where the record last returned by {@link #next} began. */
    int recordLine() {
        return recordLine;
    }

    /** The next record's fields, or null at the end of the input. */
    List<String> next() throws IOException {
        int c;
        while ((c = peek()) == '\n' || c == '\r') readLineBreak();   // skip empty lines
        if (c < 0) return null;
        recordLine = line;
        List<String> fields = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        while (true) {
            c = peek();
            if (c == '"' && field.length() == 0) {
                readQuoted(field);
                c = peek();
                if (c >= 0 && c != delimiter && c != '\n' && c != '\r') {
                    throw new DataException(file + ":" + line + ": unexpected character '" + (char) c + "' after a closing quote");
                }
                continue;
            }
            if (c < 0 || c == '\n' || c == '\r') {
                fields.add(field.toString());
                if (c >= 0) readLineBreak();
                return fields;
            }
            take();
            if (c == delimiter) {
                fields.add(field.toString());
                field.setLength(0);
            } else {
                append(field, (char) c);
            }
        }
    }

    private void readQuoted(StringBuilder field) throws IOException {
        int startLine = line;
        take();   // the opening quote
        while (true) {
            int c = take();
            if (c < 0) throw new DataException(file + ":" + startLine + ": quoted field never closed");
            if (c == '"') {
                if (peek() != '"') return;
                take();
            }
            if (c == '\n' || (c == '\r' && peek() != '\n')) line++;
            append(field, (char) c);
        }
    }

    private void append(StringBuilder field, char c) throws DataException {
        if (field.length() >= Utf8Text.MAX_LENGTH) {
            throw new DataException(file + ":" + recordLine + ": field longer than " + Utf8Text.MAX_LENGTH + " characters");
        }
        field.append(c);
    }

    private void readLineBreak() throws IOException {
        if (take() == '\r' && peek() == '\n') take();
        line++;
    }

    private int peek() throws IOException {
        if (pos == limit) {
            limit = in.read(buffer, 0, buffer.length);
            pos = 0;
            if (limit <= 0) {
                limit = 0;
                return -1;
            }
        }
        return buffer[pos];
    }

    private int take() throws IOException {
        int c = peek();
        if (c >= 0) pos++;
        return c;
    }
}
