package dev.bertft.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Examples from a table file: CSV or TSV with a header row (RFC 4180 quoting), or JSON Lines (one object per
 * line). The text is in one column, or two for sentence pairs; the label in another.
 *
 * <p>A label counts as numeric when it is an integer: a JSON integer, or a CSV/TSV cell of digits with an
 * optional minus sign (pandas would read such a column as int64). Anything else is a label name.
 */
final class TableReader {
    static final Pattern INTEGER = Pattern.compile("-?[0-9]{1,18}");
    private static final ObjectMapper JSON = new ObjectMapper();

    private TableReader() {
    }

    static List<RawExample> read(Path file, List<String> textColumns, String labelColumn) throws IOException {
        String format = format(file);
        if (format == null) throw new DataException(file + ": unsupported data file (expected .csv, .tsv, .jsonl, .json, a .tar.gz or an aclImdb folder)");
        if (textColumns.isEmpty() || textColumns.size() > 2) throw new DataException("text columns must be one column, or two for sentence pairs; got " + textColumns);
        try (InputStream in = Files.newInputStream(file); BufferedReader reader = Utf8Text.reader(in)) {
            List<RawExample> rows = format.equals("jsonl")
                    ? readJsonLines(reader, file.toString(), textColumns, labelColumn)
                    : readDelimited(reader, format.equals("tsv") ? '\t' : ',', file.toString(), textColumns, labelColumn);
            if (rows.isEmpty()) throw new DataException(file + ": no examples");
            return rows;
        } catch (CharacterCodingException e) {
            throw Utf8Text.notUtf8(file, e);
        }
    }

    private static String format(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".csv")) return "csv";
        if (name.endsWith(".tsv") || name.endsWith(".tab")) return "tsv";
        if (name.endsWith(".jsonl") || name.endsWith(".ndjson") || name.endsWith(".json")) return "jsonl";
        return null;
    }

    private static List<RawExample> readDelimited(BufferedReader reader, char delimiter, String file,
                                                  List<String> textColumns, String labelColumn) throws IOException {
        CsvReader csv = new CsvReader(reader, delimiter, file);
        List<RawExample> rows = new ArrayList<>();
        List<String> header = csv.next();
        if (header == null) throw new DataException(file + ": empty file, expected a header row");
        header.set(0, stripBom(header.get(0)));
        int[] text = new int[textColumns.size()];
        for (int i = 0; i < text.length; i++) text[i] = column(header, textColumns.get(i), file);
        int label = column(header, labelColumn, file);
        for (List<String> record; (record = csv.next()) != null; ) {
            String where = file + ":" + csv.recordLine();
            if (record.size() != header.size()) {
                throw new DataException(where + ": " + record.size() + " fields, but the header has " + header.size());
            }
            String labelText = record.get(label).trim();
            rows.add(example(record.get(text[0]), text.length > 1 ? record.get(text[1]) : null,
                    labelText, INTEGER.matcher(labelText).matches(), textColumns, labelColumn, where));
        }
        return rows;
    }

    private static List<RawExample> readJsonLines(BufferedReader reader, String file,
                                                  List<String> textColumns, String labelColumn) throws IOException {
        List<RawExample> rows = new ArrayList<>();
        int lineNumber = 0;
        for (String line; (line = reader.readLine()) != null; ) {
            lineNumber++;
            if (lineNumber == 1) line = stripBom(line);
            if (line.isBlank()) continue;
            String where = file + ":" + lineNumber;
            if (lineNumber == 1 && line.stripLeading().startsWith("[")) {
                throw new DataException(where + ": a JSON array; write one JSON object per line (JSON Lines)");
            }
            JsonNode node;
            try {
                node = JSON.readTree(line);
            } catch (JsonProcessingException e) {
                throw new DataException(where + ": not valid JSON (" + e.getOriginalMessage() + ")");
            }
            if (node == null || !node.isObject()) throw new DataException(where + ": expected a JSON object");
            String[] texts = new String[2];
            for (int i = 0; i < textColumns.size(); i++) {
                JsonNode t = node.get(textColumns.get(i));
                if (t == null) throw new DataException(where + ": no field '" + textColumns.get(i) + "' (fields: " + fieldNames(node) + ")");
                if (!t.isTextual()) throw new DataException(where + ": field '" + textColumns.get(i) + "' is not a string");
                texts[i] = t.asText();
            }
            JsonNode l = node.get(labelColumn);
            if (l == null) throw new DataException(where + ": no field '" + labelColumn + "' (fields: " + fieldNames(node) + ")");
            boolean numeric = l.isIntegralNumber() && l.canConvertToLong();
            if (!numeric && !l.isTextual()) throw new DataException(where + ": label " + l + " is neither an integer nor a string");
            rows.add(example(texts[0], texts[1], numeric ? Long.toString(l.asLong()) : l.asText().trim(), numeric,
                    textColumns, labelColumn, where));
        }
        return rows;
    }

    private static RawExample example(String text, String pair, String label, boolean numeric,
                                      List<String> textColumns, String labelColumn, String where) throws DataException {
        if (text.isBlank()) throw new DataException(where + ": empty text in '" + textColumns.get(0) + "'");
        if (pair != null && pair.isBlank()) throw new DataException(where + ": empty text in '" + textColumns.get(1) + "'");
        if (label.isEmpty()) throw new DataException(where + ": empty label in '" + labelColumn + "'");
        return new RawExample(text, pair, label, numeric, where);
    }

    private static int column(List<String> header, String name, String file) throws DataException {
        int i = header.indexOf(name);
        if (i < 0) throw new DataException(file + ": no column '" + name + "' (columns: " + String.join(", ", header) + ")");
        return i;
    }

    private static String fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return String.join(", ", names);
    }

    private static String stripBom(String s) {
        return s.startsWith("\uFEFF") ? s.substring(1) : s;
    }
}
