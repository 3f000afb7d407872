package dev.invconv.cli;

import dev.invconv.Context;
import dev.invconv.Invconv;
import dev.invconv.Isa;
import dev.invconv.safetensors.SafeTensorsException;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * {@code invconv COMMAND [ARGS]}: the command-line tool.
 *
 * <p>Commands return an exit code rather than calling {@link System#exit}, so that tests run
 * them in-process.
 */
public final class Main {

    static final String USAGE = """
            usage: invconv COMMAND [ARGS]

            commands:
              verify FILE...   run conformance cases (safetensors: __metadata__ op and settings,
                               input, parameters, expected[, magnitude]) through the native library
                               and compare with the SPEC tolerance; exit 1 if any fails
              info             library version, CPU ISA and kernels chosen, threads, measured fp32
                               peak and memory bandwidth, the pages the weights get
              info --model NAME
                               a model's layers, parameter count and MACs at 224x224
            """ + RunCommand.USAGE + Bench.usage() + """
              help             this text

            options (before or after the command):
              --threads N      native threads (default: one per CPU)
              --max-isa ISA    limit the kernels to scalar, avx2 or avx512
            """;

    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs a command line; returns the exit code (0 ok, 1 failures found, 2 usage error). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            err.println("invconv: " + e.getMessage());
            err.print(USAGE);
            return 2;
        }
        if (List.of(options.arguments()).contains("--help") || List.of(options.arguments()).contains("-h")) {
            out.print(USAGE); // "invconv bench --help": every command's usage is on one page
            return 0;
        }
        try {
            options.apply();
            return switch (options.command()) {
                case "verify" -> Verify.run(options, out, err);
                case "info" -> Info.run(options, out);
                case "run" -> RunCommand.run(options, out, err);
                case "bench" -> Bench.run(options, out, err);
                case "help", "--help", "-h" -> {
                    out.print(USAGE);
                    yield 0;
                }
                default -> {
                    err.println("invconv: unknown command '" + options.command() + "'");
                    err.print(USAGE);
                    yield 2;
                }
            };
        } catch (IllegalArgumentException | UnsupportedOperationException | IOException | UncheckedIOException
                 | SafeTensorsException e) {
            err.println("invconv: " + e.getMessage());
            return 2;
        } catch (UnsatisfiedLinkError e) {
            err.println("invconv: cannot load the native library: " + e.getMessage());
            return 2;
        }
    }

    /** Parsed command line: the command, its positional arguments, the global options. */
    record Options(String command, String[] arguments, Integer threads, Isa maxIsa) {

        static Options parse(String[] args) {
            String command = null;
            List<String> positional = new ArrayList<>();
            Integer threads = null;
            Isa maxIsa = null;
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                switch (arg) {
                    case "--threads" -> threads = parseThreads(value(args, ++i, arg));
                    case "--max-isa" -> maxIsa = parseIsa(value(args, ++i, arg));
                    default -> {
                        if (arg.startsWith("--threads=")) {
                            threads = parseThreads(arg.substring("--threads=".length()));
                        } else if (arg.startsWith("--max-isa=")) {
                            maxIsa = parseIsa(arg.substring("--max-isa=".length()));
                        } else if (command == null) {
                            command = arg;
                        } else {
                            positional.add(arg);
                        }
                    }
                }
            }
            if (command == null) {
                throw new IllegalArgumentException("no command given");
            }
            return new Options(command, positional.toArray(String[]::new), threads, maxIsa);
        }

        private static String value(String[] args, int i, String option) {
            if (i >= args.length) {
                throw new IllegalArgumentException(option + " needs a value");
            }
            return args[i];
        }

        private static int parseThreads(String value) {
            try {
                int threads = Integer.parseInt(value);
                if (threads < 1) {
                    throw new IllegalArgumentException("--threads " + value + " must be >= 1");
                }
                return threads;
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--threads " + value + " is not a number");
            }
        }

        private static Isa parseIsa(String value) {
            try {
                return Isa.valueOf(value.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--max-isa " + value + " is not one of "
                        + Arrays.toString(Isa.values()).toLowerCase(Locale.ROOT));
            }
        }

        /** Applies the ISA limit; call before operators are built. */
        void apply() {
            if (maxIsa != null) {
                Invconv.setMaxIsa(maxIsa);
            }
        }

        /** A context with the requested threads (all CPUs by default); the caller closes it. */
        Context openContext() {
            return Context.create(threads == null ? 0 : threads);
        }
    }
}
