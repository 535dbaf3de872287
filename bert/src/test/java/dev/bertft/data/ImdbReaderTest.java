package dev.bertft.data;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImdbReaderTest {
    @TempDir
    Path tmp;

    /** A small aclImdb tree: path under aclImdb/ → review text. */
    static Map<String, String> fixture() {
        Map<String, String> files = new TreeMap<>();
        files.put("train/neg/10_1.txt", "Dreadful.<br /><br />Avoid.");
        files.put("train/neg/3_4.txt", "Meh, \"fine\" I guess");
        files.put("train/neg/3_2.txt", "Bad, bad; bad.");
        files.put("train/pos/2_9.txt", "Wonderful \u00e9t\u00e9 film \ud83c\udfac");
        files.put("train/pos/11_8.txt", "Great\nacting");
        files.put("test/neg/0_2.txt", "Boring");
        files.put("test/pos/0_10.txt", "Loved it");
        files.put("test/pos/1_7.txt", "Nice");
        files.put("train/unsup/0_0.txt", "unlabeled, must be ignored");
        files.put("imdb.vocab", "the\nand\n");
        return files;
    }

    static Path writeFolder(Path dir, Map<String, String> files) throws IOException {
        for (var e : files.entrySet()) {
            Path p = dir.resolve("aclImdb").resolve(e.getKey());
            Files.createDirectories(p.getParent());
            Files.writeString(p, e.getValue(), StandardCharsets.UTF_8);
        }
        return dir;
    }

    /** The same tree as a .tar.gz, entries in a shuffled order as a real archive has them. */
    static Path writeArchive(Path file, Map<String, String> files) throws IOException {
        List<String> names = new ArrayList<>(files.keySet());
        Collections.shuffle(names, new Random(11));
        try (TarWriter t = TarWriter.gzip(file)) {
            t.directory("aclImdb");
            for (String n : names) t.file("aclImdb/" + n, files.get(n));
        }
        return file;
    }

    @Test
    void folderAndArchiveGiveTheSameExamplesInNameOrder() throws IOException {
        ImdbReader.Splits folder = ImdbReader.readFolder(writeFolder(tmp.resolve("f"), fixture()));
        ImdbReader.Splits archive = ImdbReader.readArchive(writeArchive(tmp.resolve("a.tar.gz"), fixture()));
        // neg before pos; within a label by (id, rating) as numbers
        assertEquals(List.of("Bad, bad; bad.|neg", "Meh, \"fine\" I guess|neg", "Dreadful.<br /><br />Avoid.|neg",
                "Wonderful \u00e9t\u00e9 film \ud83c\udfac|pos", "Great\nacting|pos"), summary(folder.train()));
        assertEquals(List.of("Boring|neg", "Loved it|pos", "Nice|pos"), summary(folder.test()));
        assertEquals(summary(folder.train()), summary(archive.train()));
        assertEquals(summary(folder.test()), summary(archive.test()));
        assertTrue(archive.train().get(0).where().endsWith("a.tar.gz entry aclImdb/train/neg/3_2.txt"));
    }

    @Test
    void folderMayBeTheAclImdbFolderItself() throws IOException {
        Path dir = writeFolder(tmp, fixture()).resolve("aclImdb");
        assertEquals(dir, ImdbReader.root(dir));
        assertEquals(5, ImdbReader.readFolder(dir).train().size());
    }

    @Test
    void multiMegabyteReviewIsReadWhole() throws IOException {
        Map<String, String> files = fixture();
        StringBuilder big = new StringBuilder();
        while (big.length() < 6_000_000) big.append("A very long review sentence, \u00e9 again. ");
        files.put("train/pos/99_10.txt", big.toString());
        ImdbReader.Splits s = ImdbReader.readArchive(writeArchive(tmp.resolve("big.tar.gz"), files));
        assertEquals(big.toString(), s.train().get(s.train().size() - 1).text());
    }

    @Test
    void invalidUtf8NamesTheArchiveEntry() throws IOException {
        Path file = tmp.resolve("bad.tar.gz");
        try (TarWriter t = TarWriter.gzip(file)) {
            t.file("aclImdb/train/neg/1_1.txt", "fine");
            t.file("aclImdb/train/pos/5_8.txt", new byte[] {'o', 'k', (byte) 0xff, (byte) 0xfe});
        }
        DataException e = assertThrows(DataException.class, () -> ImdbReader.readArchive(file));
        assertTrue(e.getMessage().startsWith(file + " entry aclImdb/train/pos/5_8.txt: not valid UTF-8"), e.getMessage());
    }

    @Test
    void emptyReviewAndEmptyFolderAndNonArchiveAreClearErrors() throws IOException {
        Map<String, String> files = fixture();
        files.put("train/pos/7_7.txt", " \n");
        Path dir = writeFolder(tmp.resolve("e"), files);
        DataException empty = assertThrows(DataException.class, () -> ImdbReader.readFolder(dir));
        assertEquals(dir.resolve("aclImdb/train/pos/7_7.txt") + ": empty review", empty.getMessage());

        Path hollow = Files.createDirectories(tmp.resolve("hollow/aclImdb/train/pos"));
        DataException none = assertThrows(DataException.class, () -> ImdbReader.readFolder(tmp.resolve("hollow")));
        assertTrue(none.getMessage().contains("no reviews"), none.getMessage());
        assertTrue(Files.isDirectory(hollow));

        Path text = Files.writeString(tmp.resolve("x.tar.gz"), "not gzip");
        DataException notGzip = assertThrows(DataException.class, () -> ImdbReader.readArchive(text));
        assertTrue(notGzip.getMessage().startsWith(text + ": not a gzip-compressed tar archive"), notGzip.getMessage());
    }

    /** The real archive (../shared): its README gives the counts; GNU tar gives one review's exact bytes. */
    @Test
    void sharedAclImdbArchiveStreamsWithTheDocumentedCounts() throws IOException, InterruptedException {
        Path archive = SharedData.find("data/imdb/aclImdb_v1_labeled.tar.gz");
        Assumptions.assumeTrue(archive != null, "shared/data/imdb/aclImdb_v1_labeled.tar.gz not found next to the repository; skipped");
        long start = System.nanoTime();
        ImdbReader.Splits s = ImdbReader.readArchive(archive);
        double seconds = (System.nanoTime() - start) / 1e9;
        assertEquals(25_000, s.train().size());
        assertEquals(12_500, s.train().stream().filter(e -> e.label().equals("neg")).count());
        assertEquals(24_999, s.test().size());
        assertEquals(12_500, s.test().stream().filter(e -> e.label().equals("neg")).count());
        assertTrue(s.test().stream().noneMatch(e -> e.where().endsWith("aclImdb/test/pos/7_9.txt")));
        System.out.printf("read %s: %d train + %d test reviews in %.1f s%n", archive, s.train().size(), s.test().size(), seconds);

        RawExample firstPos = s.train().get(12_500);
        assertTrue(firstPos.where().endsWith("aclImdb/train/pos/0_9.txt"), firstPos.where());
        Process tar = new ProcessBuilder("tar", "-xzOf", archive.toString(), "aclImdb/train/pos/0_9.txt").start();
        String reference = new String(tar.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, tar.waitFor());
        assertEquals(reference, firstPos.text());
    }

    private static List<String> summary(List<RawExample> examples) {
        return examples.stream().map(e -> e.text() + "|" + e.label()).toList();
    }
}
