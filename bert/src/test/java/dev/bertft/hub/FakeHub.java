package dev.bertft.hub;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A stand-in for huggingface.co on 127.0.0.1, with the behaviour the client relies on:
 * /{repo}/resolve/{main|commit|revision}/{file} (a revision with slashes sent as one escaped segment) answers small files directly (ETag = git blob SHA-1) and LFS files with
 * a 302 to a second server (the "CDN", another host:port) carrying X-Linked-Etag (SHA-256) and X-Linked-Size;
 * every answer carries X-Repo-Commit; a legacy id answers 307 to its new name; unknown repos answer 401 and
 * unknown files 404. The CDN honours Range, counts the bytes it sends, and can be told to die or corrupt.
 */
final class FakeHub implements AutoCloseable {
    record Repo(String commit, Map<String, byte[]> small, Map<String, byte[]> lfs) {
    }

    final HttpServer hub;
    final HttpServer cdn;
    final Map<String, Repo> repos = new ConcurrentHashMap<>();
    final Map<String, Repo> revisions = new ConcurrentHashMap<>();   // "id@revision" and "id@commit" → that revision's files
    final Map<String, String> renamed = new ConcurrentHashMap<>();
    final Map<String, byte[]> blobsBySha = new ConcurrentHashMap<>();
    final AtomicInteger hubRequests = new AtomicInteger();
    final AtomicLong cdnBytesSent = new AtomicLong();
    final List<String> cdnRanges = new CopyOnWriteArrayList<>();   // Range header of each CDN GET, "" when none
    final List<String> hubMethods = new CopyOnWriteArrayList<>();   // "HEAD /id/resolve/rev/file", the path as sent
    final List<String> hubAuthorizations = new CopyOnWriteArrayList<>();   // each hub request's Authorization header, "" when none
    volatile long dieAfterBytes = -1;     // the CDN drops the connection after this many body bytes
    volatile boolean corrupt;             // the CDN flips one byte of what it serves
    volatile boolean ignoreRange;         // the CDN answers every GET with the whole file, as some servers do

    FakeHub() throws IOException {
        hub = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        cdn = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        hub.createContext("/", this::hub);
        cdn.createContext("/", this::cdn);
        hub.start();
        cdn.start();
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + hub.getAddress().getPort());
    }

    void addRepo(String id, String commit, Map<String, byte[]> small, Map<String, byte[]> lfs) {
        repos.put(id, new Repo(commit, small, lfs));
        for (byte[] b : lfs.values()) blobsBySha.put(sha256(b), b);
    }

    /** Another branch, tag or commit of a repository added before, with files of its own. */
    void addRevision(String id, String revision, String commit, Map<String, byte[]> small, Map<String, byte[]> lfs) {
        Repo repo = new Repo(commit, small, lfs);
        revisions.put(id + "@" + revision, repo);
        revisions.put(id + "@" + commit, repo);
        for (byte[] b : lfs.values()) blobsBySha.put(sha256(b), b);
    }

    private void hub(HttpExchange ex) throws IOException {
        hubRequests.incrementAndGet();
        hubMethods.add(ex.getRequestMethod() + " " + ex.getRequestURI().getRawPath());
        String authorization = ex.getRequestHeaders().getFirst("Authorization");
        hubAuthorizations.add(authorization == null ? "" : authorization);
        String path = ex.getRequestURI().getRawPath();
        int at = path.indexOf("/resolve/");
        String id = at > 0 ? path.substring(1, at) : "";
        String[] revAndFile = at > 0 ? path.substring(at + "/resolve/".length()).split("/", 2) : new String[0];
        if (renamed.containsKey(id)) {
            ex.getResponseHeaders().set("Location", "/" + renamed.get(id) + path.substring(at));
            reply(ex, 307, new byte[0]);
            return;
        }
        Repo repo = repos.get(id);
        if (repo == null || revAndFile.length != 2) {
            reply(ex, 401, "Repository not found".getBytes(StandardCharsets.UTF_8));
            return;
        }
        String rev = URLDecoder.decode(revAndFile[0], StandardCharsets.UTF_8), file = revAndFile[1];
        if (!rev.equals("main") && !rev.equals(repo.commit)) repo = revisions.get(id + "@" + rev);
        if (repo == null) {
            reply(ex, 404, "Revision not found".getBytes(StandardCharsets.UTF_8));
            return;
        }
        ex.getResponseHeaders().set("X-Repo-Commit", repo.commit);
        if (repo.small.containsKey(file)) {
            byte[] body = repo.small.get(file);
            ex.getResponseHeaders().set("ETag", "\"" + gitBlobSha1(body) + "\"");
            reply(ex, 200, body);
        } else if (repo.lfs.containsKey(file)) {
            byte[] body = repo.lfs.get(file);
            String sha = sha256(body);
            ex.getResponseHeaders().set("ETag", "\"" + gitBlobSha1(("pointer " + sha).getBytes(StandardCharsets.UTF_8)) + "\"");
            ex.getResponseHeaders().set("X-Linked-Etag", "\"" + sha + "\"");
            ex.getResponseHeaders().set("X-Linked-Size", Long.toString(body.length));
            ex.getResponseHeaders().set("Location", "http://127.0.0.1:" + cdn.getAddress().getPort() + "/cdn/" + sha);
            reply(ex, 302, new byte[0]);
        } else {
            reply(ex, 404, "Entry not found".getBytes(StandardCharsets.UTF_8));
        }
    }

    private void cdn(HttpExchange ex) throws IOException {
        String sha = ex.getRequestURI().getPath().substring("/cdn/".length());
        byte[] body = blobsBySha.get(sha);
        if (body == null) {
            reply(ex, 404, new byte[0]);
            return;
        }
        String range = ex.getRequestHeaders().getFirst("Range");
        cdnRanges.add(range == null ? "" : range);
        if (ex.getRequestHeaders().containsKey("Authorization")) throw new IllegalStateException("token leaked to the CDN");
        long from = 0;
        int status = 200;
        if (range != null && !ignoreRange) {
            from = Long.parseLong(range.substring("bytes=".length(), range.length() - 1));
            if (from >= body.length) {
                reply(ex, 416, new byte[0]);
                return;
            }
            status = 206;
            ex.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + (body.length - 1) + "/" + body.length);
        }
        byte[] part = java.util.Arrays.copyOfRange(body, (int) from, body.length);
        if (corrupt) part[part.length - 1] ^= 1;
        if (ex.getRequestMethod().equals("HEAD")) {
            reply(ex, status, part);
            return;
        }
        ex.sendResponseHeaders(status, part.length);
        OutputStream out = ex.getResponseBody();
        long die = dieAfterBytes;
        int n = die >= 0 ? (int) Math.min(die, part.length) : part.length;
        out.write(part, 0, n);
        out.flush();
        cdnBytesSent.addAndGet(n);
        if (n < part.length) throw new IOException("fake CDN dies mid-transfer");   // the server drops the connection
        out.close();
    }

    /** Sends headers and body; for HEAD only the headers, with the Content-Length the GET would have. */
    private static void reply(HttpExchange ex, int status, byte[] body) throws IOException {
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.getResponseHeaders().set("Content-Length", Integer.toString(body.length));
            ex.sendResponseHeaders(status, -1);
            ex.close();
            return;
        }
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }

    static String sha256(byte[] b) {
        return hex("SHA-256", b);
    }

    /** git hash-object: SHA-1 over "blob <size>\0" + content; what the hub uses as the ETag of small files. */
    static String gitBlobSha1(byte[] b) {
        byte[] head = ("blob " + b.length + "\0").getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[head.length + b.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(b, 0, all, head.length, b.length);
        return hex("SHA-1", all);
    }

    private static String hex(String algorithm, byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance(algorithm).digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    @Override
    public void close() {
        hub.stop(0);
        cdn.stop(0);
    }
}
