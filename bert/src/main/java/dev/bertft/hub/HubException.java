package dev.bertft.hub;

import java.io.IOException;

/** A model or file could not be found, fetched or stored; the message is one line meant for the user. */
public class HubException extends IOException {
    private static final long serialVersionUID = 1L;

    public HubException(String message) {
        super(message);
    }

    public HubException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The hub could not be reached at all (no network, refused, unknown host, timed out). */
    public static final class Unreachable extends HubException {
        private static final long serialVersionUID = 1L;

        public Unreachable(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
