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
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The one control connection to a QEMU's QMP socket (QMP serves one client at a time, so a
 * supervisor keeps exactly one). Commands are matched to replies by id; events go to listeners.
 * When QEMU exits the socket closes and {@link #closed()} completes: that is how a dead VMM is
 * noticed at once.
 */
public final class QmpClient implements Closeable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final SocketChannel channel;
  private final BufferedReader in;
  private final OutputStream out;
  private final AtomicLong ids = new AtomicLong();
  private final Map<String, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
  private final CopyOnWriteArrayList<Consumer<JsonNode>> eventListeners = new CopyOnWriteArrayList<>();
  private final CompletableFuture<Void> closed = new CompletableFuture<>();

  private QmpClient(SocketChannel channel) {
    this.channel = channel;
    this.in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
    this.out = Channels.newOutputStream(channel);
  }

  /** Connects, reads the greeting and enters command mode. */
  public static QmpClient connect(Path socket, Duration timeout) throws IOException {
    SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket));
    QmpClient client = new QmpClient(channel);
    try {
      String greeting = client.in.readLine();
      if (greeting == null || !greeting.contains("\"QMP\"")) {
        throw new IOException("not a QMP greeting on " + socket + ": " + greeting);
      }
      // A platform thread: a reply wakes the waiting caller directly, without first scheduling a
      // virtual reader onto a carrier (measured: a third of a pause/resume round trip).
      Thread.ofPlatform().daemon().name("qmp-" + socket.getParent().getFileName()).start(client::readLoop);
      client.execute("qmp_capabilities", Map.of(), timeout);
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
    String id = Long.toString(ids.incrementAndGet());
    ObjectNode request = JSON.createObjectNode().put("execute", command).put("id", id);
    if (!arguments.isEmpty()) {
      request.set("arguments", JSON.valueToTree(arguments));
    }
    CompletableFuture<JsonNode> reply = new CompletableFuture<>();
    pending.put(id, reply);
    try {
      byte[] line = (JSON.writeValueAsString(request) + "\n").getBytes(StandardCharsets.UTF_8);
      synchronized (out) {
        out.write(line);
        out.flush();
      }
      JsonNode response = reply.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (response.has("error")) {
        throw new QmpException(command, response.path("error").path("class").asText(), response.path("error").path("desc").asText());
      }
      return response.path("return");
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
    try {
      channel.close();
    } catch (IOException ignored) {
      // Closing a socket that is already gone.
    }
  }
}
