package dev.bertft.tokenizer;

import java.util.List;

/**
 * HF's added tokens as BERT uses them: whole strings such as "[CLS]" that are found in the raw
 * text before normalization (leftmost, then longest match) and become one token each, whatever
 * the normalizer would have done to them.
 */
final class SpecialTokens {
    /** One added token: its text, its id, and whether decode's skip-special-tokens drops it. */
    record Token(String content, int id, boolean special) {}

    private final Token[] tokens;
    private final boolean[] firstChar = new boolean[0x10000];
    private final java.util.BitSet specialIds = new java.util.BitSet();

    SpecialTokens(List<Token> tokens) {
        this.tokens = tokens.stream().filter(t -> !t.content().isEmpty()).toArray(Token[]::new);
        for (Token t : this.tokens) {
            firstChar[t.content().charAt(0)] = true;
            if (t.special()) specialIds.set(t.id());
        }
    }

    boolean mayStartWith(char c) {
        return firstChar[c];
    }

    /** Index of the longest token that occurs in text at position i, or -1. */
    int matchAt(String text, int i) {
        int best = -1, bestLength = 0;
        for (int k = 0; k < tokens.length; k++) {
            String c = tokens[k].content();
            if (c.length() > bestLength && text.startsWith(c, i)) {
                best = k;
                bestLength = c.length();
            }
        }
        return best;
    }

    String content(int index) {
        return tokens[index].content();
    }

    int id(int index) {
        return tokens[index].id();
    }

    boolean isSpecial(int id) {
        return specialIds.get(id);
    }

    /** The id of a named token: an added token's, else the vocabulary's; an error when neither has it. */
    int idOf(String token, Vocabulary vocab) {
        for (Token t : tokens) if (t.content().equals(token)) return t.id();
        int id = vocab.id(token);
        if (id < 0) throw new IllegalArgumentException("token '" + token + "' is not in the vocabulary");
        return id;
    }
}
