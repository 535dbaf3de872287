package dev.bertft.hub;

import java.net.URI;

/** A server answered with an HTTP error status; callers decide whether it is fatal (a 404 for an optional file is not). */
public final class HttpStatusException extends HubException {
    public final int status;
    public final URI uri;

    public HttpStatusException(int status, URI uri) {
        super("HTTP " + status + " for " + uri);
        this.status = status;
        this.uri = uri;
    }

    /** 401 and 404 both mean "no such repository or file" to an anonymous caller: the hub hides private repos behind 401. */
    public boolean notFound() {
        return status == 404 || status == 401;
    }
}
