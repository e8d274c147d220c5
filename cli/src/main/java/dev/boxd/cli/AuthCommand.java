package dev.boxd.cli;

import dev.boxd.api.v1.PollDeviceLoginRequest;
import dev.boxd.api.v1.RevokeApiKeyRequest;
import dev.boxd.api.v1.StartDeviceLoginRequest;
import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.sdk.Boxd;
import dev.boxd.verbs.Operations;
import dev.boxd.verbs.Terminal;
import dev.boxd.verbs.Verbs;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * {@code boxd auth …}: logging a device in and out, and the account's API keys.
 * {@code auth login} makes the device an SSH key of its own, has the server open a registration for
 * it, shows the URL where the user links it (and opens a browser where there is one), waits until
 * it is linked, then keeps the API key the server made for the device in the stored login.
 */
final class AuthCommand {
  private final GlobalOptions options;
  private final Terminal terminal;
  private final PrintStream out;
  private final PrintStream err;

  AuthCommand(GlobalOptions options, Terminal terminal) {
    this.options = options;
    this.terminal = terminal;
    this.out = new PrintStream(terminal.out(), true, StandardCharsets.UTF_8);
    this.err = new PrintStream(terminal.err(), true, StandardCharsets.UTF_8);
  }

  static final String HELP = """
      Usage: boxd auth [login|logout|keys] [--json]
        boxd auth                   who this device is logged in as (--json: one object)
        boxd auth login             link this device: opens a registration URL, waits until you linked it
                                    (--api-url https://HOST:9443, --ca-cert FILE for a server with its own CA,
                                    --no-browser to only print the URL)
        boxd auth logout            forget the login: revokes this device's API key, removes its SSH key and
                                    the ~/.ssh/config block
        boxd auth keys create [NAME] [--expires-in-secs N]   a new API key (shown once)
        boxd auth keys list | revoke ID|NAME
      """;

  int run(List<String> args) throws IOException {
    List<String> words = new ArrayList<>(args);
    boolean json = words.remove("--json");
    if (words.contains("--help") || words.contains("-h")) {
      out.print(HELP);
      return 0;
    }
    if (words.isEmpty() || words.getFirst().equals("status")) {
      return status(json);
    }
    return switch (words.getFirst()) {
      case "login" -> login(words.subList(1, words.size()), json);
      case "logout" -> logout(json);
      case "keys" -> keys(words.subList(1, words.size()), json);
      default -> throw BoxdException.invalid("unknown auth command \"" + words.getFirst() + "\": expected login, logout, keys (see: boxd auth --help)");
    };
  }

  private int status(boolean json) throws IOException {
    Connection connection = Connection.resolve(options);
    try (Boxd boxd = connection.authenticated()) {
      var who = Main.operations(boxd, connection, "").whoami();
      String keyId = connection.login().map(Credentials::apiKeyId).orElse("");
      if (json) {
        out.println(dev.boxd.cli.Json.object("logged_in", "true", "api_url", connection.apiUrl(), "user_id", who.userId(), "name", who.name(),
            "api_key_id", keyId.isEmpty() ? null : keyId));
      } else {
        out.println("Logged in to " + connection.apiUrl() + " as " + who.name() + " (user " + who.userId() + ")"
            + (keyId.isEmpty() ? "" : ", with API key " + keyId));
      }
      return 0;
    }
  }

  private int login(List<String> args, boolean json) throws IOException {
    boolean browser = !args.contains("--no-browser");
    List<String> rest = args.stream().filter(a -> !a.equals("--no-browser")).toList();
    if (!rest.isEmpty()) {
      throw BoxdException.invalid("unexpected \"" + rest.getFirst() + "\" after auth login: it takes --api-url URL, --ca-cert FILE, --no-browser");
    }
    String apiUrl = Connection.checkUrl(options.apiUrl().or(() -> Optional.ofNullable(System.getenv("BOXD_API_URL")))
        .orElseThrow(() -> BoxdException.invalid("which server? boxd auth login --api-url https://HOST:9443 (or set BOXD_API_URL)")));
    Path dir = Credentials.directory();
    Optional<Path> ca = options.caCert().or(() -> Optional.ofNullable(System.getenv("BOXD_CA_CERT"))).map(Path::of);
    Optional<Path> keptCa = Optional.empty();
    if (ca.isPresent()) {
      // Kept beside the login, so it does not depend on where the file was when the user logged in.
      String pem = Files.readString(ca.get());
      if (!pem.contains("BEGIN CERTIFICATE")) {
        throw BoxdException.invalid(ca.get() + " is not a PEM certificate: give the server's CA (`boxd ca --quiet` on the server)");
      }
      keptCa = Optional.of(dir.resolve("ca.pem"));
    }
    var connection = new Connection(apiUrl, Optional.empty(), ca, Optional.empty());
    Path key = DeviceKey.make(dir);
    String publicKey = Files.readString(key.resolveSibling(key.getFileName() + ".pub")).strip();
    try (Boxd anonymous = connection.anonymous()) {
      // The server links only a key the device proves it holds: a signature of the key and the time.
      long signedAt = Instant.now().getEpochSecond();
      String signature = DeviceKey.sign(key, DeviceKey.LOGIN_NAMESPACE, DeviceKey.loginMessage(publicKey, signedAt));
      var started = call(apiUrl, () -> anonymous.api().withDeadlineAfter(30, TimeUnit.SECONDS).startDeviceLogin(StartDeviceLoginRequest.newBuilder()
          .setPublicKey(publicKey).setDeviceName(DeviceKey.deviceName()).setKeySignature(signature).setSignedAt(signedAt).build()));
      err.println("To link this device to your boxd account, open:");
      err.println();
      err.println("  " + started.getUrl());
      err.println();
      err.println("code: " + started.getCode() + " (an operator links it with: boxd admin approve " + started.getCode() + ")");
      if (browser) {
        Browser.open(started.getUrl());
      }
      err.println("Waiting until it is linked...");
      Instant deadline = Instant.ofEpochSecond(started.getExpiresAt());
      Duration interval = Duration.ofSeconds(Math.max(1, started.getIntervalSecs()));
      while (true) {
        var polled = call(apiUrl, () -> anonymous.api().withDeadlineAfter(30, TimeUnit.SECONDS)
            .pollDeviceLogin(PollDeviceLoginRequest.newBuilder().setPollToken(started.getPollToken()).build()));
        if (polled.getLinked()) {
          if (keptCa.isPresent()) {
            Credentials.writePrivate(keptCa.get(), Files.readString(ca.get()));
          }
          var login = new Credentials(apiUrl, polled.getApiKey(), polled.getApiKeyId(), polled.getUserId(), keptCa, Optional.of(key));
          login.store();
          return loggedIn(login, json);
        }
        if (Instant.now().isAfter(deadline)) {
          throw new BoxdException(ErrorCode.DEADLINE_EXCEEDED, "the login was not linked in time: run `boxd auth login` again");
        }
        try {
          Thread.sleep(interval);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new BoxdException(ErrorCode.UNAVAILABLE, "interrupted while waiting for the login to be linked");
        }
      }
    }
  }

  private int loggedIn(Credentials login, boolean json) throws IOException {
    var connection = new Connection(login.apiUrl(), Optional.of(login.apiKey()), login.caCert(), Optional.of(login));
    try (Boxd boxd = connection.authenticated()) {
      Operations ops = Main.operations(boxd, connection, "");
      var who = ops.whoami();
      Main.refreshSshFiles(ops, Optional.of(login), err);
      if (json) {
        out.println(dev.boxd.cli.Json.object("logged_in", "true", "api_url", login.apiUrl(), "user_id", who.userId(), "name", who.name(),
            "api_key_id", login.apiKeyId()));
      } else {
        out.println("Logged in to " + login.apiUrl() + " as " + who.name() + " (user " + who.userId() + ").");
        out.println("Credentials: " + Credentials.file() + "; this device's SSH key: " + login.identityFile().map(Path::toString).orElse(""));
      }
      return 0;
    }
  }

  private int logout(boolean json) throws IOException {
    Optional<Credentials> login = Credentials.load();
    if (login.isEmpty()) {
      if (json) {
        out.println(dev.boxd.cli.Json.object("logged_in", "false"));
      } else {
        out.println("Not logged in.");
      }
      return 0;
    }
    String warning = null;
    try (Boxd boxd = new Connection(login.get().apiUrl(), Optional.of(login.get().apiKey()), login.get().caCert(), login).authenticated()) {
      if (!login.get().apiKeyId().isEmpty()) {
        boxd.api().withDeadlineAfter(10, TimeUnit.SECONDS).revokeApiKey(RevokeApiKeyRequest.newBuilder().setKey(login.get().apiKeyId()).build());
      }
    } catch (RuntimeException e) {
      warning = "the server did not revoke this device's API key " + login.get().apiKeyId() + " (" + e.getMessage()
          + "): revoke it with `boxd auth keys revoke " + login.get().apiKeyId() + "` when you log in again";
    }
    SshFiles.ofUser().clear();
    if (login.get().identityFile().isPresent()) {
      Path key = login.get().identityFile().get();
      Files.deleteIfExists(key);
      Files.deleteIfExists(key.resolveSibling(key.getFileName() + ".pub"));
    }
    login.get().caCert().filter(p -> p.startsWith(Credentials.directory())).ifPresent(p -> p.toFile().delete());
    Credentials.remove();
    if (warning != null) {
      err.println("warning: " + warning);
    }
    if (json) {
      out.println(dev.boxd.cli.Json.object("logged_in", "false"));
    } else {
      out.println("Logged out.");
    }
    return 0;
  }

  /** {@code auth keys …} is the api-key verb, with the same flags and JSON. */
  private int keys(List<String> args, boolean json) {
    List<String> argv = new ArrayList<>();
    argv.add("api-key");
    argv.addAll(args.isEmpty() ? List.of("list") : args);
    if (json) {
      argv.add("--json");
    }
    Connection connection = Connection.resolve(options);
    try (Boxd boxd = connection.authenticated()) {
      return Verbs.run(argv, Main.operations(boxd, connection, ""), terminal);
    }
  }

  private interface Rpc<T> {
    T call();
  }

  private static <T> T call(String apiUrl, Rpc<T> rpc) {
    try {
      return rpc.call();
    } catch (StatusRuntimeException e) {
      throw ApiErrors.of(e, apiUrl);
    }
  }

  static void ensurePrivateDir(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }
  }
}
