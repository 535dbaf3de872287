package dev.bertft.hub;

import dev.bertft.io.AtomicFiles;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;

/**
 * The HTTP side of the model cache and of data set downloads.
 *
 * <p>{@link #head} asks for a file's metadata the way huggingface_hub does: redirects on the same host are
 * followed (a renamed repository answers 307 to its new name) but a redirect to another host is not (large
 * LFS files answer 302 to a CDN, and that 302 itself carries X-Linked-Etag / X-Linked-Size / X-Repo-Commit).
 *
 * <p>{@link #download} writes to {@code <target>.incomplete}, continues an existing partial file with an HTTP
 * Range request, and renames the file into place only once every byte (and the SHA-256, when known) checks
 * out, so the target path never holds a partial file. A transfer that stalls for longer than the stall
 * timeout is abandoned and can be resumed by running again.
 */
public final class HttpDownloader {
    private static final int MAX_REDIRECTS = 10;
    private static final int BUFFER_BYTES = 1 << 20;

    /** Status, final URI (after the redirects followed) and headers of a HEAD request. */
    public record Head(int status, URI uri, HttpHeaders headers) {
        public Optional<String> header(String name) {
            return headers.firstValue(name);
        }
    }

    private final HttpClient client;
    private final Duration requestTimeout;
    private final Duration stallTimeout;
    private final String bearerToken;   // sent only to tokenOrigin's host and port: a signed CDN URL must not see it
    private final URI tokenOrigin;
    private final PrintStream log;
    private final boolean terminal;

    public HttpDownloader(Duration requestTimeout, Duration stallTimeout, String bearerToken, URI tokenOrigin,
                          PrintStream log, boolean terminal) {
        this.client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(requestTimeout)
                .followRedirects(HttpClient.Redirect.NEVER)  // we follow them ourselves, see head() and open()
                .build();
        this.requestTimeout = requestTimeout;
        this.stallTimeout = stallTimeout;
        this.bearerToken = bearerToken;
        this.tokenOrigin = tokenOrigin;
        this.log = log;
        this.terminal = terminal;
    }

    /** Defaults for the command line: 30 s to connect or get headers, 60 s without a byte ends a transfer. */
    public static HttpDownloader forCommandLine(String bearerToken, URI tokenOrigin) {
        return new HttpDownloader(Duration.ofSeconds(30), Duration.ofSeconds(60), bearerToken, tokenOrigin,
                System.err, System.console() != null);
    }

    /** HEAD, following same-host redirects only. Returns the last response whatever its status. */
    public Head head(URI uri) throws HubException {
        URI current = uri;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpResponse<Void> r = send(request(current).method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.discarding(), current);
            Optional<URI> next = redirectTarget(r, current);
            if (next.isEmpty() || !sameHost(next.get(), current)) return new Head(r.statusCode(), current, r.headers());
            current = next.get();
        }
        throw new HubException("too many redirects for " + uri);
    }

    /**
     * Downloads {@code uri} into {@code target} unless it is already there.
     *
     * @param expectedSize   bytes the file must have, or -1 to trust the response's Content-Length
     * @param expectedSha256 lower-case hex SHA-256 the file must have, or null when unknown
     * @param label          what the progress line calls the file
     */
    public void download(URI uri, Path target, long expectedSize, String expectedSha256, String label)
            throws HubException {
        if (Files.isRegularFile(target)) return;
        Path partial = target.resolveSibling(target.getFileName() + ".incomplete");
        try {
            Files.createDirectories(target.getParent());
            try (FileChannel out = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock lock = out.tryLock()) {
                if (lock == null) throw new HubException("another process is downloading " + partial + "; wait for it or remove the file");
                if (Files.isRegularFile(target)) {   // another process finished it while we waited for the lock
                    Files.delete(partial);
                    return;
                }
                long have = out.size();
                if (expectedSize >= 0 && have > expectedSize) {   // not a prefix of this file: start over
                    out.truncate(0);
                    have = 0;
                }
                if (expectedSize < 0 || have < expectedSize) have = transfer(uri, out, have, expectedSize, label);
                out.force(true);
                if (expectedSize >= 0 && have != expectedSize) {
                    throw new HubException("download of " + uri + " ended at " + have + " of " + expectedSize
                            + " bytes; run again to resume from " + partial);
                }
            }
            if (expectedSha256 != null) verifySha256(partial, expectedSha256, uri);
            AtomicFiles.rename(partial, target);
        } catch (HubException e) {
            throw e;
        } catch (IOException e) {
            throw new HubException("download of " + uri + " into " + partial + " failed: " + e.getMessage()
                    + "; run again to resume", e);
        }
    }

    /** Appends the bytes from {@code have} on to {@code out}; returns the file's length afterwards. */
    private long transfer(URI uri, FileChannel out, long have, long expectedSize, String label) throws IOException {
        HttpResponse<InputStream> r = open(uri, have);
        int status = r.statusCode();
        if (status == 416 && have > 0) {   // our partial file is not a prefix the server accepts: start over
            r.body().close();
            out.truncate(0);
            return transfer(uri, out, 0, expectedSize, label);
        }
        long total = expectedSize;
        try (InputStream body = r.body()) {
            if (status == 200 && have > 0) {          // the server ignored Range: the body is the whole file
                out.truncate(0);
                have = 0;
            } else if (status == 206) {
                String range = r.headers().firstValue("Content-Range").orElse("");
                if (!range.startsWith("bytes " + have + "-")) {
                    throw new HubException("server answered Range bytes=" + have + "- with Content-Range '" + range + "' for " + uri);
                }
                int slash = range.lastIndexOf('/');
                if (total < 0 && slash >= 0) total = parseLength(range.substring(slash + 1));
            } else if (status != 200) {
                throw new HubException("HTTP " + status + " for " + uri);
            }
            if (total < 0 && status == 200) total = r.headers().firstValueAsLong("Content-Length").orElse(-1);
            return copy(body, out, have, total, label);
        }
    }

    private long copy(InputStream body, FileChannel out, long have, long total, String label) throws IOException {
        DownloadProgress progress = new DownloadProgress(log, terminal, label, total, have);
        StallWatchdog watchdog = new StallWatchdog(body, stallTimeout);
        byte[] buffer = new byte[BUFFER_BYTES];
        out.position(have);
        try {
            for (int n; (n = body.read(buffer)) >= 0; ) {
                ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, n);
                while (chunk.hasRemaining()) out.write(chunk);
                have += n;
                watchdog.progressed();
                progress.update(have);
            }
        } catch (IOException e) {
            if (!watchdog.fired()) throw e;
        } finally {
            watchdog.stop();
        }
        if (watchdog.fired()) throw new HubException("no data for " + stallTimeout.toMillis() / 1000.0 + " s while downloading " + label + "; run again to resume");
        if (total >= 0 && have != total) throw new HubException("connection closed after " + have + " of " + total + " bytes of " + label + "; run again to resume");
        progress.finish(have);
        return have;
    }

    /** GET with Range from {@code offset}, following every redirect; the Range header travels along each hop. */
    private HttpResponse<InputStream> open(URI uri, long offset) throws HubException {
        URI current = uri;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest.Builder b = request(current).GET();
            if (offset > 0) b.header("Range", "bytes=" + offset + "-");
            HttpResponse<InputStream> r = send(b.build(), HttpResponse.BodyHandlers.ofInputStream(), current);
            Optional<URI> next = redirectTarget(r, current);
            if (next.isEmpty()) return r;
            try {
                r.body().close();   // the redirect's own small body: drop it, the connection goes back to the pool
            } catch (IOException e) {
                throw new HubException("redirect from " + current + " failed: " + e, e);
            }
            current = next.get();
        }
        throw new HubException("too many redirects for " + uri);
    }

    private HttpRequest.Builder request(URI uri) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(requestTimeout)
                .header("User-Agent", "bert-ft/0.1 (java " + Runtime.version().feature() + ")");
        if (bearerToken != null && !bearerToken.isBlank() && tokenOrigin != null && sameHost(uri, tokenOrigin)) {
            b.header("Authorization", "Bearer " + bearerToken);
        }
        return b;
    }

    private <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler, URI uri) throws HubException {
        try {
            return client.send(request, handler);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HubException("interrupted while requesting " + uri, e);
        } catch (IOException e) {
            throw new HubException.Unreachable("cannot reach " + uri + " (" + networkFailure(e) + ")", e);
        }
    }

    /** What went wrong on the network, in words: the JDK's exceptions often carry no message of their own. */
    static String networkFailure(IOException e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        if (root instanceof java.nio.channels.UnresolvedAddressException || root instanceof java.net.UnknownHostException) {
            return "unknown host";
        }
        if (e instanceof java.net.http.HttpConnectTimeoutException) return "connection timed out";
        if (e instanceof java.net.http.HttpTimeoutException) return "no answer in time";
        if (e instanceof java.net.ConnectException || root instanceof java.net.ConnectException) return "connection refused";
        if (e instanceof javax.net.ssl.SSLException) return "TLS failed: " + e.getMessage();
        String m = root.getMessage() != null ? root.getMessage() : e.getMessage();
        return m == null || m.isBlank() ? "network error" : m;
    }

    /** The total length in a Content-Range ("bytes 10-99/100"), or -1 for "*" or anything unreadable. */
    private static long parseLength(String total) {
        try {
            return Long.parseLong(total.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static Optional<URI> redirectTarget(HttpResponse<?> r, URI current) {
        int s = r.statusCode();
        if (s != 301 && s != 302 && s != 303 && s != 307 && s != 308) return Optional.empty();
        return r.headers().firstValue("Location").map(current::resolve);
    }

    private static boolean sameHost(URI a, URI b) {
        return a.getHost() != null && a.getHost().equalsIgnoreCase(b.getHost()) && a.getPort() == b.getPort();
    }

    private static void verifySha256(Path file, String expected, URI uri) throws IOException {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
        byte[] buffer = new byte[BUFFER_BYTES];
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buffer)) >= 0; ) sha.update(buffer, 0, n);
        }
        String actual = HexFormat.of().formatHex(sha.digest());
        if (!actual.equals(expected.toLowerCase(Locale.ROOT))) {
            Files.delete(file);
            throw new HubException("download of " + uri + " has SHA-256 " + actual + ", expected " + expected
                    + "; the corrupt file was deleted, run again");
        }
    }

    /** Closes the response body when no byte arrived for a while, which wakes the blocked read with end-of-stream. */
    private static final class StallWatchdog {
        private final Thread thread;
        private volatile long lastProgressNanos = System.nanoTime();
        private volatile boolean stopped;
        private volatile boolean fired;

        StallWatchdog(InputStream body, Duration timeout) {
            thread = new Thread(() -> {
                long timeoutNanos = timeout.toNanos();
                while (!stopped) {
                    try {
                        Thread.sleep(Math.max(10, Math.min(1000, timeout.toMillis() / 4)));
                    } catch (InterruptedException e) {
                        return;
                    }
                    if (!stopped && System.nanoTime() - lastProgressNanos > timeoutNanos) {
                        fired = true;
                        try {
                            body.close();
                        } catch (IOException ignored) {
                            // closing is all we can do; the reader sees end-of-stream or an exception either way
                        }
                        return;
                    }
                }
            }, "download-stall-watchdog");
            thread.setDaemon(true);
            thread.start();
        }

        void progressed() {
            lastProgressNanos = System.nanoTime();
        }

        boolean fired() {
            return fired;
        }

        void stop() {
            stopped = true;
            thread.interrupt();
        }
    }
}
