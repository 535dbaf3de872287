package dev.bertft.spark;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Model folders on local and other Hadoop file systems, and the Hadoop configuration the tasks carry. */
class ModelFoldersTest {
    @TempDir
    Path tmp;

    /** The local disk under another scheme: a file system that is not "file", as HDFS or S3A are not. */
    public static final class ElsewhereFileSystem extends RawLocalFileSystem {
        @Override
        public String getScheme() {
            return "elsewhere";
        }

        @Override
        public URI getUri() {
            return URI.create("elsewhere:///");
        }
    }

    private Path folder() throws IOException {
        Path model = Files.createDirectories(tmp.resolve("model"));
        Files.writeString(model.resolve("config.json"), "{\"hidden_size\": 8}");
        Files.write(model.resolve("model.safetensors"), new byte[] {1, 2, 3, (byte) 0xff});
        Files.createDirectories(model.resolve("checkpoint-5"));   // a subfolder the copy leaves out
        return model;
    }

    @Test
    void aLocalFolderIsUsedWhereItIs() throws IOException {
        Path model = folder();
        assertEquals(model, ModelFolders.local(model.toString(), new Configuration()));
        assertEquals(model, ModelFolders.local(model.toUri().toString(), new Configuration()));
    }

    @Test
    void aFolderOnAnotherFileSystemIsCopiedToLocalDisk() throws IOException {
        Path model = folder();
        Configuration conf = new Configuration();
        conf.set("fs.elsewhere.impl", ElsewhereFileSystem.class.getName());
        Path copy = ModelFolders.local("elsewhere://" + model, conf);
        assertNotEquals(model, copy);
        assertEquals(Files.readString(model.resolve("config.json")), Files.readString(copy.resolve("config.json")));
        assertArrayEquals(Files.readAllBytes(model.resolve("model.safetensors")), Files.readAllBytes(copy.resolve("model.safetensors")));
        assertFalse(Files.exists(copy.resolve("checkpoint-5")));
    }

    @Test
    void aMissingFolderOrAFileIsNamed() throws IOException {
        Path missing = tmp.resolve("nothing");
        assertEquals("model path " + missing + " does not exist",
                assertThrows(FileNotFoundException.class, () -> ModelFolders.local(missing.toString(), new Configuration())).getMessage());
        Path file = Files.writeString(tmp.resolve("model.bin"), "x");
        assertEquals("model path " + file + " is a file, not a model folder",
                assertThrows(IOException.class, () -> ModelFolders.local(file.toString(), new Configuration())).getMessage());
    }

    @Test
    void theHadoopConfigurationTravelsWithTheTask() throws IOException, ClassNotFoundException {
        Configuration conf = new Configuration(false);
        conf.set("fs.s3a.endpoint", "http://store.example:9000");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(new HadoopConf(conf));
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            assertEquals("http://store.example:9000", ((HadoopConf) in.readObject()).get().get("fs.s3a.endpoint"));
        }
    }
}
