package dev.bertft.bert;

import dev.bertft.safetensors.SafetensorsFile;
import dev.bertft.safetensors.SafetensorsWriter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * This module's test resources as files, for the modules that test with its test-jar (the CLI's
 * tests). Inside one reactor build the resources are a folder on the class path and are used in
 * place; from the packaged test-jar they are copied once into target/bert-test-resources of the
 * module whose tests run.
 */
public final class TestResources {
    private TestResources() {}

    private static final Map<String, Path> COPIED = new HashMap<>();

    /**
     * The tiny BERT folder (config.json, model.safetensors, vocab.txt, tokenizer_config.json); its
     * siblings are the PyTorch fixtures made from it, such as tiny_predict.json and tiny_pytorch_model.bin.
     */
    public static Path tinyModel() {
        return path("bert").resolve("tiny");
    }

    /**
     * The tiny folder without classifier.*, written into {@code dir} once: a pretrained encoder (as
     * bert-base-uncased is), to which fine-tuning gives a fresh head of its data's size.
     */
    public static Path tinyEncoder(Path dir) throws IOException {
        if (Files.isDirectory(dir)) return dir;
        Files.createDirectories(dir);
        for (String f : List.of("config.json", "vocab.txt", "tokenizer_config.json")) {
            Files.copy(tinyModel().resolve(f), dir.resolve(f));
        }
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile tiny = SafetensorsFile.open(tinyModel().resolve("model.safetensors"))) {
            for (String name : tiny.names()) if (!name.startsWith("classifier.")) w.add(name, tiny.info(name).shape(), tiny.readF32(name));
        }
        w.write(dir.resolve("model.safetensors"));
        return dir;
    }

    /** A resource (file or folder) by its class-path name. */
    public static synchronized Path path(String name) {
        URL url = TestResources.class.getClassLoader().getResource(name);
        if (url == null) throw new IllegalStateException("no test resource " + name + " on the class path");
        try {
            URI uri = url.toURI();
            if (uri.getScheme().equals("file")) return Path.of(uri);
            Path copy = COPIED.get(name);
            if (copy == null) {
                copy = copyOutOfJar(uri, Path.of("target", "bert-test-resources").resolve(name).toAbsolutePath());
                COPIED.put(name, copy);
            }
            return copy;
        } catch (URISyntaxException e) {
            throw new IllegalStateException(url + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path copyOutOfJar(URI inJar, Path target) throws IOException {
        try (FileSystem jar = FileSystems.newFileSystem(inJar, Map.of())) {
            Path source = jar.provider().getPath(inJar);
            List<Path> entries;
            try (Stream<Path> walk = Files.walk(source)) {
                entries = walk.toList();
            }
            for (Path from : entries) {
                Path to = target.resolve(source.relativize(from).toString());
                if (Files.isDirectory(from)) {
                    Files.createDirectories(to);
                } else {
                    Files.createDirectories(to.getParent());
                    Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        return target;
    }
}
