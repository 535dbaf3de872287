package dev.bertft.spark;

import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A fine-tuned bert-ft (or Hugging Face BERT) classifier as a Spark ML stage: it appends to each row the
 * predicted label (string), its id (int), the probability of every label (array&lt;float&gt;) and an error
 * (string, null when the row was classified).
 *
 * <pre>{@code
 * Dataset<Row> out = new BertFtClassifier().setModelPath("hdfs:///models/imdb").setInputCol("text")
 *         .setOutputCol("prediction").transform(reviews);
 * }</pre>
 *
 * <p>The model folder may be on any Hadoop file system the job can read; {@link #transform} first loads it on
 * the driver, so that a missing or broken folder fails there, at once, with one line naming it. Each
 * executor then copies the folder to its local disk and loads it once, for all its tasks; each task
 * classifies its partition in batches of {@link #batchSize()} texts. A row whose text is null or blank
 * gets null predictions and the reason in the error column; a long text is truncated to
 * {@link #maxLength()} tokens, as {@code bert-ft predict} does.
 */
public final class BertFtClassifier extends Transformer implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;
    private static final String[] DEVICES = {"cpu", "cuda", "auto"};

    private final String uid;
    private final Param<String> modelPath;
    private final Param<String> inputCol;
    private final Param<String> secondInputCol;
    private final Param<String> outputCol;
    private final Param<String> labelIdCol;
    private final Param<String> probsCol;
    private final Param<String> errorCol;
    private final IntParam batchSize;
    private final IntParam maxLength;
    private final IntParam threads;
    private final Param<String> device;

    public BertFtClassifier() {
        this(Identifiable.randomUID("bertFtClassifier"));
    }

    /** With this uid: how {@link #read()} and {@link #copy} make one. */
    public BertFtClassifier(String uid) {
        this.uid = uid;
        modelPath = new Param<>(this, "modelPath", "the model folder: a Hadoop path (hdfs:, s3a:, gs:, file: or local)");
        inputCol = new Param<>(this, "inputCol", "the column of texts to classify");
        secondInputCol = new Param<>(this, "secondInputCol", "the column of second texts, for a model of sentence pairs");
        outputCol = new Param<>(this, "outputCol", "the column of predicted labels (string)");
        labelIdCol = new Param<>(this, "labelIdCol", "the column of predicted label ids (int)");
        probsCol = new Param<>(this, "probsCol", "the column of probabilities by label id (array<float>)");
        errorCol = new Param<>(this, "errorCol", "the column of reasons a row was not classified (string, null when it was)");
        batchSize = new IntParam(this, "batchSize", "texts per forward pass", ParamValidators.gtEq(1));
        maxLength = new IntParam(this, "maxLength", "tokens per text, longer ones truncated; 0: the tokenizer's maximum",
                v -> (int) v == 0 || (int) v >= 2);
        threads = new IntParam(this, "threads", "CPU threads per forward pass; 0: one per core", ParamValidators.gtEq(0));
        device = new Param<>(this, "device", "cpu, cuda (the task's GPU), cuda:N or auto",
                (String v) -> Arrays.asList(DEVICES).contains(v) || v.matches("cuda:\\d+"));
        setDefault(inputCol, "text");
        setDefault(outputCol, "label");
        setDefault(labelIdCol, "label_id");
        setDefault(probsCol, "probs");
        setDefault(errorCol, "error");
        setDefault(batchSize, 32);
        setDefault(maxLength, 0);
        setDefault(threads, 0);
        setDefault(device, "cpu");
    }

    public Param<String> modelPath() { return modelPath; }
    public Param<String> inputCol() { return inputCol; }
    public Param<String> secondInputCol() { return secondInputCol; }
    public Param<String> outputCol() { return outputCol; }
    public Param<String> labelIdCol() { return labelIdCol; }
    public Param<String> probsCol() { return probsCol; }
    public Param<String> errorCol() { return errorCol; }
    public IntParam batchSize() { return batchSize; }
    public IntParam maxLength() { return maxLength; }
    public IntParam threads() { return threads; }
    public Param<String> device() { return device; }

    public String getOutputCol() { return $(outputCol); }
    public String getLabelIdCol() { return $(labelIdCol); }
    public String getProbsCol() { return $(probsCol); }
    public String getErrorCol() { return $(errorCol); }

    public BertFtClassifier setModelPath(String v) { return (BertFtClassifier) set(modelPath, v); }
    public BertFtClassifier setInputCol(String v) { return (BertFtClassifier) set(inputCol, v); }
    public BertFtClassifier setSecondInputCol(String v) { return (BertFtClassifier) set(secondInputCol, v); }
    public BertFtClassifier setOutputCol(String v) { return (BertFtClassifier) set(outputCol, v); }
    public BertFtClassifier setLabelIdCol(String v) { return (BertFtClassifier) set(labelIdCol, v); }
    public BertFtClassifier setProbsCol(String v) { return (BertFtClassifier) set(probsCol, v); }
    public BertFtClassifier setErrorCol(String v) { return (BertFtClassifier) set(errorCol, v); }
    public BertFtClassifier setBatchSize(int v) { return (BertFtClassifier) set(batchSize, v); }
    public BertFtClassifier setMaxLength(int v) { return (BertFtClassifier) set(maxLength, v); }
    public BertFtClassifier setThreads(int v) { return (BertFtClassifier) set(threads, v); }
    public BertFtClassifier setDevice(String v) { return (BertFtClassifier) set(device, v); }

    @Override
    public String uid() {
        return uid;
    }

    /**
     * The input's schema with the four prediction columns appended.
     *
     * @throws IllegalArgumentException when the model path is unset, an input column is missing or not a
     *                                  string, or an output column exists already
     */
    @Override
    public StructType transformSchema(StructType schema) {
        if (!isDefined(modelPath)) throw new IllegalArgumentException("the model path is not set (setModelPath)");
        requireText(schema, $(inputCol));
        if (isDefined(secondInputCol)) requireText(schema, $(secondInputCol));
        Set<String> taken = new HashSet<>(Arrays.asList(schema.fieldNames()));
        StructType out = schema;
        for (StructField f : List.of(
                DataTypes.createStructField($(outputCol), DataTypes.StringType, true),
                DataTypes.createStructField($(labelIdCol), DataTypes.IntegerType, true),
                DataTypes.createStructField($(probsCol), DataTypes.createArrayType(DataTypes.FloatType, false), true),
                DataTypes.createStructField($(errorCol), DataTypes.StringType, true))) {
            if (!taken.add(f.name())) throw new IllegalArgumentException("output column " + f.name() + " exists already");
            out = out.add(f);
        }
        return out;
    }

    private static void requireText(StructType schema, String column) {
        if (!Arrays.asList(schema.fieldNames()).contains(column)) {
            throw new IllegalArgumentException("input column " + column + " does not exist; the columns are " + String.join(", ", schema.fieldNames()));
        }
        if (!schema.apply(column).dataType().equals(DataTypes.StringType)) {
            throw new IllegalArgumentException("input column " + column + " is " + schema.apply(column).dataType().simpleString() + ", not string");
        }
    }

    /**
     * The rows with their predictions, computed lazily by the executors. The model is loaded here first, on the
     * driver, on the CPU (in local mode the executors share that very load).
     *
     * @throws java.io.UncheckedIOException when the model path is missing or is no model folder
     */
    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        StructType out = transformSchema(dataset.schema(), true);
        ModelSpec spec = new ModelSpec($(modelPath), $(device), (int) $(threads), (int) $(batchSize), (int) $(maxLength));
        HadoopConf conf = new HadoopConf(dataset.sparkSession().sparkContext().hadoopConfiguration());
        ExecutorModels.get(spec.on("cpu"), conf.get());
        StructType in = dataset.schema();
        String pair = isDefined(secondInputCol) ? $(secondInputCol) : null;
        PartitionPredictor predictor = new PartitionPredictor(spec, conf, in.fieldIndex($(inputCol)), $(inputCol),
                pair == null ? -1 : in.fieldIndex(pair), pair);
        return dataset.toDF().mapPartitions(predictor, Encoders.row(out));
    }

    @Override
    public BertFtClassifier copy(ParamMap extra) {
        return (BertFtClassifier) defaultCopy(extra);
    }

    /** Reads a classifier that {@code write().save(path)} saved (its params; the model stays where it was). */
    public static MLReader<BertFtClassifier> read() {
        return new DefaultParamsReader<>();
    }

    /** {@code read().load(path)}. */
    public static BertFtClassifier load(String path) {
        return read().load(path);
    }
}
