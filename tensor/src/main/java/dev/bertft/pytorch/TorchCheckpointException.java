package dev.bertft.pytorch;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A PyTorch checkpoint that cannot be read: malformed, damaged, of an unsupported kind, or refused
 * because its pickle names code to run. The message is one line and starts with the file:
 * {@code /m/pytorch_model.bin: archive/data.pkl: refuses global 'os.system' ...}.
 */
public final class TorchCheckpointException extends IOException {
    private static final long serialVersionUID = 1L;

    public TorchCheckpointException(Path file, String detail) {
        super(file + ": " + detail.replaceAll("[\\r\\n]+", " "));
    }
}
