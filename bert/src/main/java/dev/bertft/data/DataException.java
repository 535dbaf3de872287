package dev.bertft.data;

import java.io.IOException;

/** Data that cannot be used; the message is one line naming the file (and line or archive entry). */
public class DataException extends IOException {
    private static final long serialVersionUID = 1L;

    public DataException(String message) {
        super(message);
    }

    public DataException(String message, Throwable cause) {
        super(message, cause);
    }
}
