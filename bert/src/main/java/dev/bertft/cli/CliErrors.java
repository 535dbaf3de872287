package dev.bertft.cli;

import dev.bertft.cuda.DeviceOutOfMemoryException;
import dev.bertft.io.FileErrors;
import picocli.CommandLine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.stream.Stream;

/**
 * One clear line on standard error and a non-zero exit code for every failure;
 * {@code --verbose} (or BERTFT_VERBOSE=1) adds the stack trace.
 */
final class CliErrors implements CommandLine.IExecutionExceptionHandler {
    static final int USAGE = 2;
    static final int FAILURE = 1;

    @Override
    public int handleExecutionException(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
        System.out.flush();
        String hint = e instanceof DeviceOutOfMemoryException ? memoryHint(cmd.getCommandSpec()) : "";
        System.err.println("bert-ft " + cmd.getCommandName() + ": error: " + message(e) + hint);
        if (verbose(parsed)) e.printStackTrace();
        return FAILURE;
    }

    static int onBadArguments(CommandLine.ParameterException e, String[] args) {
        System.err.println("bert-ft " + e.getCommandLine().getCommandName() + ": " + e.getMessage());
        System.err.println("Try '" + e.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
        return USAGE;
    }

    /** What the command offers to use less GPU memory, for an out-of-memory error. */
    static String memoryHint(CommandLine.Model.CommandSpec command) {
        List<String> options = Stream.of("--batch-size", "--eval-batch-size", "--max-length", "--seq-len")
                .filter(o -> command.findOption(o) != null).toList();
        if (options.isEmpty()) return "";
        String last = options.get(options.size() - 1);
        String hint = "; try a smaller " + (options.size() == 1 ? last
                : String.join(", ", options.subList(0, options.size() - 1)) + " or " + last);
        return command.findOption("--grad-accum-steps") == null ? hint : hint + " (--grad-accum-steps keeps the effective batch)";
    }

    static String message(Throwable e) {
        // a file-system error's own message is often the bare path (NoSuchFileException) or the bare reason
        Throwable io = e instanceof UncheckedIOException u ? u.getCause() : e;
        String m = io instanceof IOException fileError ? FileErrors.describe(fileError) : e.getMessage();
        if (m == null || m.isBlank()) m = e.getClass().getSimpleName();
        return m.replace('\n', ' ');
    }

    private static boolean verbose(CommandLine.ParseResult parsed) {
        if ("1".equals(System.getenv("BERTFT_VERBOSE"))) return true;
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--verbose")) return true;
        }
        return false;
    }
}
