package dev.boxd.testkit.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * A real {@code boxd server} for one test class, with users who reach it through OpenSSH:
 * {@code @RegisterExtension static final LiveServer live = new LiveServer();}. It starts before
 * the class, prints its log when a test fails, and is stopped and removed after the class.
 *
 * <p>{@link #shared()} is one server for every class of a test JVM that uses it (started by the
 * first, stopped when the JVM exits): for scenarios that each need only users and VMs of their
 * own, so the suite pays for one server start, not one per class. Classes run one after another
 * on it, so each must leave it as it found it: a user name another class took is refused, VMs a
 * class's users still hold when it ends fail that class (and are destroyed, so the next class
 * starts clean), and a failure prints the log from the class's start only.
 */
public final class LiveServer implements BeforeAllCallback, AfterAllCallback, TestWatcher {
  public static final ObjectMapper JSON = new ObjectMapper();
  /** A guest process that counts five times a second into /tmp/counter: running processes made visible. */
  public static final String COUNTER = "setsid nohup sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/counter.new; mv /tmp/counter.new /tmp/counter;"
      + " sleep 0.2; done' >/dev/null 2>&1 </dev/null &";

  private static LiveServer shared;

  private final String[] serverArgs;
  private boolean isShared;
  private boolean privateImages;
  private ServerProcess server;
  private Path keys;
  /** The users made for the class running now, and where the log stood when it started. */
  private final List<SshUser> classUsers = new java.util.ArrayList<>();
  private final List<String> classUserNames = new java.util.ArrayList<>();
  private int classLogStart;

  /** @param serverArgs more {@code boxd server} options */
  public LiveServer(String... serverArgs) {
    this.serverArgs = serverArgs;
  }

  /**
   * The one server of this JVM shared by every class that registers it (with default options):
   * each scenario must use users and VM names of its own. It is stopped, its VMs ended and its
   * taps removed, when the JVM exits.
   */
  public static synchronized LiveServer shared() {
    if (shared == null) {
      shared = new LiveServer();
      shared.isShared = true;
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        try {
          shared.stop();
        } catch (Exception e) {
          System.err.println("stopping the shared test server: " + e);
        }
      }, "shared-server-stop"));
    }
    return shared;
  }

  /** What runs after the server's ports are chosen and before it starts: more {@code boxd server} options from them. */
  public interface BeforeStart {
    List<String> moreArgs(ServerProcess server) throws Exception;
  }

  private BeforeStart beforeStart = server -> List.of();

  /** Runs {@code hook} before the server starts (a test's own server that needs its ports, such as an ACME CA asking its DNS). */
  public LiveServer beforeStart(BeforeStart hook) {
    this.beforeStart = hook;
    return this;
  }

  /** The server gets an images directory of its own ({@link ServerProcess#privateImages}): for tests that import images. */
  public LiveServer withPrivateImages() {
    privateImages = true;
    return this;
  }

  @Override
  public synchronized void beforeAll(ExtensionContext context) throws IOException {
    classUsers.clear();
    classUserNames.clear();
    if (server != null) {
      classLogStart = server.log().length(); // the shared server, started by an earlier class
      return;
    }
    classLogStart = 0;
    if (keys == null) {
      keys = Files.createTempDirectory("boxd-test-keys-");
    }
    // Kept only once it runs: a server that failed to start is not what the next class of a
    // shared server should find (it tries again), and what it made goes at once.
    ServerProcess starting = new ServerProcess();
    try {
      if (privateImages) {
        starting.privateImages();
      }
      List<String> args = new java.util.ArrayList<>(List.of(serverArgs));
      try {
        args.addAll(beforeStart.moreArgs(starting));
      } catch (Exception e) {
        throw new IOException("before the server started: " + e.getMessage(), e);
      }
      server = starting.withArgs(args.toArray(String[]::new)).start();
    } catch (IOException | RuntimeException e) {
      try {
        starting.close();
      } catch (Exception cleanup) {
        e.addSuppressed(cleanup);
      }
      throw e;
    }
  }

  @Override
  public void testFailed(ExtensionContext context, Throwable cause) {
    String log = server.log();
    System.out.println(classLogStart == 0 ? "=== server log ===\n" + log
        : "=== server log since " + context.getRequiredTestClass().getSimpleName() + " started ===\n"
            + log.substring(Math.min(classLogStart, log.length())));
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    if (!isShared) {
      stop();
      return;
    }
    List<String> left = destroyWhatClassUsersHold();
    if (!left.isEmpty()) {
      throw new AssertionError(context.getRequiredTestClass().getSimpleName() + " left VMs on the shared server: " + left
          + " (destroyed now); every class must destroy the VMs it makes, in a finally or an @AfterAll");
    }
  }

  // Each user's VMs, destroyed; the names of those there were. Users not (or no longer) linked list nothing.
  private List<String> destroyWhatClassUsersHold() throws IOException, InterruptedException {
    List<String> left = new java.util.ArrayList<>();
    for (int i = 0; i < classUsers.size(); i++) {
      SshUser user = classUsers.get(i);
      SshUser.Run listed = user.run("list", "--json");
      if (listed.exit() != 0) {
        continue;
      }
      for (JsonNode vm : JSON.readTree(listed.out())) {
        String name = vm.path("name").asText();
        left.add(classUserNames.get(i) + "/" + name);
        user.run("destroy", "-y", name);
      }
    }
    return left;
  }

  private synchronized void stop() throws Exception {
    if (server != null) {
      server.close();
    }
    if (keys == null) {
      return;
    }
    try (Stream<Path> walk = Files.walk(keys)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  public ServerProcess server() {
    return server;
  }

  /** A user with a fresh key, linked by the operator to an account named {@code name}. */
  public SshUser user(String name) throws IOException, InterruptedException {
    SshUser user = stranger(name);
    // Through the admin socket: a JVM per user for `boxd admin add-key` costs seconds on a small
    // CI machine; the tests that start servers of their own still link keys through that command.
    server.adminRequest("add-key " + name + " " + Files.readString(user.publicKey()).strip());
    return user;
  }

  /** Someone with a fresh key that no account knows yet. */
  public SshUser stranger(String name) throws IOException, InterruptedException {
    if (Files.exists(keys.resolve(name))) {
      throw new IllegalStateException("the user name \"" + name + "\" is taken on this server"
          + (isShared ? " by another class: on the shared server each class needs user names of its own" : ""));
    }
    SshUser user = new SshUser(keys, name, server.sshPort);
    classUsers.add(user);
    classUserNames.add(name);
    return user;
  }

  /** The JSON a verb printed, after checking it succeeded. */
  public static JsonNode json(SshUser.Run run) throws IOException {
    assertThat(run.exit()).as("exit code; stderr: %s", run.err()).isZero();
    return JSON.readTree(run.out());
  }

  /**
   * Waits, inside {@code vm}, until the {@link #COUNTER} there has counted past {@code value}, and
   * returns what it read; fails if that takes more than 30 s.
   */
  public static long counterAbove(SshUser user, String vm, long value) throws IOException, InterruptedException {
    return Long.parseLong(exec(user, vm, "for i in $(seq 300); do c=$(cat /tmp/counter 2>/dev/null);"
        + " [ -n \"$c\" ] && [ \"$c\" -gt " + value + " ] && { echo $c; exit 0; }; sleep 0.1; done;"
        + " echo \"counter still at ${c:-nothing}, not above " + value + "\" >&2; exit 1"));
  }

  /** Runs a command in {@code vm} as {@code user}, checks it succeeded, and returns its stripped stdout. */
  public static String exec(SshUser user, String vm, String command) throws IOException, InterruptedException {
    SshUser.Run run = user.run("exec", vm, "--", command);
    assertThat(run.exit()).as("%s in %s: %s", command, vm, run.err()).isZero();
    return run.out().strip();
  }
}
