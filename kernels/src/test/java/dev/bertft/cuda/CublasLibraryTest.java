package dev.bertft.cuda;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The cuBLAS search order, over a fake file system. */
class CublasLibraryTest {

    /** Files given as absolute paths; directories are every parent of a file. */
    static CublasLibrary.Fs fs(String... files) {
        Set<Path> set = Set.of(files).stream().map(Path::of).collect(Collectors.toSet());
        return new CublasLibrary.Fs() {
            @Override
            public boolean isFile(Path p) {
                return set.contains(p);
            }

            @Override
            public List<Path> list(Path dir) {
                return set.stream().filter(f -> f.startsWith(dir) && !f.equals(dir))
                        .map(f -> dir.resolve(dir.relativize(f).getName(0))).distinct().sorted().toList();
            }
        };
    }

    static Optional<Path> find(Map<String, String> env, CublasLibrary.Fs fs) {
        return CublasLibrary.find(env, "/home/u", fs).found();
    }

    @Test
    void ldLibraryPathComesFirstInItsOwnOrder() {
        var f = fs("/opt/b/libcublas.so.12", "/opt/a/libcublas.so.12", "/usr/local/cuda/lib64/libcublas.so.12");
        assertEquals(Optional.of(Path.of("/opt/a/libcublas.so.12")), find(Map.of("LD_LIBRARY_PATH", "/opt/x::/opt/a:/opt/b"), f));
        assertEquals(Optional.of(Path.of("/opt/b/libcublas.so.12")), find(Map.of("LD_LIBRARY_PATH", "/opt/b:/opt/a"), f));
    }

    @Test
    void cudaHomeBeatsTheDefaultInstallWhichBeatsVersionedOnes() {
        var f = fs("/opt/cuda12/lib64/libcublas.so.12", "/usr/local/cuda/lib64/libcublas.so.12",
                "/usr/local/cuda-12.9/lib64/libcublas.so.12");
        assertEquals(Optional.of(Path.of("/opt/cuda12/lib64/libcublas.so.12")), find(Map.of("CUDA_HOME", "/opt/cuda12"), f));
        assertEquals(Optional.of(Path.of("/usr/local/cuda/lib64/libcublas.so.12")), find(Map.of(), f));
    }

    @Test
    void versionedInstallsAreTriedNewestFirstByNumberNotText() {
        var f = fs("/usr/local/cuda-12.9/lib64/libcublas.so.12", "/usr/local/cuda-12.10/lib64/libcublas.so.12",
                "/usr/local/cuda-11.8/lib64/x");
        assertEquals(Optional.of(Path.of("/usr/local/cuda-12.10/lib64/libcublas.so.12")), find(Map.of(), f));
    }

    @Test
    void pythonWheelsAreFoundInPythonPathThenSiteAndDistPackages() {
        String wheelLocal = "/usr/local/lib/python3.11/dist-packages/nvidia/cublas/lib/libcublas.so.12";
        String wheelUser = "/home/u/.local/lib/python3.12/site-packages/nvidia/cublas/lib/libcublas.so.12";
        String wheelPath = "/venv/site/nvidia/cublas/lib/libcublas.so.12";
        var f = fs(wheelLocal, wheelUser, wheelPath, "/usr/lib/x86_64-linux-gnu/libcublas.so.12");
        assertEquals(Optional.of(Path.of(wheelPath)), find(Map.of("PYTHONPATH", "/venv/site"), f));
        assertEquals(Optional.of(Path.of(wheelLocal)), find(Map.of(), f));
        var onlyUser = fs(wheelUser, "/usr/lib/x86_64-linux-gnu/libcublas.so.12");
        assertEquals(Optional.of(Path.of(wheelUser)), find(Map.of(), onlyUser));
    }

    @Test
    void systemDirectoriesComeLastAndAnAbsentLibraryListsEverywhereSearched() {
        var f = fs("/usr/lib64/libcublas.so.12");
        assertEquals(Optional.of(Path.of("/usr/lib64/libcublas.so.12")), find(Map.of(), f));
        // the target GPU machine: only cuBLAS 13 from PyTorch's wheels
        var cuda13 = fs("/usr/local/lib/python3.12/dist-packages/nvidia/cu13/lib/libcublas.so.13",
                "/usr/local/lib/python3.12/dist-packages/nvidia/cublas/lib/libcublas.so.13");
        var search = CublasLibrary.find(Map.of("LD_LIBRARY_PATH", "/l"), "/home/u", cuda13);
        assertTrue(search.found().isEmpty());
        List<Path> dirs = search.searched();
        assertEquals(Path.of("/l"), dirs.get(0));
        assertTrue(dirs.contains(Path.of("/usr/local/lib/python3.12/dist-packages/nvidia/cublas/lib")));
        assertEquals(Path.of("/usr/lib"), dirs.get(dirs.size() - 1));
        assertTrue(dirs.indexOf(Path.of("/usr/local/cuda/lib64")) < dirs.indexOf(Path.of("/usr/lib64")));
    }
}
