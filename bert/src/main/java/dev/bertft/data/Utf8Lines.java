package dev.bertft.data;

import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.util.Arrays;

/**
 * Lines of strict UTF-8 from a stream, each taken as it arrives (standard input can stream) and
 * decoded on its own, so bytes that are not UTF-8 are an error naming their line and offset, as
 * the table readers' are, never a silent U+FFFD. A line ends at \n; a \r before it is dropped.
 */
public final class Utf8Lines implements Closeable {
    private final InputStream in;
    private final String where;
    private final CharsetDecoder decoder = Utf8Text.strictDecoder();
    private byte[] line = new byte[1024];
    private long lineNumber;
    private long offset;   // bytes before the next line

    /** @param where names the stream in errors: a file, or {@code <stdin>} */
    public Utf8Lines(InputStream in, String where) {
        this.in = new BufferedInputStream(in, 1 << 16);
        this.where = where;
    }

    /** The next line without its terminator, or null at the end. */
    public String next() throws IOException {
        int n = 0, b;
        while ((b = in.read()) >= 0 && b != '\n') {
            if (n == line.length) {
                if (n >= Utf8Text.MAX_LENGTH) throw new DataException(where + ":" + (lineNumber + 1) + ": line longer than " + n + " bytes");
                line = Arrays.copyOf(line, Math.min(2 * n, Utf8Text.MAX_LENGTH));
            }
            line[n++] = (byte) b;
        }
        if (b < 0 && n == 0) return null;
        lineNumber++;
        long start = offset;
        offset += b < 0 ? n : n + 1;
        ByteBuffer bytes = ByteBuffer.wrap(line, 0, n > 0 && line[n - 1] == '\r' ? n - 1 : n);
        CharBuffer chars = CharBuffer.allocate(bytes.remaining());   // UTF-8 never gives more chars than bytes
        decoder.reset();
        CoderResult r = decoder.decode(bytes, chars, true);
        if (!r.isError()) r = decoder.flush(chars);
        if (r.isError()) {
            throw new DataException(where + ":" + lineNumber + ": not valid UTF-8 text (byte offset " + (start + bytes.position()) + ")");
        }
        return chars.flip().toString();
    }

    /**
     * Whether no byte of another line has arrived yet: the writer is slower than the reader, or done.
     * A reader that gathers lines into batches answers the ones it holds then, rather than keep a writer
     * that waits for those answers waiting too.
     */
    public boolean idle() throws IOException {
        return in.available() == 0;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
