package dev.bertft.spark;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Classifies a table of texts with a bert-ft model, for {@code spark-submit} without writing code:
 * <pre>
 * spark-submit --class dev.bertft.spark.PredictJob bert-ft-spark.jar \
 *     --model hdfs:///models/imdb --input hdfs:///reviews.jsonl --output hdfs:///predictions
 * </pre>
 * It reads the input (JSON lines, CSV with a header row, or Parquet; --format names both the input's and the
 * output's), runs {@link BertFtClassifier} over it and writes the id column (when the input has one), label,
 * label_id, probs and error, as Spark writes a table: a folder of part files. In CSV, probs is a JSON array
 * in one field.
 *
 * <p>Everything that can be checked is checked on the driver before the job starts: the arguments, the model
 * (loaded once there), the input's existence and columns, and that the output does not exist yet (nothing
 * is overwritten). A failure prints one line on standard error and exits with 2 for a wrong command line,
 * 1 for anything else.
 */
public final class PredictJob {
    private PredictJob() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.err));
    }

    /** Runs the job on the active Spark session, or on one it starts and stops; the exit status. */
    static int run(String[] args, PrintStream err) {
        JobArgs job;
        try {
            job = JobArgs.parse(args);
        } catch (JobArgs.Invalid e) {
            err.println("bert-ft-spark: " + e.getMessage());
            err.println(JobArgs.USAGE);
            return 2;
        }
        boolean started = SparkSession.getActiveSession().isEmpty() && SparkSession.getDefaultSession().isEmpty();
        SparkSession spark = session(job.master());
        try {
            predict(spark, job);
            return 0;
        } catch (Exception e) {
            err.println("bert-ft-spark: " + firstLine(e));
            return 1;
        } finally {
            if (started) spark.stop();
        }
    }

    private static SparkSession session(String master) {
        SparkSession.Builder b = SparkSession.builder().appName("bert-ft predict");
        // spark-submit sets spark.master; a plain java run without --master runs on this machine's cores
        if (master != null) b = b.master(master);
        else if (System.getProperty("spark.master") == null) b = b.master("local[*]");
        return b.getOrCreate();
    }

    private static void predict(SparkSession spark, JobArgs job) throws IOException {
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        Path output = new Path(job.output());
        if (output.getFileSystem(conf).exists(output)) throw new IOException("--output " + job.output() + " exists already; nothing is overwritten");
        Path input = new Path(job.input());
        if (!input.getFileSystem(conf).exists(input)) throw new IOException("--input " + job.input() + " does not exist");
        Dataset<Row> rows = read(spark, job);
        // a small or unsplittable (gzipped) input comes as one partition, which one task on one executor would
        // classify alone: spread it over every core the job has
        int cores = spark.sparkContext().defaultParallelism();
        if (rows.rdd().getNumPartitions() < cores) rows = rows.repartition(cores);
        List<String> columns = Arrays.asList(rows.columns());
        for (String c : new String[] {job.textColumn(), job.pairColumn()}) {
            if (c != null && !columns.contains(c)) throw new IOException("--input " + job.input() + " has no column " + c + "; it has " + String.join(", ", columns));
        }
        boolean withId = columns.contains(job.idColumn());
        if (job.idColumnIsGiven() && !withId) throw new IOException("--input " + job.input() + " has no column " + job.idColumn() + " (--id-column)");

        BertFtClassifier classifier = new BertFtClassifier().setModelPath(job.model()).setInputCol(job.textColumn())
                .setBatchSize(job.batchSize()).setMaxLength(job.maxLength()).setThreads(job.threads()).setDevice(job.device());
        if (job.pairColumn() != null) classifier.setSecondInputCol(job.pairColumn());
        Dataset<Row> predicted = classifier.transform(rows);

        List<Column> out = new ArrayList<>();
        if (withId) out.add(functions.col(job.idColumn()));
        out.add(functions.col(classifier.getOutputCol()));
        out.add(functions.col(classifier.getLabelIdCol()));
        Column probs = functions.col(classifier.getProbsCol());
        out.add(job.format().equals("csv") ? functions.to_json(probs).as(classifier.getProbsCol()) : probs);
        out.add(functions.col(classifier.getErrorCol()));
        write(predicted.select(out.toArray(new Column[0])), job);
    }

    private static Dataset<Row> read(SparkSession spark, JobArgs job) {
        return switch (job.format()) {
            case "jsonl" -> spark.read().json(job.input());
            case "csv" -> spark.read().option("header", true).option("multiLine", true).option("escape", "\"").csv(job.input());
            default -> spark.read().parquet(job.input());
        };
    }

    private static void write(Dataset<Row> out, JobArgs job) {
        switch (job.format()) {
            case "jsonl" -> out.write().option("ignoreNullFields", false).json(job.output());
            case "csv" -> out.write().option("header", true).option("escape", "\"").csv(job.output());
            default -> out.write().parquet(job.output());
        }
    }

    /** The first line of the message, which for Spark's own errors is the one that says what went wrong. */
    private static String firstLine(Exception e) {
        String m = e.getMessage() == null || e.getMessage().isBlank() ? "the job failed (the Spark log says where)" : e.getMessage();
        return m.lines().findFirst().orElse(m);
    }
}
