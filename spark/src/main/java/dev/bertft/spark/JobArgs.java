package dev.bertft.spark;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The command line of {@link PredictJob}, parsed and checked before Spark starts.
 *
 * @param idColumn        the id column; null when it was not asked for and the input may lack it
 * @param idColumnIsGiven whether --id-column was given (then the input must have it)
 */
record JobArgs(String model, String input, String output, String format, String textColumn, String pairColumn,
               String idColumn, boolean idColumnIsGiven, int batchSize, int maxLength, int threads, String device,
               String master) {

    static final String USAGE = "usage: PredictJob --model PATH --input PATH --output PATH [--format jsonl|csv|parquet]"
            + " [--text-column text] [--text-pair-column C] [--id-column id] [--batch-size 32] [--max-length N]"
            + " [--threads N] [--device cpu|cuda|cuda:N|auto] [--master URL]";
    static final List<String> FORMATS = List.of("jsonl", "csv", "parquet");
    private static final Set<String> FLAGS = Set.of("--model", "--input", "--output", "--format", "--text-column",
            "--text-pair-column", "--id-column", "--batch-size", "--max-length", "--threads", "--device", "--master");

    /** A command line that cannot run; the message is one line naming the flag. */
    static final class Invalid extends Exception {
        private static final long serialVersionUID = 1L;

        Invalid(String message) {
            super(message);
        }
    }

    static JobArgs parse(String[] args) throws Invalid {
        Map<String, String> given = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String flag = args[i];
            if (!FLAGS.contains(flag)) throw new Invalid("unknown argument " + flag);
            if (i + 1 >= args.length) throw new Invalid(flag + " needs a value");
            if (given.put(flag, args[++i]) != null) throw new Invalid(flag + " is given twice");
        }
        for (String required : List.of("--model", "--input", "--output")) {
            if (!given.containsKey(required)) throw new Invalid(required + " is required");
        }
        String format = given.getOrDefault("--format", "jsonl");
        if (!FORMATS.contains(format)) throw new Invalid("--format must be jsonl, csv or parquet, got " + format);
        String device = given.getOrDefault("--device", "cpu");
        if (!device.matches("cpu|cuda|cuda:\\d+|auto")) throw new Invalid("--device must be cpu, cuda, cuda:N or auto, got " + device);
        int batchSize = number(given, "--batch-size", 32);
        if (batchSize < 1) throw new Invalid("--batch-size must be at least 1, got " + batchSize);
        int maxLength = number(given, "--max-length", 0);
        if (maxLength == 1) throw new Invalid("--max-length must be at least 2 tokens ([CLS] and [SEP]), got 1");
        return new JobArgs(given.get("--model"), given.get("--input"), given.get("--output"), format,
                given.getOrDefault("--text-column", "text"), given.get("--text-pair-column"),
                given.getOrDefault("--id-column", "id"), given.containsKey("--id-column"),
                batchSize,
                maxLength, number(given, "--threads", 0), device, given.get("--master"));
    }

    /** The flag's value as a non-negative whole number, or the default when it is absent. */
    private static int number(Map<String, String> given, String flag, int absent) throws Invalid {
        String v = given.get(flag);
        if (v == null) return absent;
        try {
            int n = Integer.parseInt(v.trim());
            if (n >= 0) return n;
        } catch (NumberFormatException e) {
            // reported below, with the flag
        }
        throw new Invalid(flag + " must be a whole number >= 0, got " + v);
    }
}
