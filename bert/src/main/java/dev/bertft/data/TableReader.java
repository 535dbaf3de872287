package dev.bertft.data;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

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
 * Examples from a table file: CSV or TSV with a header row (RFC 4180 quoting), or JSON: JSON Lines (one object
 * per line), an array of objects, or an object of columns, as datasets' json loader takes them. The text is in
 * one column, two for sentence pairs, or several joined ({@link TextColumns}); the label in another.
 *
 * <p>A label's {@link RawExample.Kind} follows what pandas and JSON would make of it: an integer (a JSON
 * integer, or a CSV/TSV cell of digits with an optional minus sign), a float (a JSON number with a fraction
 * or exponent, or a cell such as 3.5, -0.2 or 1e-3), or a name. A list label is a JSON list (of names, or of
 * 0s and 1s, one per class) or a CSV/TSV cell of names separated by {@value #LIST_SEPARATOR}: "sports|politics".
 */
final class TableReader {
    static final Pattern INTEGER = Pattern.compile("-?[0-9]{1,18}");
    private static final Pattern FLOAT = Pattern.compile("[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?");
    static final String LIST_SEPARATOR = "|";
    private static final ObjectMapper JSON = new ObjectMapper();

    private TableReader() {
    }

    /** The file's examples; with {@code labelColumn} null, texts only (labels null), as prediction reads them. */
    static List<RawExample> read(Path file, TextColumns textColumns, String labelColumn) throws IOException {
        String format = format(file);
        if (format == null) throw new DataException(file + ": unsupported data file (expected .csv, .tsv, .jsonl, .json, a .tar.gz or an aclImdb folder)");
        try (InputStream in = Files.newInputStream(file); BufferedReader reader = Utf8Text.reader(in)) {
            reader.mark(1);
            if (reader.read() != '\uFEFF') reader.reset();   // a byte order mark, as Excel and Notepad write one
            List<RawExample> rows = format.equals("jsonl")
                    ? readJson(reader, file.toString(), textColumns, labelColumn)
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
                                                  TextColumns textColumns, String labelColumn) throws IOException {
        CsvReader csv = new CsvReader(reader, delimiter, file);
        List<RawExample> rows = new ArrayList<>();
        List<String> header = csv.next();
        if (header == null) throw new DataException(file + ": empty file, expected a header row");
        int[] text = new int[textColumns.names().size()];
        for (int i = 0; i < text.length; i++) text[i] = column(header, textColumns.names().get(i), file);
        int label = labelColumn == null ? -1 : column(header, labelColumn, file);
        for (List<String> record; (record = csv.next()) != null; ) {
            String where = file + ":" + csv.recordLine();
            if (record.size() != header.size()) {
                throw new DataException(where + ": " + record.size() + " fields, but the header has " + header.size());
            }
            String[] texts = new String[text.length];
            for (int i = 0; i < text.length; i++) texts[i] = record.get(text[i]);
            if (label < 0) {
                rows.add(example(texts, null, null, List.of(), textColumns, null, where));
                continue;
            }
            String labelText = record.get(label).trim();
            if (labelText.contains(LIST_SEPARATOR)) {
                List<String> names = new ArrayList<>();
                for (String name : labelText.split(Pattern.quote(LIST_SEPARATOR), -1)) {
                    if (name.isBlank()) throw new DataException(where + ": empty label name in '" + labelText + "'");
                    names.add(name.trim());
                }
                rows.add(example(texts, labelText, RawExample.Kind.DELIMITED, names, textColumns, labelColumn, where));
            } else {
                rows.add(example(texts, labelText, kindOf(labelText, where), List.of(labelText), textColumns, labelColumn, where));
            }
        }
        return rows;
    }

    /**
     * JSON as datasets' json loader reads it: JSON Lines (one object per line; objects may also span lines), one array
     * of objects, or one object of columns ({"text": [...], "label": [...]}). Each example's place is the line its
     * object starts on, or its row in the columns.
     */
    private static List<RawExample> readJson(BufferedReader reader, String file, TextColumns textColumns, String labelColumn)
            throws IOException {
        List<RawExample> rows = new ArrayList<>();
        try (JsonParser p = JSON.getFactory().createParser(reader)) {
            JsonToken t = p.nextToken();
            boolean array = t == JsonToken.START_ARRAY;
            if (array) t = p.nextToken();
            for (; t != null && !(array && t == JsonToken.END_ARRAY); t = p.nextToken()) {
                String where = file + ":" + p.currentTokenLocation().getLineNr();
                JsonNode node = p.readValueAsTree();
                if (node == null || !node.isObject()) throw new DataException(where + ": expected a JSON object");
                if (!array && rows.isEmpty() && node.path(textColumns.names().get(0)).isArray()) {
                    if (p.nextToken() != null) throw new DataException(where + ": an object of columns must be the file's only value");
                    return fromColumns(node, file, textColumns, labelColumn);
                }
                rows.add(fromObject(node, where, textColumns, labelColumn));
            }
            if (array && p.nextToken() != null) {
                throw new DataException(file + ":" + p.currentTokenLocation().getLineNr() + ": more after the array of examples");
            }
        } catch (JsonProcessingException e) {
            throw new DataException(file + ":" + e.getLocation().getLineNr() + ": not valid JSON (" + e.getOriginalMessage() + ")");
        }
        return rows;
    }

    /** The examples of an object of columns: row i takes element i of each column, which must all have as many. */
    private static List<RawExample> fromColumns(JsonNode columns, String file, TextColumns textColumns, String labelColumn)
            throws DataException {
        List<String> needed = new ArrayList<>(textColumns.names());
        if (labelColumn != null) needed.add(labelColumn);
        int n = columns.path(needed.get(0)).size();
        for (String c : needed) {
            JsonNode column = columns.get(c);
            if (column == null) throw new DataException(file + ": no column '" + c + "' (columns: " + fieldNames(columns) + ")");
            if (!column.isArray() || column.size() != n) {
                throw new DataException(file + ": column '" + c + "' is not a list of " + n + " values, as '" + needed.get(0) + "' is");
            }
        }
        List<RawExample> rows = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            ObjectNode row = JSON.createObjectNode();
            for (String c : needed) row.set(c, columns.get(c).get(i));
            rows.add(fromObject(row, file + ": row " + (i + 1), textColumns, labelColumn));
        }
        return rows;
    }

    /** One example from its JSON object; {@code where} names it in errors. */
    private static RawExample fromObject(JsonNode node, String where, TextColumns textColumns, String labelColumn) throws DataException {
        List<String> columns = textColumns.names();
        String[] texts = new String[columns.size()];
        for (int i = 0; i < texts.length; i++) {
            JsonNode t = node.get(columns.get(i));
            if (t == null) throw new DataException(where + ": no field '" + columns.get(i) + "' (fields: " + fieldNames(node) + ")");
            if (!t.isTextual()) throw new DataException(where + ": field '" + columns.get(i) + "' is not a string");
            texts[i] = t.asText();
        }
        if (labelColumn == null) return example(texts, null, null, List.of(), textColumns, null, where);
        JsonNode l = node.get(labelColumn);
        if (l == null) throw new DataException(where + ": no field '" + labelColumn + "' (fields: " + fieldNames(node) + ")");
        if (l.isArray()) return listExample(texts, l, textColumns, labelColumn, where);
        RawExample.Kind kind;
        String label;
        if (l.isIntegralNumber() && l.canConvertToLong()) {
            kind = RawExample.Kind.INTEGER;
            label = Long.toString(l.asLong());
        } else if (l.isNumber()) {
            if (!Double.isFinite(l.asDouble())) throw new DataException(where + ": label " + l + " is not a finite number");
            kind = RawExample.Kind.FLOAT;
            label = l.asText();
        } else if (l.isTextual()) {
            kind = RawExample.Kind.NAME;
            label = l.asText().trim();
        } else {
            throw new DataException(where + ": label " + l + " is neither a number, a string nor a list");
        }
        return example(texts, label, kind, List.of(label), textColumns, labelColumn, where);
    }

    /** A CSV/TSV cell's kind: FLOAT for a finite number that is not an integer (pandas' float64 column). */
    private static RawExample.Kind kindOf(String cell, String where) throws DataException {
        if (INTEGER.matcher(cell).matches()) return RawExample.Kind.INTEGER;
        if (!FLOAT.matcher(cell).matches()) return RawExample.Kind.NAME;
        if (!Double.isFinite(Double.parseDouble(cell))) throw new DataException(where + ": label " + cell + " is not a finite number");
        return RawExample.Kind.FLOAT;
    }

    /** A JSON list label: all strings (class names) or all numbers (a multi-hot row). */
    private static RawExample listExample(String[] texts, JsonNode list, TextColumns textColumns, String labelColumn,
                                          String where) throws DataException {
        List<String> items = new ArrayList<>();
        boolean names = true, numbers = true;
        for (JsonNode item : list) {
            names &= item.isTextual();
            numbers &= item.isNumber();
            items.add(item.isTextual() ? item.asText().trim() : item.asText());
        }
        if (!names && !numbers) throw new DataException(where + ": label " + list + " must list only class names or only 0s and 1s");
        if (names && items.contains("")) throw new DataException(where + ": empty label name in " + list);
        RawExample.Kind kind = names ? RawExample.Kind.NAME_LIST : RawExample.Kind.MULTI_HOT;
        return example(texts, list.toString(), kind, items, textColumns, labelColumn, where);
    }

    /** An example from its text columns' values ({@code texts}, in the order of the columns) and its label. */
    private static RawExample example(String[] texts, String label, RawExample.Kind kind, List<String> items,
                                      TextColumns textColumns, String labelColumn, String where) throws DataException {
        String text = textColumns.text(texts), pair = textColumns.secondText(texts);
        if (label == null) return new RawExample(text, pair, null, null, items, where);   // to predict: an empty text is classified too
        if (text.isBlank()) throw new DataException(where + ": empty text in " + textColumns.describeText());
        if (pair != null && pair.isBlank()) throw new DataException(where + ": empty text in '" + textColumns.names().get(1) + "'");
        if (label.isEmpty()) throw new DataException(where + ": empty label in '" + labelColumn + "'");
        return new RawExample(text, pair, label, kind, items, where);
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
}
