package dev.boxd.vmm.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The control connections to a QEMU's QMP monitors. A QEMU started by boxd has two: one that a
 * reader thread watches for events, and one for commands, where each caller writes its command
 * and reads its own reply ({@link CommandMonitor}). Handing a reply from a reader thread to a
 * waiting caller cost about 100 µs per command on a loaded 2-core host, more than QEMU took to
 * answer {@code stop} or {@code cont}. A QEMU with only the one monitor (started by an older
 * boxd and re-attached) gets its commands over the event connection, matched to replies by id.
 *
 * <p>When QEMU exits the event socket closes and {@link #closed()} completes: that is how a dead
 * VMM is noticed at once.
 */
public final class QmpClient implements Closeable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final SocketChannel events;
  private final BufferedReader in;
  private final OutputStream out;
  private final Optional<CommandMonitor> commands;
  private final AtomicLong ids = new AtomicLong();
  private final Map<String, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
  private final CopyOnWriteArrayList<Consumer<JsonNode>> eventListeners = new CopyOnWriteArrayList<>();
  private final CompletableFuture<Void> closed = new CompletableFuture<>();

  private QmpClient(SocketChannel events, Optional<CommandMonitor> commands) {
    this.events = events;
    this.in = new BufferedReader(new InputStreamReader(Channels.newInputStream(events), StandardCharsets.UTF_8));
    this.out = Channels.newOutputStream(events);
    this.commands = commands;
  }

  /**
   * Connects to the event monitor at {@code socket} and, if it exists, the command monitor at
   * {@code commandSocket}; reads the greetings and enters command mode on both.
   */
  public static QmpClient connect(Path socket, Path commandSocket, Duration timeout) throws IOException {
    Optional<CommandMonitor> commands = Optional.empty();
    if (Files.exists(commandSocket)) {
      commands = Optional.of(CommandMonitor.connect(commandSocket, timeout));
    }
    SocketChannel channel;
    try {
      channel = SocketChannel.open(UnixDomainSocketAddress.of(socket));
    } catch (IOException e) {
      commands.ifPresent(CommandMonitor::close);
      throw e;
    }
    QmpClient client = new QmpClient(channel, commands);
    try {
      String greeting = client.in.readLine();
      if (greeting == null || !greeting.contains("\"QMP\"")) {
        throw new IOException("not a QMP greeting on " + socket + ": " + greeting);
      }
      Thread.ofPlatform().daemon().name("qmp-" + socket.getParent().getFileName()).start(client::readLoop);
      client.executeOnEventMonitor("qmp_capabilities", Map.of(), timeout);
      return client;
    } catch (IOException | RuntimeException e) {
      client.close();
      throw e;
    }
  }

  public void onEvent(Consumer<JsonNode> listener) {
    eventListeners.add(listener);
  }

  /** Completes when the connection is gone (QEMU exited or closed it). */
  public CompletableFuture<Void> closed() {
    return closed;
  }

  public JsonNode execute(String command) {
    return execute(command, Map.of(), Duration.ofSeconds(30));
  }

  public JsonNode execute(String command, Map<String, ?> arguments) {
    return execute(command, arguments, Duration.ofSeconds(30));
  }

  /** Runs a command and returns its {@code return} value; a QMP error becomes a {@link QmpException}. */
  public JsonNode execute(String command, Map<String, ?> arguments, Duration timeout) {
    if (commands.isPresent()) {
      return returnValue(command, commands.get().call(command, arguments, timeout));
    }
    return executeOnEventMonitor(command, arguments, timeout);
  }

  /**
   * Runs a command whose caller is waiting on it (a {@code cont} or {@code stop} a user timed),
   * polling for the reply for up to {@code spin} before sleeping on it: the reply then costs no
   * wake-up of the calling thread, which on an idle host is most of a sub-millisecond command.
   * A host with few cores is better off with no polling ({@code Duration.ZERO}): the poller takes
   * a core from the QEMU threads it waits on.
   */
  public JsonNode executeNow(String command, Duration spin) {
    if (commands.isPresent()) {
      return returnValue(command, commands.get().call(command, Map.of(), Duration.ofSeconds(30), spin));
    }
    return executeOnEventMonitor(command, Map.of(), Duration.ofSeconds(30));
  }

  private JsonNode executeOnEventMonitor(String command, Map<String, ?> arguments, Duration timeout) {
    String id = Long.toString(ids.incrementAndGet());
    CompletableFuture<JsonNode> reply = new CompletableFuture<>();
    pending.put(id, reply);
    try {
      byte[] line = request(command, arguments, Optional.of(id));
      synchronized (out) {
        out.write(line);
        out.flush();
      }
      return returnValue(command, reply.get(timeout.toMillis(), TimeUnit.MILLISECONDS));
    } catch (IOException e) {
      throw new QmpException(command, "Disconnected", "QMP connection lost: " + e.getMessage());
    } catch (ExecutionException e) {
      throw new QmpException(command, "Disconnected", e.getCause().getMessage());
    } catch (TimeoutException e) {
      throw new QmpException(command, "Timeout", "no reply within " + timeout);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new QmpException(command, "Interrupted", "interrupted");
    } finally {
      pending.remove(id);
    }
  }

  static byte[] request(String command, Map<String, ?> arguments, Optional<String> id) {
    ObjectNode request = JSON.createObjectNode().put("execute", command);
    id.ifPresent(i -> request.put("id", i));
    if (!arguments.isEmpty()) {
      request.set("arguments", JSON.valueToTree(arguments));
    }
    try {
      return (JSON.writeValueAsString(request) + "\n").getBytes(StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalArgumentException("arguments of " + command + " are not JSON: " + e.getMessage(), e);
    }
  }

  private static JsonNode returnValue(String command, JsonNode response) {
    if (response.has("error")) {
      throw new QmpException(command, response.path("error").path("class").asText(), response.path("error").path("desc").asText());
    }
    return response.path("return");
  }

  private void readLoop() {
    try {
      String line;
      while ((line = in.readLine()) != null) {
        JsonNode message = JSON.readTree(line);
        if (message.has("event")) {
          for (var listener : eventListeners) {
            listener.accept(message);
          }
        } else if (message.has("id")) {
          var reply = pending.get(message.get("id").asText());
          if (reply != null) {
            reply.complete(message);
          }
        }
      }
    } catch (IOException e) {
      // The VMM went away; fall through to completing everything as closed.
    } finally {
      IOException gone = new IOException("QMP connection closed");
      pending.values().forEach(f -> f.completeExceptionally(gone));
      closed.complete(null);
    }
  }

  @Override
  public void close() {
    commands.ifPresent(CommandMonitor::close);
    try {
      events.close();
    } catch (IOException ignored) {
      // Closing a socket that is already gone.
    }
  }
}
