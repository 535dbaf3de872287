package dev.bertft.cli;

import picocli.CommandLine;

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
        System.err.println("bert-ft " + cmd.getCommandName() + ": error: " + message(e));
        if (verbose(parsed)) e.printStackTrace();
        return FAILURE;
    }

    static int onBadArguments(CommandLine.ParameterException e, String[] args) {
        System.err.println("bert-ft " + e.getCommandLine().getCommandName() + ": " + e.getMessage());
        System.err.println("Try '" + e.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
        return USAGE;
    }

    static String message(Throwable e) {
        String m = e.getMessage();
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
