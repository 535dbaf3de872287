package dev.bertft.data;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TarReaderTest {
    @TempDir
    Path tmp;

    @Test
    void readsFilesAndLongNamesAndSkipsTheRest() throws IOException {
        String longName = "aclImdb/train/pos/" + "x".repeat(120) + ".txt";
        byte[] big = new byte[70_000];
        new Random(3).nextBytes(big);
        byte[] tar = TarWriter.bytes(t -> {
            t.directory("aclImdb");
            t.file("aclImdb/a.txt", "hello");
            t.symlink("aclImdb/link");
            t.file(longName, "long");
            t.file("aclImdb/big.bin", big);
            t.file("aclImdb/empty.txt", new byte[0]);
        });
        TarReader r = new TarReader(new ByteArrayInputStream(tar), "t.tar");
        assertEquals(new TarReader.Entry("aclImdb/", 0, false), r.next());
        assertEquals(new TarReader.Entry("aclImdb/a.txt", 5, true), r.next());
        assertEquals("hello", new String(r.body().readAllBytes(), StandardCharsets.UTF_8));
        assertFalse(r.next().isFile());
        assertEquals(new TarReader.Entry(longName, 4, true), r.next());   // body left unread: skipped by next()
        assertEquals(new TarReader.Entry("aclImdb/big.bin", big.length, true), r.next());
        assertTrue(Arrays.equals(big, r.body().readAllBytes()));
        assertEquals(new TarReader.Entry("aclImdb/empty.txt", 0, true), r.next());
        assertNull(r.next());
    }

    /** GNU tar is the reference: what it packs in each format must come back byte for byte. */
    @Test
    void readsWhatGnuTarWritesInGnuPaxAndUstarFormats() throws IOException, InterruptedException {
        Path src = tmp.resolve("src");
        Map<String, byte[]> files = new TreeMap<>();
        files.put("d/short.txt", "short".getBytes(StandardCharsets.UTF_8));
        files.put("d/" + "deep/".repeat(25) + "ustar-prefix.txt", "prefix".getBytes(StandardCharsets.UTF_8));
        files.put("d/" + "n".repeat(150) + ".txt", "gnu long name".getBytes(StandardCharsets.UTF_8));
        files.put("d/caf\u00e9-\u00fcber.txt", "utf-8 name".getBytes(StandardCharsets.UTF_8));
        byte[] big = new byte[1_234_567];
        new Random(5).nextBytes(big);
        files.put("d/big.bin", big);
        for (var e : files.entrySet()) {
            Path p = src.resolve(e.getKey());
            Files.createDirectories(p.getParent());
            Files.write(p, e.getValue());
        }
        for (String format : new String[] {"gnu", "pax", "ustar"}) {
            Map<String, byte[]> expected = new TreeMap<>(files);
            if (format.equals("ustar")) expected.keySet().removeIf(k -> k.contains("nnnnnnnnnn"));   // ustar cannot store it
            Path archive = tmp.resolve(format + ".tar.gz");
            Process p;
            try {
                java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of(
                        "tar", "--format=" + format, "-czf", archive.toString(), "-C", src.toString()));
                command.addAll(expected.keySet());
                p = new ProcessBuilder(command).redirectErrorStream(true).start();
            } catch (IOException e) {
                Assumptions.abort("GNU tar not available: " + e.getMessage());
                return;
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.waitFor(), out);
            Map<String, byte[]> read = new TreeMap<>();
            try (InputStream in = new GZIPInputStream(Files.newInputStream(archive))) {
                TarReader r = new TarReader(in, archive.toString());
                for (TarReader.Entry e; (e = r.next()) != null; ) if (e.isFile()) read.put(e.name(), r.body().readAllBytes());
            }
            assertEquals(expected.keySet(), read.keySet(), format);
            for (String k : expected.keySet()) assertTrue(Arrays.equals(expected.get(k), read.get(k)), format + " " + k);
        }
    }

    @Test
    void notATarArchiveOrTruncatedIsAClearError() throws IOException {
        byte[] noise = new byte[2048];
        new Random(1).nextBytes(noise);
        DataException bad = assertThrows(DataException.class, () -> new TarReader(new ByteArrayInputStream(noise), "noise.tar").next());
        assertTrue(bad.getMessage().startsWith("noise.tar: not a tar archive"), bad.getMessage());

        byte[] tar = TarWriter.bytes(t -> t.file("a.txt", "x".repeat(2000)));
        TarReader r = new TarReader(new ByteArrayInputStream(Arrays.copyOf(tar, 1000)), "cut.tar");
        r.next();
        DataException cut = assertThrows(DataException.class, () -> r.body().readAllBytes());
        assertEquals("cut.tar: archive is truncated (in entry 'a.txt')", cut.getMessage());
    }

    @Test
    void entryOrderIsTheArchiveOrder() throws IOException {
        Map<String, String> files = new LinkedHashMap<>();
        files.put("z.txt", "1");
        files.put("a.txt", "2");
        byte[] tar = TarWriter.bytes(t -> {
            for (var e : files.entrySet()) t.file(e.getKey(), e.getValue());
        });
        TarReader r = new TarReader(new ByteArrayInputStream(tar), "t.tar");
        assertEquals("z.txt", r.next().name());
        assertEquals("a.txt", r.next().name());
    }
}
