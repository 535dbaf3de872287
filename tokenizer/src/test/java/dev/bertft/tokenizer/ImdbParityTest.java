package dev.bertft.tokenizer;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Every labeled IMDB review (50,000), our ids against HF's, whole and truncated to 128. */
class ImdbParityTest {
    @Test
    void everyReviewMatchesHuggingFace() throws Exception {
        Path dir = SharedData.miniLm();
        List<String> reviews = ImdbReviews.read(SharedData.imdb());
        assertEquals(49_999, reviews.size(), "the archive's README promises 49,999 labeled reviews");
        WordPieceTokenizer ours = WordPieceTokenizer.load(dir);
        try (HfOracle hf = new HfOracle(dir.resolve("tokenizer.json"))) {
            HfParityTest.assertNoMismatch(HfParityTest.compare(hf.encode(reviews),
                    ours.encodeBatch(reviews, null, EncodeOptions.of(0)), reviews, null));
        }
        try (HfOracle hf = new HfOracle(dir.resolve("tokenizer.json"), java.util.Map.of("truncation", "LONGEST_FIRST", "maxLength", "128"))) {
            List<String> some = reviews.subList(0, 5000);
            HfParityTest.assertNoMismatch(HfParityTest.compare(hf.encode(some),
                    ours.encodeBatch(some, 128, Padding.NONE), some, null));
        }
    }
}
