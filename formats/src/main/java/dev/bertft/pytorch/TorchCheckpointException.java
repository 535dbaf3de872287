package dev.bertft.pytorch;

import dev.bertft.safetensors.SafetensorsException;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A PyTorch checkpoint that cannot be read: malformed, damaged, of an unsupported kind, or refused
 * because its pickle names code to run. The message is one line and starts with the file:
 * {@code /m/pytorch_model.bin: archive/data.pkl at byte 206: refuses global 'posix.system' ...}. Control
 * characters (a hostile tensor name may hold any) are escaped.
 */
public final class TorchCheckpointException extends IOException {
    private static final long serialVersionUID = 1L;

    public TorchCheckpointException(Path file, String detail) {
        super(file + ": " + SafetensorsException.oneLine(detail));
    }
}
