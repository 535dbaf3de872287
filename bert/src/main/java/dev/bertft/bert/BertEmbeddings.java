package dev.bertft.bert;

import dev.bertft.autograd.Var;
import dev.bertft.nn.Dropout;
import dev.bertft.nn.Embedding;
import dev.bertft.nn.LayerNorm;
import dev.bertft.nn.Module;
import dev.bertft.nn.Rng;
import dev.bertft.tensor.Tensor;

/**
 * Token, position and segment embeddings summed, then LayerNorm and dropout:
 * x = LayerNorm(word[ids] + token_type[segments] + position[0..T−1]).
 */
final class BertEmbeddings implements Module {
    final Embedding wordEmbeddings;       // [V, H]
    final Embedding positionEmbeddings;   // [P, H]
    final Embedding tokenTypeEmbeddings;  // [TV, H]
    final LayerNorm layerNorm;
    final Dropout dropout;

    BertEmbeddings(BertConfig c, Params p, Rng rng) {
        wordEmbeddings = p.embedding("word_embeddings", c.vocabSize(), c.hiddenSize());
        positionEmbeddings = p.embedding("position_embeddings", c.maxPositionEmbeddings(), c.hiddenSize());
        tokenTypeEmbeddings = p.embedding("token_type_embeddings", c.typeVocabSize(), c.hiddenSize());
        layerNorm = p.layerNorm("LayerNorm", c.hiddenSize(), c.layerNormEps());
        dropout = new Dropout(c.hiddenDropoutProb(), rng);
    }

    /** inputIds, tokenTypeIds: I32 [B, T] → [B, T, H]. */
    Var forward(Tensor inputIds, Tensor tokenTypeIds) {
        int t = inputIds.size(1);
        int maxPositions = positionEmbeddings.weight.size(0);
        if (t > maxPositions) {
            throw new IllegalArgumentException("sequence length " + t + " exceeds max_position_embeddings " + maxPositions);
        }
        int[] positions = new int[t];
        for (int i = 0; i < t; i++) positions[i] = i;
        Tensor positionIds = Tensor.of(inputIds.backend(), positions, t);

        Var x = wordEmbeddings.forward(inputIds)            // [B, T, H]
                .add(tokenTypeEmbeddings.forward(tokenTypeIds))  // [B, T, H]
                .add(positionEmbeddings.forward(positionIds));   // [T, H], broadcast over B
        return dropout.forward(layerNorm.forward(x));
    }

    @Override
    public void visit(Visitor v) {
        v.child("word_embeddings", wordEmbeddings);
        v.child("position_embeddings", positionEmbeddings);
        v.child("token_type_embeddings", tokenTypeEmbeddings);
        v.child("LayerNorm", layerNorm);
        v.child("dropout", dropout);
    }
}
