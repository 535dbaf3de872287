package dev.bertft.data;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * The Large Movie Review Dataset (aclImdb) as a folder or as its .tar.gz, read straight from the gzip stream:
 * {@code [aclImdb/]{train,test}/{neg,pos}/<id>_<rating>.txt}, one review per file. Labels are written "neg" and
 * "pos", which sort to ids 0 and 1 as in Hugging Face's {@code imdb} data set; train/unsup and the other
 * files of the official archive are ignored.
 *
 * <p>Order: within a split all neg reviews, then all pos, each by file name taken as the numbers
 * {@code (id, rating)}. (Hugging Face's loader keeps the archive's own order, which a folder does not have;
 * sorting makes the folder and the archive give the same list, and the Trainer shuffles anyway.)
 */
final class ImdbReader {
    static final List<String> SPLITS = List.of("train", "test");
    static final List<String> LABELS = List.of("neg", "pos");

    record Splits(List<RawExample> train, List<RawExample> test) {
    }

    private record Review(String file, String text, String where) {
    }

    private ImdbReader() {
    }

    /** The folder holding train/ and test/: {@code dir} itself or {@code dir/aclImdb}; null when neither. */
    static Path root(Path dir) {
        for (Path candidate : List.of(dir, dir.resolve("aclImdb"))) {
            for (String split : SPLITS) {
                for (String label : LABELS) {
                    if (Files.isDirectory(candidate.resolve(split).resolve(label))) return candidate;
                }
            }
        }
        return null;
    }

    static Splits readFolder(Path dir) throws IOException {
        Path root = root(dir);
        if (root == null) throw new DataException(dir + ": no aclImdb train/{neg,pos} or test/{neg,pos} folders");
        Map<String, List<Review>> buckets = new HashMap<>();
        for (String split : SPLITS) {
            for (String label : LABELS) {
                Path folder = root.resolve(split).resolve(label);
                if (!Files.isDirectory(folder)) continue;
                List<Path> files;
                try (Stream<Path> list = Files.list(folder)) {
                    files = list.filter(p -> p.getFileName().toString().endsWith(".txt") && Files.isRegularFile(p)).toList();
                }
                List<Review> bucket = buckets.computeIfAbsent(split + "/" + label, k -> new ArrayList<>());
                for (Path file : files) {
                    try (InputStream in = Files.newInputStream(file)) {
                        bucket.add(review(file.getFileName().toString(), Utf8Text.readAll(in, file.toString()), file.toString()));
                    }
                }
            }
        }
        return splits(buckets, dir.toString());
    }

    static Splits readArchive(Path archive) throws IOException {
        Map<String, List<Review>> buckets = new HashMap<>();
        try (InputStream in = new GZIPInputStream(new BufferedInputStream(Files.newInputStream(archive), 1 << 16), 1 << 16)) {
            TarReader tar = new TarReader(in, archive.toString());
            for (TarReader.Entry e; (e = tar.next()) != null; ) {
                if (!e.isFile()) continue;
                String[] parts = e.name().split("/");
                int n = parts.length;
                if (n < 3 || !SPLITS.contains(parts[n - 3]) || !LABELS.contains(parts[n - 2]) || !parts[n - 1].endsWith(".txt")) continue;
                String where = archive + " entry " + e.name();
                buckets.computeIfAbsent(parts[n - 3] + "/" + parts[n - 2], k -> new ArrayList<>())
                        .add(review(parts[n - 1], Utf8Text.readAll(tar.body(), where), where));
            }
        } catch (ZipException e) {
            throw new DataException(archive + ": not a gzip-compressed tar archive (" + e.getMessage() + ")", e);
        } catch (EOFException e) {
            throw new DataException(archive + ": archive is truncated", e);
        }
        return splits(buckets, archive.toString());
    }

    private static Review review(String file, String text, String where) throws DataException {
        if (text.isBlank()) throw new DataException(where + ": empty review");
        return new Review(file, text, where);
    }

    private static Splits splits(Map<String, List<Review>> buckets, String source) throws DataException {
        if (buckets.values().stream().allMatch(List::isEmpty)) {
            throw new DataException(source + ": no reviews in [aclImdb/]{train,test}/{neg,pos}/*.txt");
        }
        List<List<RawExample>> out = new ArrayList<>();
        for (String split : SPLITS) {
            List<RawExample> examples = new ArrayList<>();
            for (String label : LABELS) {
                List<Review> reviews = buckets.getOrDefault(split + "/" + label, List.of());
                reviews.sort(Comparator.comparing(Review::file, ImdbReader::compareFileNames));
                for (Review r : reviews) examples.add(new RawExample(r.text, null, label, RawExample.Kind.NAME, r.where));
            }
            out.add(examples);
        }
        return new Splits(out.get(0), out.get(1));
    }

    /** "<id>_<rating>.txt" by (id, rating) as numbers, so 2_3.txt comes before 10_1.txt; other names by text. */
    static int compareFileNames(String a, String b) {
        long[] ka = numbers(a), kb = numbers(b);
        if (ka != null && kb != null) {
            int c = Long.compare(ka[0], kb[0]);
            if (c == 0) c = Long.compare(ka[1], kb[1]);
            if (c != 0) return c;
        } else if (ka != null || kb != null) {
            return ka != null ? -1 : 1;
        }
        return a.compareTo(b);
    }

    private static long[] numbers(String name) {
        int underscore = name.indexOf('_');
        int dot = name.lastIndexOf('.');
        if (underscore <= 0 || dot <= underscore + 1) return null;
        try {
            return new long[] {Long.parseLong(name.substring(0, underscore)), Long.parseLong(name.substring(underscore + 1, dot))};
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
