package dev.boxd.server;

import dev.boxd.core.BoxdException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The one boxd binary: server roles and operator commands. */
@Command(name = "boxd", mixinStandardHelpOptions = true, versionProvider = Version.class,
    description = "Self-hostable cloud of fast, forkable microVMs.",
    subcommands = {ServerCommand.class, AdminCommand.class, ImageCommand.class, DoctorCommand.class, CaCommand.class})
public final class Main {
  public static void main(String[] args) {
    CommandLine cli = new CommandLine(new Main());
    cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
      if (e instanceof BoxdException b) {
        commandLine.getErr().println("error: " + b.getMessage());
        return b.code().exitCode();
      }
      throw e;
    });
    System.exit(cli.execute(args));
  }
}
