package dev.bertft.spark;

import dev.bertft.api.BertClassifier;
import dev.bertft.api.Prediction;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import scala.Option;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Queue;

/**
 * What each task runs over its partition: it takes rows from the partition's iterator until it holds a window
 * of texts (the model's {@link BertClassifier#window}, 64 batches, run longest first), classifies them in one
 * call on the executor's shared model, and hands the rows on with four columns appended (label, label_id,
 * probs, error), in their order, before reading the next window. A row
 * whose text is null or blank is not classified: its prediction columns are null and error says why.
 */
final class PartitionPredictor implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    private final ModelSpec spec;
    private final HadoopConf conf;
    private final int textColumn;
    /** -1 without sentence pairs. */
    private final int pairColumn;
    private final String textName;
    private final String pairName;

    PartitionPredictor(ModelSpec spec, HadoopConf conf, int textColumn, String textName, int pairColumn, String pairName) {
        this.spec = spec;
        this.conf = conf;
        this.textColumn = textColumn;
        this.textName = textName;
        this.pairColumn = pairColumn;
        this.pairName = pairName;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        BertClassifier model = ExecutorModels.get(spec.on(taskDevice(spec.device())), conf.get());
        return new Iterator<>() {
            private final Queue<Row> ready = new ArrayDeque<>();

            @Override
            public boolean hasNext() {
                if (ready.isEmpty() && rows.hasNext()) classifyNextWindow(rows, model, ready);
                return !ready.isEmpty();
            }

            @Override
            public Row next() {
                if (!hasNext()) throw new NoSuchElementException();
                return ready.remove();
            }
        };
    }

    /**
     * "cuda" is the GPU Spark assigned to this task (spark.task.resource.gpu.amount) when it assigned one, so
     * that the executors of one host use their own GPUs; any other device is taken as given.
     */
    private static String taskDevice(String device) {
        TaskContext task = TaskContext.get();
        if (!device.equals("cuda") || task == null) return device;
        Option<ResourceInformation> gpu = task.resources().get("gpu");
        if (gpu.isEmpty() || gpu.get().addresses().length == 0) return device;
        return "cuda:" + gpu.get().addresses()[0];
    }

    /** Reads rows until a window of them have a text to classify (or the partition ends), and queues them all, answered. */
    private void classifyNextWindow(Iterator<Row> rows, BertClassifier model, Queue<Row> out) {
        List<Row> window = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        List<String> texts = new ArrayList<>(), pairs = new ArrayList<>();
        while (texts.size() < model.window() && rows.hasNext()) {
            Row row = rows.next();
            String error = problem(row);
            window.add(row);
            errors.add(error);
            if (error == null) {
                texts.add(row.getString(textColumn));
                if (pairColumn >= 0) pairs.add(row.getString(pairColumn));
            }
        }
        List<Prediction> predictions = texts.isEmpty() ? List.of() : pairColumn >= 0 ? model.predict(texts, pairs) : model.predict(texts);
        Iterator<Prediction> next = predictions.iterator();
        for (int i = 0; i < window.size(); i++) {
            out.add(errors.get(i) == null ? answered(window.get(i), next.next()) : failed(window.get(i), errors.get(i)));
        }
    }

    /** Why this row cannot be classified, or null when it can. */
    private String problem(Row row) {
        String blank = blank(row, textColumn, textName);
        return blank != null || pairColumn < 0 ? blank : blank(row, pairColumn, pairName);
    }

    private static String blank(Row row, int column, String name) {
        if (row.isNullAt(column)) return name + " is null";
        return row.getString(column).isBlank() ? name + " is empty" : null;
    }

    private static Row answered(Row row, Prediction p) {
        return appended(row, p.label(), p.labelId(), p.probabilities(), null);
    }

    private static Row failed(Row row, String error) {
        return appended(row, null, null, null, error);
    }

    private static Row appended(Row row, String label, Integer labelId, float[] probs, String error) {
        Object[] values = new Object[row.length() + 4];
        for (int i = 0; i < row.length(); i++) values[i] = row.get(i);
        values[row.length()] = label;
        values[row.length() + 1] = labelId;
        values[row.length() + 2] = probs;
        values[row.length() + 3] = error;
        return RowFactory.create(values);
    }
}
