package dev.bertft.tokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * BERT's WordPiece tokenizer with Hugging Face's exact semantics (the Rust {@code tokenizers}
 * pipeline): added special tokens matched in the raw text, then {@link BertNormalizer}, the BERT
 * pre-tokenizer (split on whitespace, punctuation as words of their own), greedy
 * longest-match-first WordPiece, truncation, the special-token template and padding.
 * <p>
 * The whole pipeline runs in one pass over the text's code points: each is normalized through a
 * table, classified, and appended to the current word; at each word boundary the word, held as
 * code points with the source offsets of each, is cut into vocabulary pieces. No String is made
 * per word or per piece. Instances are immutable and safe to share between threads.
 */
public final class WordPieceTokenizer {
    private final Vocabulary vocab;
    private final BertNormalizer normalizer;
    private final int unkId;
    private final int maxInputCharsPerWord;
    private final SpecialTokens specials;
    private final Template template;
    private final String continuingPrefix;
    /** HF's decoder: WordPiece (with or without cleanup), or none, which joins tokens with spaces. */
    private final Decoder decoder;
    private final int padId;
    private final int modelMaxLength;
    private final TokenizerFiles.Source source;

    WordPieceTokenizer(Vocabulary vocab, NormalizerSettings settings, String unkToken, String continuingPrefix,
                       int maxInputCharsPerWord, SpecialTokens specials, Template template, Decoder decoder,
                       String padToken, int modelMaxLength, TokenizerFiles.Source source) {
        this.vocab = vocab;
        this.normalizer = new BertNormalizer(settings);
        this.unkId = specials.idOf(unkToken, vocab);
        this.continuingPrefix = continuingPrefix;
        this.maxInputCharsPerWord = maxInputCharsPerWord;
        this.specials = specials;
        this.template = template;
        this.decoder = decoder;
        int pad = padToken == null ? -1 : specials.idOf(padToken, vocab);
        this.padId = Math.max(pad, 0);
        this.modelMaxLength = modelMaxLength;
        this.source = source;
    }

    /**
     * Loads a Hugging Face model folder: {@code tokenizer.json} when present, else
     * {@code vocab.txt} with {@code tokenizer_config.json}. Errors name the file and the problem.
     */
    public static WordPieceTokenizer load(Path dir) throws IOException {
        return TokenizerFiles.load(dir);
    }

    public int vocabSize() {
        return vocab.size();
    }

    /** The token string of an id (special tokens included). */
    public String token(int id) {
        return vocab.token(id);
    }

    /** The id of a token string, or -1 when it is not in the vocabulary. */
    public int tokenId(String token) {
        return vocab.id(token);
    }

    public int padId() {
        return padId;
    }

    public int unkId() {
        return unkId;
    }

    /** model_max_length from the model folder (512 for BERT), or 0 when it does not say. */
    public int modelMaxLength() {
        return modelMaxLength;
    }

    public NormalizerSettings normalizerSettings() {
        return normalizer.settings();
    }

    /** One text with special tokens, not truncated, not padded. */
    public Encoding encode(String text) {
        return encode(text, null, EncodeOptions.of(0));
    }

    /** One text with special tokens, cut (longest-first) to {@code maxLength} tokens when positive. */
    public Encoding encode(String text, int maxLength) {
        return encode(text, null, EncodeOptions.of(maxLength));
    }

    /** One text, or a pair when {@code pair} is not null; padded only when options ask for max length. */
    public Encoding encode(String text, String pair, EncodeOptions options) {
        Encoding e = encodeUnpadded(text, pair, options);
        return options.padding() == Padding.NONE ? e : e.padTo(paddedLength(e.length(), options), padId);
    }

    /** A batch of single texts, encoded in parallel on the common fork-join pool. */
    public List<Encoding> encodeBatch(List<String> texts, int maxLength, Padding padding) {
        return encodeBatch(texts, null, EncodeOptions.of(maxLength).withPadding(padding));
    }

    /** A batch of texts, or of pairs when {@code pairs} is not null (a null entry: no pair for that text), encoded in parallel. */
    public List<Encoding> encodeBatch(List<String> texts, List<String> pairs, EncodeOptions options) {
        if (pairs != null && pairs.size() != texts.size()) {
            throw new IllegalArgumentException("texts and pairs differ in size: " + texts.size() + " vs " + pairs.size());
        }
        Encoding[] out = new Encoding[texts.size()];
        IntStream.range(0, out.length).parallel()
                .forEach(i -> out[i] = encodeUnpadded(texts.get(i), pairs == null ? null : pairs.get(i), options));
        if (options.padding() != Padding.NONE) {
            int longest = 0;
            for (Encoding e : out) longest = Math.max(longest, e.length());
            int target = paddedLength(longest, options);
            for (int i = 0; i < out.length; i++) out[i] = out[i].padTo(target, padId);
        }
        return Arrays.asList(out);
    }

    /** HF's padding length: the batch's longest or the fixed max length, rounded up to the multiple. */
    private static int paddedLength(int longest, EncodeOptions options) {
        int target = options.padding() == Padding.MAX_LENGTH ? options.maxLength() : longest;
        int m = options.padToMultipleOf();
        if (m > 0 && target % m != 0) target += m - target % m;
        return target;
    }

    private Encoding encodeUnpadded(String text, String pair, EncodeOptions options) {
        boolean isPair = pair != null;
        Pieces a = tokenize(text);
        Pieces b = isPair ? tokenize(pair) : null;
        if (options.truncation() != Truncation.NONE) {
            int added = options.addSpecialTokens() ? template.added(isPair) : 0;
            int budget = options.maxLength() - added;
            if (budget < 0) {
                throw new IllegalArgumentException("maxLength " + options.maxLength() + " leaves no room for the "
                        + added + " special tokens");
            }
            truncate(a, b, budget, options.truncation());
        }
        if (!options.addSpecialTokens()) return assemble(List.of(new Template.Part(null, null, 0, 0),
                new Template.Part(null, null, 1, 1)), a, b);
        return assemble(isPair ? template.pair() : template.single(), a, b);
    }

    /**
     * HF's truncate_encodings with a budget already reduced by the special tokens. Longest-first
     * with a pair of lengths n1 <= n2: keep n1 and give the longer max - n1 when that fits,
     * else split the budget max/2 and max/2 + max%2, the extra token to the longer one.
     */
    private static void truncate(Pieces a, Pieces b, int budget, Truncation strategy) {
        int total = a.size + (b == null ? 0 : b.size);
        if (total <= budget) return;
        int remove = total - budget;
        switch (strategy) {
            case LONGEST_FIRST -> {
                if (b == null) {
                    a.size = budget;
                    return;
                }
                boolean swap = a.size > b.size;
                int n1 = Math.min(a.size, b.size), n2;
                n2 = n1 > budget ? n1 : Math.max(n1, budget - n1);
                if (n1 + n2 > budget) {
                    n1 = budget / 2;
                    n2 = n1 + budget % 2;
                }
                a.size = Math.min(a.size, swap ? n2 : n1);
                b.size = Math.min(b.size, swap ? n1 : n2);
            }
            case ONLY_FIRST, ONLY_SECOND -> {
                Pieces target = strategy == Truncation.ONLY_FIRST ? a : b;
                if (target == null) throw new IllegalArgumentException("truncation ONLY_SECOND needs a text pair");
                if (target.size <= remove) {
                    throw new IllegalArgumentException("truncation " + strategy + " cannot cut " + remove
                            + " tokens from a text of " + target.size + " tokens");
                }
                target.size -= remove;
            }
            case NONE -> { }
        }
    }

    private static Encoding assemble(List<Template.Part> parts, Pieces a, Pieces b) {
        int n = 0;
        for (Template.Part p : parts) {
            if (!p.isSequence()) n += p.ids().length;
            else if (p.sequence() == 0) n += a.size;
            else if (b != null) n += b.size;
        }
        int[] ids = new int[n], types = new int[n], mask = new int[n], special = new int[n], starts = new int[n], ends = new int[n];
        Arrays.fill(mask, 1);
        int k = 0;
        for (Template.Part p : parts) {
            if (!p.isSequence()) {
                for (int id : p.ids()) {
                    ids[k] = id;
                    types[k] = p.typeId();
                    special[k++] = 1;
                }
                continue;
            }
            Pieces s = p.sequence() == 0 ? a : b;
            if (s == null) continue;
            System.arraycopy(s.ids, 0, ids, k, s.size);
            System.arraycopy(s.starts, 0, starts, k, s.size);
            System.arraycopy(s.ends, 0, ends, k, s.size);
            Arrays.fill(types, k, k + s.size, p.typeId());
            k += s.size;
        }
        return new Encoding(ids, types, mask, special, starts, ends);
    }

    /** Token ids with their source offsets, before the template. */
    static final class Pieces {
        int[] ids = new int[64], starts = new int[64], ends = new int[64];
        int size;

        void add(int id, int start, int end) {
            if (size == ids.length) {
                int cap = size * 2;
                ids = Arrays.copyOf(ids, cap);
                starts = Arrays.copyOf(starts, cap);
                ends = Arrays.copyOf(ends, cap);
            }
            ids[size] = id;
            starts[size] = start;
            ends[size++] = end;
        }
    }

    /** The ids of one text without special tokens, with offsets: the whole pipeline but post-processing. */
    Pieces tokenize(String text) {
        Pieces out = new Pieces();
        Word word = new Word(maxInputCharsPerWord);
        int n = text.length();
        int i = 0;
        while (i < n) {
            char c = text.charAt(i);
            if (specials.mayStartWith(c)) {
                int s = specials.matchAt(text, i);
                if (s >= 0) {
                    cutWord(word, out);
                    int len = specials.content(s).length();
                    out.add(specials.id(s), i, i + len);
                    i += len;
                    continue;
                }
            }
            int cp = c, next = i + 1;
            if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && next < n && Character.isLowSurrogate(text.charAt(next))) {
                    cp = Character.toCodePoint(c, text.charAt(next++));
                } else {
                    cp = 0xFFFD; // a lone surrogate is not a character: treat it as the replacement character
                }
            }
            // a CJK ideograph is a word of its own: cut before and after it
            boolean isolate = normalizer.isolates(cp);
            if (isolate) cutWord(word, out);
            if (cp < 0x10000) {
                int e = normalizer.bmpEntry(cp);
                if (e >= 0) {
                    emit(e, isolate, i, next, word, out);
                } else if (e < -1) {
                    for (int o : normalizer.multi(e)) emit(o, isolate, i, next, word, out);
                }
            } else {
                for (int o : normalizer.normalize(cp)) emit(o, isolate, i, next, word, out);
            }
            if (isolate) cutWord(word, out);
            i = next;
        }
        cutWord(word, out);
        return out;
    }

    /**
     * Pre-tokenizer step for one normalized code point o that came from text[start, end); the
     * output of an isolated (CJK) code point goes into its word as is.
     */
    private void emit(int o, boolean isolate, int start, int end, Word word, Pieces out) {
        if (isolate) {
            word.add(o, start, end);
            return;
        }
        switch (normalizer.classOf(o)) {
            case BertNormalizer.WORD -> word.add(o, start, end);
            case BertNormalizer.SPACE -> cutWord(word, out);
            default -> { // punctuation: a word of its own
                cutWord(word, out);
                word.add(o, start, end);
                cutWord(word, out);
            }
        }
    }

    /**
     * WordPiece on the current word, then clears it. Greedy longest match first: from each start,
     * the longest vocabulary piece (with "##" after the first); a word with no match at some
     * start, or longer than max_input_chars_per_word, becomes one [UNK] over the whole word.
     */
    private void cutWord(Word w, Pieces out) {
        int len = w.length;
        if (len == 0) return;
        if (len > maxInputCharsPerWord) {
            out.add(unkId, w.start[0], w.lastEnd);
            w.length = 0;
            return;
        }
        int[] pre = w.prefixHashes(), pow = w.powers();
        int mark = out.size;
        for (int start = 0; start < len; ) {
            Vocabulary.Table table = start == 0 ? vocab.wordStart() : vocab.continuation();
            int id = -1, end = Math.min(len, start + table.maxLength());
            for (; end > start; end--) {
                id = table.find(w.cps, start, end, Vocabulary.hashRange(pre, pow, start, end));
                if (id >= 0) break;
            }
            if (id < 0) {
                out.size = mark;
                out.add(unkId, w.start[0], w.lastEnd);
                break;
            }
            out.add(id, w.start[start], w.end[end - 1]);
            start = end;
        }
        w.length = 0;
    }

    /** The word being built: normalized code points and the source span of each. */
    private static final class Word {
        final int cap;
        int[] cps = new int[32], start = new int[32], end = new int[32];
        int[] pre = new int[33], pow = new int[33];
        int length;     // code points in the word (may exceed cap: then only the first cap+1 are kept)
        int lastEnd;    // source end of the last code point

        Word(int maxChars) {
            this.cap = maxChars;
        }

        void add(int cp, int s, int e) {
            if (length <= cap) {
                if (length == cps.length) grow();
                cps[length] = cp;
                start[length] = s;
                end[length] = e;
            }
            length++;
            lastEnd = e;
        }

        private void grow() {
            int c = cps.length * 2;
            cps = Arrays.copyOf(cps, c);
            start = Arrays.copyOf(start, c);
            end = Arrays.copyOf(end, c);
        }

        int[] prefixHashes() {
            if (pre.length < length + 1) {
                pre = new int[cps.length + 1];
                pow = new int[cps.length + 1];
            }
            int h = 0, p = 1;
            pre[0] = 0;
            pow[0] = 1;
            for (int i = 0; i < length; i++) {
                h = h * Vocabulary.P + cps[i];
                p *= Vocabulary.P;
                pre[i + 1] = h;
                pow[i + 1] = p;
            }
            return pre;
        }

        int[] powers() {
            return pow;
        }
    }

    /**
     * Ids back to text, as HF's WordPiece decoder: pieces joined by spaces, "##" pieces glued to
     * the previous one, and (cleanup) the space before . ? ! , and English contractions removed,
     * token by token. Unknown ids are skipped; special tokens too when asked. A tokenizer.json
     * without a decoder joins the tokens with spaces, as HF does.
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        StringBuilder sb = new StringBuilder();
        boolean first = true;
        for (int id : ids) {
            if (id < 0 || id >= vocab.size()) continue;
            if (skipSpecialTokens && specials.isSpecial(id)) continue;
            String t = vocab.token(id);
            if (decoder == Decoder.NONE) {
                sb.append(first ? "" : " ").append(t);
                first = false;
                continue;
            }
            if (!first) {
                t = t.startsWith(continuingPrefix) ? t.substring(continuingPrefix.length()) : " " + t;
            }
            first = false;
            sb.append(decoder == Decoder.WORDPIECE_CLEANUP ? cleanup(t) : t);
        }
        return sb.toString();
    }

    enum Decoder { WORDPIECE_CLEANUP, WORDPIECE, NONE }

    private static String cleanup(String t) {
        return t.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",")
                .replace(" ' ", "'").replace(" n't", "n't").replace(" 'm", "'m").replace(" do not", " don't")
                .replace(" 's", "'s").replace(" 've", "'ve").replace(" 're", "'re");
    }

    /**
     * Writes this tokenizer into a model folder: vocab.txt, tokenizer_config.json,
     * special_tokens_map.json, and tokenizer.json when it was loaded from one. Each file is
     * written beside its target and moved over it, so a failed save leaves the old files whole.
     */
    public void saveTo(Path dir) throws IOException {
        TokenizerFiles.save(dir, this, vocab, source);
    }
}
