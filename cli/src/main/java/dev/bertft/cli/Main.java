package dev.bertft.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine;

/**
 * The {@code bert-ft} command line. Each subcommand lives in its own file; this class only
 * makes sure the JVM has the Vector API before anything else runs (see {@link Launcher}).
 */
@Command(name = "bert-ft",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Fine-tune, evaluate and run BERT models in pure Java.",
        subcommands = {TrainCommand.class, EvalCommand.class, PredictCommand.class, BenchCommand.class, TokenizeCommand.class,
                PrepareCommand.class, DoctorCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    public static void main(String[] args) {
        Launcher.ensureVectorModule(Main.class, args);
        System.exit(run(args));
    }

    /** Runs a command line in this JVM and returns its exit code (used by tests too). */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setOverwrittenOptionsAllowed(true); // the last of a repeated option wins, as scripts expect
        cli.setExecutionExceptionHandler(new CliErrors());
        cli.setParameterExceptionHandler(CliErrors::onBadArguments);
        HfOnlySettings.addTo(cli);
        cli.setExecutionStrategy(parsed -> {   // before anything runs: refuse what cannot be honoured, say what changes nothing
            HfOnlySettings.check(parsed, System.err);
            return new CommandLine.RunLast().execute(parsed);
        });
        HfSpellings.describeIn(cli);
        String[] given;
        try {
            given = HfArgsFile.expand(cli, args);
        } catch (CommandLine.ParameterException e) {
            return CliErrors.onBadArguments(e, args);
        }
        try {
            return cli.execute(HfSpellings.rewrite(cli, given));
        } catch (Error e) {
            return CliErrors.onError(e, args);
        }
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"bert-ft " + (v == null ? "dev" : v)};
        }
    }
}
