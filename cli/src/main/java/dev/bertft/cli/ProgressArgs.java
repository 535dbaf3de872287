package dev.bertft.cli;

import picocli.CommandLine.Option;

/** How train and eval show their progress on standard error. */
final class ProgressArgs {
    @Option(names = "--disable-tqdm", description = "No progress bar on a terminal: a plain line at each log and evaluation,"
            + " as in a log file (HF's disable_tqdm).")
    boolean disableTqdm;

    ConsoleProgress console() {
        return ConsoleProgress.forStderr(!disableTqdm);
    }
}
