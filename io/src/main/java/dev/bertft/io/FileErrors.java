package dev.bertft.io;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;

/**
 * File-system errors as one line that names the path and the reason. Java's own messages often
 * carry only one of the two: a {@link NoSuchFileException} or {@link AccessDeniedException} is
 * just the path, while a failed write says "No space left on device" without the file.
 */
public final class FileErrors {
    private FileErrors() {}

    /** "path: reason" (or "path -> other path: reason") for a file-system error; the message for any other. */
    public static String describe(IOException e) {
        if (!(e instanceof FileSystemException f) || f.getFile() == null) {
            return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        }
        String reason = f.getReason() != null ? f.getReason() : reason(f);
        return f.getFile() + (f.getOtherFile() == null ? "" : " -> " + f.getOtherFile()) + ": " + reason;
    }

    /** {@code e} itself when it names its file; otherwise an error whose message names {@code file} and the reason. */
    public static IOException naming(Path file, IOException e) {
        if (e instanceof FileSystemException f && f.getFile() != null) return e;
        FileSystemException named = new FileSystemException(file.toString(), null, describe(e));
        named.initCause(e);
        return named;
    }

    /** What the exception's type says, for the subclasses the JDK throws without a reason. */
    private static String reason(FileSystemException e) {
        if (e instanceof NoSuchFileException) return "no such file or folder";
        if (e instanceof AccessDeniedException) return "permission denied";
        if (e instanceof FileAlreadyExistsException) return "already exists";
        if (e instanceof NotDirectoryException) return "not a folder";
        if (e instanceof DirectoryNotEmptyException) return "folder not empty";
        return "file system error";
    }
}
