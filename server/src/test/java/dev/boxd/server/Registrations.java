package dev.boxd.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.testkit.server.SshUser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What the registration tests share: the code and URL a stranger is shown, and curl trusting the server's CA. */
final class Registrations {
  private static final Pattern SHOWN = Pattern.compile("Register it at (https://\\S+/register\\?code=([A-Z0-9]+)) or ask the operator:"
      + " boxd admin approve ([A-Z0-9]+)");

  private Registrations() {}

  /** What an unknown key is told when it connects. */
  record Shown(String url, String code, String fingerprint) {}

  /** Connects as {@code stranger}, checks it is refused with a registration URL, and returns that. */
  static Shown connectUnknown(SshUser stranger) throws IOException, InterruptedException {
    SshUser.Run run = stranger.run("list");
    assertThat(run.exit()).as("an unknown key runs nothing: %s", run.err()).isEqualTo(1);
    Matcher shown = SHOWN.matcher(run.err());
    assertThat(shown.find()).as("registration message: %s", run.err()).isTrue();
    assertThat(shown.group(3)).as("the page and the operator name one code").isEqualTo(shown.group(2));
    Matcher fingerprint = Pattern.compile("\\((SHA256:[A-Za-z0-9+/]+)\\)").matcher(run.err());
    assertThat(fingerprint.find()).as(run.err()).isTrue();
    return new Shown(shown.group(1), shown.group(2), fingerprint.group(1));
  }

  record Curl(int exit, String out, String err) {
    /** The HTTP status of {@code -i} output's last response. */
    int status() {
      Matcher m = Pattern.compile("(?m)^HTTP/[0-9.]+ ([0-9]{3})").matcher(out);
      int status = -1;
      while (m.find()) {
        status = Integer.parseInt(m.group(1));
      }
      return status;
    }

    /** A response header of {@code -i} output, by lower-case name; empty when absent. */
    String header(String name) {
      Matcher m = Pattern.compile("(?mi)^" + Pattern.quote(name) + ": *([^\\r\\n]*)").matcher(out);
      return m.find() ? m.group(1) : "";
    }
  }

  /** curl {@code -sS -i} trusting the server's CA in {@code caFile}. */
  static Curl curl(Path caFile, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("curl", "-sS", "-i", "--max-time", "60", "--cacert", caFile.toString()));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).start();
    var err = new java.util.concurrent.CompletableFuture<String>();
    Thread.ofPlatform().daemon().start(() -> {
      try {
        err.complete(new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
      } catch (IOException e) {
        err.complete(e.toString());
      }
    });
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    return new Curl(process.waitFor(), out, err.get());
  }

  static Path caFile(dev.boxd.testkit.server.ServerProcess server, Path dir) throws Exception {
    return Files.writeString(dir.resolve("ca.pem"), server.caCertificate());
  }
}
