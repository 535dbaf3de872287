package dev.bertft.tokenizer;

import java.util.List;

/**
 * HF's TemplateProcessing: where the special tokens go around one text or a pair, and the
 * segment (type id) of each part. BERT's is "[CLS] A [SEP]" and "[CLS] A [SEP] B [SEP]:1".
 */
record Template(List<Part> single, List<Part> pair) {

    /** A special token's ids, or (ids == null) the text with index {@code sequence} (0 = A, 1 = B). */
    record Part(String name, int[] ids, int sequence, int typeId) {
        boolean isSequence() {
            return ids == null;
        }
    }

    static Template bert(String cls, int clsId, String sep, int sepId) {
        Part c = new Part(cls, new int[] {clsId}, -1, 0);
        Part s0 = new Part(sep, new int[] {sepId}, -1, 0);
        Part s1 = new Part(sep, new int[] {sepId}, -1, 1);
        return new Template(List.of(c, new Part(null, null, 0, 0), s0),
                List.of(c, new Part(null, null, 0, 0), s0, new Part(null, null, 1, 1), s1));
    }

    /** Number of special-token ids the template adds around one text or a pair. */
    int added(boolean isPair) {
        int n = 0;
        for (Part p : isPair ? pair : single) if (!p.isSequence()) n += p.ids().length;
        return n;
    }
}
