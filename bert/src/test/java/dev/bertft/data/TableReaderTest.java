package dev.bertft.data;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TableReaderTest {
    @TempDir
    Path tmp;

    @Test
    void csvQuotingEdgeCases() throws IOException {
        String csv = "\uFEFFid,text,label\r\n"
                + "1,\"Hello, world\",pos\r\n"
                + "2,\"She said \"\"hi\"\"\",neg\r\n"
                + "\r\n"                                        // empty line: skipped
                + "3,\"multi\nline\r\ntext\",pos\n"
                + "4,plain \"quoted\" inside,neg\r"            // lone CR ends a line too
                + "5,\"\"\"\",pos\n"                            // a field that is one quote
                + "6,\"a,\"\"b\"\",c\",neg";                    // no final newline
        Path file = Files.writeString(tmp.resolve("d.csv"), csv, StandardCharsets.UTF_8);
        List<RawExample> rows = TableReader.read(file, TextColumns.of("text"), "label");
        assertEquals(List.of("Hello, world", "She said \"hi\"", "multi\nline\r\ntext", "plain \"quoted\" inside", "\"", "a,\"b\",c"),
                rows.stream().map(RawExample::text).toList());
        assertEquals(List.of("pos", "neg", "pos", "neg", "pos", "neg"), rows.stream().map(RawExample::label).toList());
        // the line a record starts on, counting the quoted line breaks of record 3
        assertEquals(List.of(file + ":2", file + ":3", file + ":5", file + ":8", file + ":9", file + ":10"),
                rows.stream().map(RawExample::where).toList());
    }

    /** Python's csv module is the reference writer: random awkward fields must come back exactly. */
    @Test
    void readsWhatPythonsCsvWriterWrites() throws IOException, InterruptedException {
        Path file = tmp.resolve("py.csv");
        String script = "import csv, random, sys\n"
                + "r = random.Random(1234)\n"
                + "alphabet = ['a', 'b', ' ', ',', '\"', '\\n', '\\r\\n', '\\t', 'é', '😀', \"'\"]\n"
                + "f = open(sys.argv[1], 'w', newline='', encoding='utf-8')\n"
                + "w = csv.writer(f)\n"
                + "w.writerow(['text', 'label'])\n"
                + "for i in range(300):\n"
                + "    t = ''.join(r.choice(alphabet) for _ in range(r.randint(1, 30)))\n"
                + "    w.writerow(['x' + t + 'x', r.choice(['yes', 'no', 'maybe, not'])])\n"
                + "f.close()\n"
                + "import json\n"
                + "print(json.dumps(list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))[1:]))\n";
        Process p;
        try {
            p = new ProcessBuilder("python3", "-c", script, file.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            Assumptions.abort("python3 not available: " + e.getMessage());
            return;
        }
        String json = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), json);
        List<List<String>> expected = new ArrayList<>();
        new ObjectMapper().readTree(json).forEach(r -> expected.add(List.of(r.get(0).asText(), r.get(1).asText())));

        List<RawExample> rows = TableReader.read(file, TextColumns.of("text"), "label");
        assertEquals(300, rows.size());
        assertEquals(expected, rows.stream().map(r -> List.of(r.text(), r.label())).toList());
    }

    @Test
    void tsvAndJsonLinesWithSentencePairs() throws IOException {
        Path tsv = Files.writeString(tmp.resolve("d.tsv"), "sentence1\tsentence2\tlabel\nA cat.\tA feline.\t1\n\"Tab\there\"\tno\t0\n");
        List<RawExample> t = TableReader.read(tsv, TextColumns.of("sentence1", "sentence2"), "label");
        assertEquals(List.of("A cat.", "Tab\there"), t.stream().map(RawExample::text).toList());
        assertEquals(List.of("A feline.", "no"), t.stream().map(RawExample::textPair).toList());
        assertEquals(RawExample.Kind.INTEGER, t.get(0).kind());

        Path jsonl = Files.writeString(tmp.resolve("d.jsonl"),
                "{\"text\": \"first\", \"label\": 2}\n\n{\"label\": \"neg\", \"text\": \"line\\nbreak \\u00e9\", \"extra\": [1]}\n");
        List<RawExample> j = TableReader.read(jsonl, TextColumns.of("text"), "label");
        assertEquals(List.of("first", "line\nbreak \u00e9"), j.stream().map(RawExample::text).toList());
        assertEquals(List.of("2", "neg"), j.stream().map(RawExample::label).toList());
        assertEquals(List.of(RawExample.Kind.INTEGER, RawExample.Kind.NAME), j.stream().map(RawExample::kind).toList());
        assertEquals(jsonl + ":3", j.get(1).where());
        assertNull(j.get(0).textPair());
    }

    /**
     * What datasets' json loader reads besides JSON Lines, as json.dump writes it: one array of objects (pretty-printed,
     * each example placed at the line its object starts on), and one object of columns (pandas' to_json(orient="list")
     * shape), with a list label per row. A byte order mark is skipped.
     */
    @Test
    void jsonArraysAndObjectsOfColumnsReadAsDatasetsReadsThem() throws IOException {
        Path array = Files.writeString(tmp.resolve("a.json"), "\uFEFF[\n  {\n    \"text\": \"first\",\n    \"label\": \"pos\"\n  },\n"
                + "  {\"text\": \"second\", \"label\": 0.5}\n]\n");
        List<RawExample> a = TableReader.read(array, TextColumns.of("text"), "label");
        assertEquals(List.of("first", "second"), a.stream().map(RawExample::text).toList());
        assertEquals(List.of(RawExample.Kind.NAME, RawExample.Kind.FLOAT), a.stream().map(RawExample::kind).toList());
        assertEquals(List.of(array + ":2", array + ":6"), a.stream().map(RawExample::where).toList());

        Path columns = Files.writeString(tmp.resolve("c.json"),
                "{\"sentence1\": [\"A cat.\", \"A dog.\"], \"sentence2\": [\"A feline.\", \"A car.\"], \"label\": [[\"x\"], [\"x\", \"y\"]],"
                        + " \"idx\": [0, 1]}");
        List<RawExample> c = TableReader.read(columns, TextColumns.of("sentence1", "sentence2"), "label");
        assertEquals(List.of("A cat.", "A dog."), c.stream().map(RawExample::text).toList());
        assertEquals(List.of("A feline.", "A car."), c.stream().map(RawExample::textPair).toList());
        assertEquals(List.of(List.of("x"), List.of("x", "y")), c.stream().map(RawExample::items).toList());
        assertEquals(columns + ": row 2", c.get(1).where());
        assertEquals(List.of("A cat.", "A dog."), TableReader.read(columns, TextColumns.of("sentence1"), null).stream().map(RawExample::text).toList(),
                "texts alone, as prediction reads them");
    }

    /**
     * run_classification.py's text_column_names: several columns joined into one text by text_column_delimiter
     * (a space by default), not a pair: `examples["sentence"][i] += delimiter + examples[column][i]`.
     */
    @Test
    void joinedColumnsAreOneTextAsRunClassificationJoinsThem() throws IOException {
        Path csv = Files.writeString(tmp.resolve("j.csv"), "title,body,extra,label\nGreat,\"Loved it, really.\",x,pos\nBad,Meh,,neg\n");
        List<RawExample> spaced = TableReader.read(csv, TextColumns.joined(" ", List.of("title", "body")), "label");
        assertEquals(List.of("Great Loved it, really.", "Bad Meh"), spaced.stream().map(RawExample::text).toList());
        assertEquals(Arrays.asList(null, null), spaced.stream().map(RawExample::textPair).toList());

        List<RawExample> three = TableReader.read(csv, TextColumns.joined(" | ", List.of("body", "title", "extra")), "label");
        assertEquals(List.of("Loved it, really. | Great | x", "Meh | Bad | "), three.stream().map(RawExample::text).toList());

        Path jsonl = Files.writeString(tmp.resolve("j.jsonl"), "{\"a\": \"one\", \"b\": \"two\", \"label\": 1}\n");
        assertEquals("one\ttwo", TableReader.read(jsonl, TextColumns.joined("\t", List.of("a", "b")), "label").get(0).text());

        Path blank = Files.writeString(tmp.resolve("blank.csv"), "title,body,label\n ,,pos\n");
        DataException e = assertThrows(DataException.class,
                () -> TableReader.read(blank, TextColumns.joined(" ", List.of("title", "body")), "label"));
        assertEquals(blank + ":2: empty text in 'title' + 'body'", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TextColumns.of("a", "b", "c"));
    }

    @Test
    void badRowsAreErrorsNamingFileAndLine() throws IOException {
        assertError("a.csv", "text,label\nok,1\n\"  \",0\n", "a.csv:3: empty text in 'text'");
        assertError("b.csv", "text,label\nok,1\nno label,\n", "b.csv:3: empty label in 'label'");
        assertError("c.csv", "text,label\nok,1,extra\n", "c.csv:2: 3 fields, but the header has 2");
        assertError("d.csv", "text,label\n\"never closed,1\nmore\n", "d.csv:2: quoted field never closed");
        assertError("e.csv", "text,label\n\"quoted\"junk,1\n", "e.csv:2: unexpected character 'j' after a closing quote");
        assertError("f.csv", "review,sentiment\nok,1\n", "f.csv: no column 'text' (columns: review, sentiment)");
        assertError("g.csv", "", "g.csv: empty file, expected a header row");
        assertError("h.csv", "text,label\n", "h.csv: no examples");
        assertError("i.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\"}\n", "i.jsonl:2: no field 'label' (fields: text)");
        assertError("j.jsonl", "{\"text\": \"a\", \"label\": true}\n", "j.jsonl:1: label true is neither a number, a string nor a list");
        assertError("k.jsonl", "{\"text\": \"a\", \"label\": 1}\n{oops\n", "k.jsonl:2: not valid JSON");
        assertError("l.json", "[{\"text\": \"a\", \"label\": 1},\n 3]", "l.json:2: expected a JSON object");
        assertError("l2.json", "[{\"text\": \"a\", \"label\": 1}]\n{}", "l2.json:2: more after the array of examples");
        assertError("l3.json", "{\"text\": [\"a\", \"b\"], \"label\": [1]}", "l3.json: column 'label' is not a list of 2 values, as 'text' is");
        assertError("l4.json", "{\"text\": [\"a\"], \"label\": [1]}\n{\"text\": \"b\", \"label\": 0}",
                "l4.json:1: an object of columns must be the file's only value");
        assertError("m.jsonl", "{\"text\": 5, \"label\": 1}\n", "m.jsonl:1: field 'text' is not a string");
        assertError("n.parquet", "x", "n.parquet: unsupported data file");
    }

    @Test
    void nonUtf8FileIsAnErrorNamingTheFile() throws IOException {
        Path file = tmp.resolve("latin1.csv");
        Files.write(file, "text,label\ncaf\u00e9,1\n".getBytes(StandardCharsets.ISO_8859_1));
        DataException e = assertThrows(DataException.class, () -> TableReader.read(file, TextColumns.of("text"), "label"));
        assertTrue(e.getMessage().startsWith(file + ":2: not valid UTF-8"), e.getMessage());
    }

    @Test
    void csvReaderAloneSplitsRecords() throws IOException {
        CsvReader r = new CsvReader(new StringReader("a,,\"\"\n,\n"), ',', "x");
        assertEquals(List.of("a", "", ""), r.next());
        assertEquals(List.of("", ""), r.next());
        assertNull(r.next());
    }

    private void assertError(String name, String content, String expectedStart) throws IOException {
        Path file = Files.writeString(tmp.resolve(name), content, StandardCharsets.UTF_8);
        DataException e = assertThrows(DataException.class, () -> TableReader.read(file, TextColumns.of("text"), "label"));
        assertTrue(e.getMessage().startsWith(tmp.resolve(expectedStart).toString()), e.getMessage());
    }
}
