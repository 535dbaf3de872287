package dev.bertft.tokenizer;

import java.util.Arrays;
import java.util.List;

/**
 * The WordPiece vocabulary: token strings by id, and two open-addressing hash tables for the
 * greedy longest-match search, keyed by code-point sequences so that a candidate piece is looked
 * up straight from the word buffer without building a String.
 * <p>
 * "Word-start" holds every token as written; "continuation" holds the tokens that begin with the
 * continuing-subword prefix ({@code ##}), keyed by what follows the prefix. A piece at position 0
 * of a word is looked up in the first table, any later piece in the second — exactly HF's
 * lookup of {@code "##" + piece}.
 * <p>
 * Hash of a code-point sequence c[0..n): h = sum c[i] * P^(n-1-i) (mod 2^32), which the word
 * search gets in O(1) per candidate from prefix hashes (see {@link #hashRange}).
 */
final class Vocabulary {
    static final int P = 0x01000193;

    private final String[] tokens;
    private final Table wordStart;
    private final Table continuation;

    Vocabulary(List<String> tokensById, String continuingPrefix) {
        this.tokens = tokensById.toArray(new String[0]);
        this.wordStart = new Table(tokens, "");
        this.continuation = new Table(tokens, continuingPrefix);
    }

    int size() {
        return tokens.length;
    }

    String token(int id) {
        return tokens[id];
    }

    /** Id of a whole token string, or -1. */
    int id(String token) {
        int[] cps = token.codePoints().toArray();
        return wordStart.find(cps, 0, cps.length, hash(cps, 0, cps.length));
    }

    Table wordStart() {
        return wordStart;
    }

    Table continuation() {
        return continuation;
    }

    static int hash(int[] cps, int from, int to) {
        int h = 0;
        for (int i = from; i < to; i++) h = h * P + cps[i];
        return h;
    }

    /**
     * Hash of cps[from..to) from prefix hashes pre[i] = hash(cps[0..i)) and powers pow[k] = P^k:
     * hash(from..to) = pre[to] - pre[from] * P^(to-from), all mod 2^32.
     */
    static int hashRange(int[] pre, int[] pow, int from, int to) {
        return pre[to] - pre[from] * pow[to - from];
    }

    /** One open-addressing table over code-point keys (linear probing, load factor at most 1/2). */
    static final class Table {
        private final int[] keyPool;     // all keys' code points, back to back
        private final int[] keyStart;    // entry -> first index in keyPool
        private final int[] keyLength;   // entry -> number of code points
        private final int[] keyHash;     // entry -> hash
        private final int[] keyId;       // entry -> token id
        private final int[] slots;       // slot -> entry + 1, 0 = empty
        private final int mask;
        private final int maxLength;     // longest key, in code points

        Table(String[] tokens, String requiredPrefix) {
            int n = 0, pool = 0;
            for (String t : tokens) {
                if (t.startsWith(requiredPrefix)) {
                    n++;
                    pool += t.length() - requiredPrefix.length();
                }
            }
            keyPool = new int[pool];
            keyStart = new int[n];
            keyLength = new int[n];
            keyHash = new int[n];
            keyId = new int[n];
            int capacity = Integer.highestOneBit(Math.max(4, n) * 2) * 2;
            slots = new int[capacity];
            mask = capacity - 1;
            int e = 0, at = 0, longest = 0;
            for (int id = 0; id < tokens.length; id++) {
                String t = tokens[id];
                if (!t.startsWith(requiredPrefix)) continue;
                int[] cps = t.substring(requiredPrefix.length()).codePoints().toArray();
                int h = hash(cps, 0, cps.length);
                // HF's vocabulary is a map: a token listed twice keeps its last id.
                int existing = find(cps, 0, cps.length, h);
                if (existing >= 0) {
                    for (int k = 0; k < e; k++) if (keyId[k] == existing) keyId[k] = id;
                    continue;
                }
                System.arraycopy(cps, 0, keyPool, at, cps.length);
                keyStart[e] = at;
                keyLength[e] = cps.length;
                keyHash[e] = h;
                keyId[e] = id;
                at += cps.length;
                longest = Math.max(longest, cps.length);
                int s = mix(h) & mask;
                while (slots[s] != 0) s = (s + 1) & mask;
                slots[s] = ++e;
            }
            maxLength = longest;
        }

        int maxLength() {
            return maxLength;
        }

        /** Token id of cps[from..to) whose hash is h, or -1. */
        int find(int[] cps, int from, int to, int h) {
            int len = to - from;
            for (int s = mix(h) & mask; ; s = (s + 1) & mask) {
                int e = slots[s] - 1;
                if (e < 0) return -1;
                if (keyHash[e] == h && keyLength[e] == len
                        && Arrays.equals(keyPool, keyStart[e], keyStart[e] + len, cps, from, to)) {
                    return keyId[e];
                }
            }
        }

        private static int mix(int h) {
            h *= 0x9E3779B9;
            return h ^ (h >>> 15);
        }
    }
}
