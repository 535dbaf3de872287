package dev.bertft.safetensors;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Read access to named tensors: one safetensors file ({@link SafetensorsFile}), a sharded
 * checkpoint ({@link ShardedSafetensors}) or a PyTorch state dict ({@code dev.bertft.pytorch.TorchCheckpoint}).
 * Arrays come back row major, one element per entry. Asking for a name that is not there, or for a
 * type the tensor cannot be converted to without loss, throws an IOException naming the file
 * ({@link SafetensorsException} for safetensors).
 */
public interface TensorReader extends AutoCloseable {

    /** The file the tensors are read from; for a sharded checkpoint, its index. */
    Path source();

    /** Tensor names; the order is documented by each implementation. */
    List<String> names();

    boolean contains(String name);

    TensorInfo info(String name) throws IOException;

    /** Free-form string metadata ({@code __metadata__}, or the index's "metadata"); empty if none. */
    Map<String, String> metadata();

    /** F32 as is; F16, BF16 widened exactly; F64 rounded to nearest float (overflow gives ±inf). */
    float[] readF32(String name) throws IOException;

    /** F64 as is; F32, F16, BF16 widened exactly. */
    double[] readF64(String name) throws IOException;

    /** F16 or BF16 as they are stored, the 16-bit patterns, not widened (the type is in {@link #info}). */
    short[] readHalf(String name) throws IOException;

    /** I32 as is; I64 when every element fits in an int; I8 signed; U8 as 0..255; BOOL as 0 or 1. */
    int[] readI32(String name) throws IOException;

    /** I64 as is; I32 and I8 widened; U8 as 0..255; BOOL as 0 or 1. */
    long[] readI64(String name) throws IOException;

    /** The tensor's raw little-endian bytes, whatever its type. */
    byte[] readBytes(String name) throws IOException;

    @Override
    void close() throws IOException;
}
