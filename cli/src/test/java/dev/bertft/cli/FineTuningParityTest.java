package dev.bertft.cli;

import dev.bertft.api.BertClassifier;
import dev.bertft.api.FineTuning;
import dev.bertft.api.Prediction;
import dev.bertft.api.TrainingData;
import dev.bertft.bert.TestResources;
import dev.bertft.train.TrainingArgs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@code bert-ft train} and {@link FineTuning} are one job: the same settings, given as flags and through
 * the builder, train the same weights to the bit; and {@code bert-ft predict} loads the folder a Java
 * fine-tune wrote, giving the labels {@link BertClassifier} gives.
 */
class FineTuningParityTest {
    @TempDir
    Path tmp;

    @Test
    void flagsAndTheBuilderTrainTheSameWeightsAndPredictLoadsTheResult() throws IOException {
        Path base = TestResources.tinyEncoder(tmp.resolve("tiny-encoder"));
        Path data = TrainCommandTest.reviews(tmp.resolve("train.csv"), 24, 3);
        Path cliOut = tmp.resolve("cli"), apiOut = tmp.resolve("api");
        PredictCommandTest.Run train = PredictCommandTest.run("train", "--device", "cpu", "--threads", "2", "--model", base.toString(),
                "--data", data.toString(), "--output-dir", cliOut.toString(), "--batch-size", "4", "--max-steps", "4",
                "--learning-rate", "1e-3", "--warmup-ratio", "0.25", "--max-length", "32", "--save-steps", "2");
        assertEquals(0, train.exit(), train.err());

        TrainingArgs args = TrainingArgs.builder().outputDir(apiOut).batchSize(4).maxSteps(4).learningRate(1e-3).warmupRatio(0.25)
                .maxLength(32).saveSteps(2).build();
        FineTuning.of(base, TrainingData.fromFiles(data.toString()), args).threads(2).run();
        assertArrayEquals(Files.readAllBytes(cliOut.resolve("model.safetensors")), Files.readAllBytes(apiOut.resolve("model.safetensors")));
        assertArrayEquals(Files.readAllBytes(cliOut.resolve("checkpoint-2/optimizer.safetensors")),
                Files.readAllBytes(apiOut.resolve("checkpoint-2/optimizer.safetensors")));

        List<String> texts = List.of("a great film", "boring and bad", "the plot");
        Path input = Files.write(tmp.resolve("texts.txt"), texts);
        PredictCommandTest.Run predict = PredictCommandTest.run("predict", "--device", "cpu", "--model", apiOut.toString(),
                "--input", input.toString());
        assertEquals(0, predict.exit(), predict.err());
        List<String> lines = predict.out().lines().toList();
        try (BertClassifier clf = BertClassifier.load(apiOut)) {
            List<Prediction> api = clf.predict(texts);
            for (int i = 0; i < texts.size(); i++) {
                assertEquals(api.get(i).label(), PredictCommandTest.JSON.readTree(lines.get(i)).get("label").asText(), "text " + i);
            }
        }
    }
}
