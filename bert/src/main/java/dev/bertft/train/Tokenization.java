package dev.bertft.train;

import dev.bertft.data.Example;
import dev.bertft.tokenizer.EncodeOptions;
import dev.bertft.tokenizer.Encoding;
import dev.bertft.tokenizer.WordPieceTokenizer;

import java.util.ArrayList;
import java.util.List;

/** Examples into the token ids the Trainer batches, the same way for train, eval and prepare. */
public final class Tokenization {
    private Tokenization() {}

    /**
     * The sequence length to truncate to: {@code asked} when above 0 (at most the model's positions), else the
     * tokenizer's model_max_length capped at the model's positions.
     */
    public static int maxLength(int asked, WordPieceTokenizer tokenizer, int maxPositions) {
        if (asked > 0) {
            if (asked > maxPositions) {
                throw new HyperparameterException("{0} " + asked + " exceeds the model's " + maxPositions + " positions", TrainingArgs.MAX_LENGTH);
            }
            return asked;
        }
        int m = tokenizer.modelMaxLength();
        return m > 0 ? Math.min(m, maxPositions) : maxPositions;
    }

    /** Tokenizes examples in parallel, with special tokens, truncated to maxLength, unpadded. */
    public static List<Batches.Tokenized> tokenize(WordPieceTokenizer tokenizer, List<Example> examples, int maxLength) {
        List<String> texts = new ArrayList<>(examples.size()), pairs = new ArrayList<>(examples.size());
        boolean anyPair = false;
        for (Example e : examples) {
            texts.add(e.text());
            pairs.add(e.textPair());
            anyPair |= e.textPair() != null;
        }
        List<Encoding> enc = tokenizer.encodeBatch(texts, anyPair ? pairs : null, EncodeOptions.of(maxLength));
        List<Batches.Tokenized> out = new ArrayList<>(enc.size());
        for (int i = 0; i < enc.size(); i++) {
            out.add(new Batches.Tokenized(enc.get(i).ids(), enc.get(i).typeIds(), examples.get(i).label(), examples.get(i).targets()));
        }
        return out;
    }
}
