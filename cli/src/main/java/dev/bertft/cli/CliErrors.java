package dev.bertft.cli;

import dev.bertft.cuda.DeviceOutOfMemoryException;
import dev.bertft.data.DataSetting;
import dev.bertft.data.DataSettingException;
import dev.bertft.io.FileErrors;
import dev.bertft.train.HyperparameterException;
import picocli.CommandLine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * One clear line on standard error and a non-zero exit code for every failure;
 * {@code --verbose} (or BERTFT_VERBOSE=1) adds the stack trace.
 */
final class CliErrors implements CommandLine.IExecutionExceptionHandler {
    static final int USAGE = 2;
    static final int FAILURE = 1;

    /** A Java class name in a message ("java.nio.file.NoSuchFileException: ", "MalformedInputException"): words for users instead. */
    private static final Pattern CLASS_NAME = Pattern.compile(
            "(?<![\\w/.-])(?:[a-z][\\w$]*\\.)*[A-Z][\\w$]*(?:Exception|Error)\\b(?::\\s*)?");

    @Override
    public int handleExecutionException(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
        System.out.flush();
        String hint = e instanceof DeviceOutOfMemoryException ? memoryHint(cmd.getCommandSpec()) : "";
        System.err.println("bert-ft " + cmd.getCommandName() + ": error: " + message(e) + hint);
        if (verbose(parsed)) e.printStackTrace();
        return FAILURE;
    }

    /** The usage error and picocli's nearest spellings of what was not recognised, then where help is. */
    static int onBadArguments(CommandLine.ParameterException e, String[] args) {
        String command = e.getCommandLine().getCommandSpec().qualifiedName();
        String suggestions = "";
        if (e instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
            suggestions = "; did you mean " + String.join(" or ", u.getSuggestions()) + "?";
        }
        System.err.println(command + ": " + withoutClassNames(e.getMessage()) + suggestions);
        System.err.println("Try '" + command + " --help'.");
        return USAGE;
    }

    /** An Error that picocli lets through (out of memory, a stack overflow): one line too, not the JVM's report. */
    static int onError(Error e, String[] args) {
        System.out.flush();
        System.err.println("bert-ft: error: " + message(e));
        if (verboseByEnvironment() || List.of(args).contains("--verbose")) e.printStackTrace();
        return FAILURE;
    }

    /** What the command offers to use less GPU memory, for an out-of-memory error. */
    static String memoryHint(CommandLine.Model.CommandSpec command) {
        List<String> options = Stream.of("--batch-size", "--eval-batch-size", "--max-length", "--seq-len")
                .filter(o -> command.findOption(o) != null).toList();
        if (options.isEmpty()) return "";
        String last = options.get(options.size() - 1);
        String hint = "; try a smaller " + (options.size() == 1 ? last
                : String.join(", ", options.subList(0, options.size() - 1)) + " or " + last);
        if (command.findOption("--grad-accum-steps") != null) hint += " (--grad-accum-steps keeps the effective batch)";
        return command.findOption("--auto-find-batch-size") == null ? hint : hint + ", or --auto-find-batch-size";
    }

    /** The failure in words: file system errors say what happened to which file; class names are left out. */
    static String message(Throwable e) {
        if (e instanceof UncheckedIOException && e.getCause() != null) return message(e.getCause());
        // a file-system error's own message is often the bare path (NoSuchFileException) or the bare reason
        String m = e instanceof IOException fileError ? FileErrors.describe(fileError) : e.getMessage();
        if (e instanceof HyperparameterException settings) m = HyperparameterOptions.message(settings);
        if (e instanceof DataSettingException data) m = data.message(DataSetting::option);
        if (e instanceof NumberFormatException) m = "not a number" + (m == null ? "" : " (" + m + ")");
        if (e instanceof OutOfMemoryError) m = "out of Java memory (" + m + "); try a smaller batch size or maximum length";
        if (m == null || m.isBlank() || e instanceof NullPointerException || e instanceof ClassCastException
                || e instanceof IndexOutOfBoundsException || e instanceof StackOverflowError) {
            m = "internal error" + (m == null || m.isBlank() ? "" : " (" + m + ")") + "; --verbose shows where";
        }
        return withoutClassNames(m.replace('\n', ' '));
    }

    static String withoutClassNames(String message) {
        return CLASS_NAME.matcher(message).replaceAll("").replace(" ()", "").strip();
    }

    private static boolean verboseByEnvironment() {
        return "1".equals(System.getenv("BERTFT_VERBOSE"));
    }

    private static boolean verbose(CommandLine.ParseResult parsed) {
        if (verboseByEnvironment()) return true;
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--verbose")) return true;
        }
        return false;
    }
}
