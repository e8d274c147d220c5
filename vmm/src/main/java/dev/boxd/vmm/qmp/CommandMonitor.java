package dev.boxd.vmm.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A QMP monitor used only for commands: the caller writes its command and reads the reply itself,
 * one caller at a time, so no other thread stands between QEMU's answer and the caller. QEMU sends
 * every event to every monitor; here they are read past and dropped (the event monitor of
 * {@link QmpClient} delivers them).
 *
 * <p>Commands carry no {@code id}: QEMU answers a monitor's commands one by one, in order, and a
 * request with an id measured 35–45 µs slower per command here (a third of a {@code cont}). A
 * reply whose caller gave up waiting is still owed, and is read past when the next caller reads.
 */
final class CommandMonitor {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_LINE = 16 << 20;

  private final SocketChannel channel;
  private final Selector selector;
  private final ReentrantLock lock = new ReentrantLock();
  private ByteBuffer input = ByteBuffer.allocate(64 << 10); // filled region: [0, position)
  private int repliesOwed; // replies QEMU will still send, in order: commands are not given ids

  private CommandMonitor(SocketChannel channel, Selector selector) {
    this.channel = channel;
    this.selector = selector;
  }

  static CommandMonitor connect(Path socket, Duration timeout) throws IOException {
    SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket));
    Selector selector = null;
    try {
      channel.configureBlocking(false);
      selector = Selector.open();
      channel.register(selector, SelectionKey.OP_READ);
      CommandMonitor monitor = new CommandMonitor(channel, selector);
      long deadline = System.nanoTime() + timeout.toNanos();
      String greeting = monitor.readLine(deadline, 0, "greeting", timeout);
      if (!greeting.contains("\"QMP\"")) {
        throw new IOException("not a QMP greeting on " + socket + ": " + greeting);
      }
      JsonNode reply = monitor.call("qmp_capabilities", Map.of(), timeout);
      if (reply.has("error")) {
        throw new IOException("qmp_capabilities refused on " + socket + ": " + reply);
      }
      return monitor;
    } catch (IOException | RuntimeException e) {
      channel.close();
      if (selector != null) {
        selector.close();
      }
      // Callers treat a monitor that does not answer (another client holds it, QEMU hangs) as
      // they treat one that refuses the connection.
      throw e instanceof IOException io ? io : new IOException("QMP on " + socket + " did not answer: " + e.getMessage(), e);
    }
  }

  /** Sends a command and returns QEMU's whole reply ({@code return} or {@code error}). */
  JsonNode call(String command, Map<String, ?> arguments, Duration timeout) {
    return call(command, arguments, timeout, Duration.ZERO);
  }

  /**
   * Sends a command and returns QEMU's whole reply ({@code return} or {@code error}), polling for
   * it for up to {@code spin} before waiting in the selector.
   */
  JsonNode call(String command, Map<String, ?> arguments, Duration timeout, Duration spin) {
    long deadline = System.nanoTime() + timeout.toNanos();
    lock.lock();
    try {
      write(ByteBuffer.wrap(QmpClient.request(command, arguments, Optional.empty())), deadline, command, timeout);
      repliesOwed++; // until this command's reply is read: a caller that gives up leaves it owed
      long spinUntil = System.nanoTime() + spin.toNanos();
      while (true) {
        String line = readLine(deadline, spinUntil, command, timeout);
        if (line.startsWith("{\"timestamp\"")) {
          continue; // an event
        }
        JsonNode message = JSON.readTree(line);
        if (message.has("return") || message.has("error")) {
          if (--repliesOwed == 0) {
            return message;
          }
        }
      }
    } catch (IOException e) {
      throw new QmpException(command, "Disconnected", "QMP connection lost: " + e.getMessage());
    } finally {
      lock.unlock();
    }
  }

  private void write(ByteBuffer request, long deadline, String command, Duration timeout) throws IOException {
    channel.write(request);
    while (request.hasRemaining()) { // only if the socket buffer is full: a request is one short line
      await(SelectionKey.OP_WRITE, deadline, command, timeout);
      channel.write(request);
    }
  }

  /** The next line QEMU sent, without its line end; polls for it until {@code spinUntil}, then waits until {@code deadline}. */
  private String readLine(long deadline, long spinUntil, String command, Duration timeout) throws IOException {
    while (true) {
      byte[] filled = input.array();
      for (int i = 0; i < input.position(); i++) {
        if (filled[i] == '\n') {
          String line = new String(filled, 0, i, java.nio.charset.StandardCharsets.UTF_8);
          input.flip().position(i + 1);
          input.compact();
          return line;
        }
      }
      if (!input.hasRemaining()) {
        if (input.capacity() >= MAX_LINE) {
          throw new IOException("a QMP message longer than " + MAX_LINE + " bytes");
        }
        input = ByteBuffer.wrap(Arrays.copyOf(filled, input.capacity() * 2)).position(input.position());
      }
      int n = channel.read(input);
      if (n < 0) {
        throw new IOException("QMP connection closed");
      }
      if (n == 0) {
        if (System.nanoTime() - spinUntil < 0) {
          Thread.onSpinWait();
        } else {
          await(SelectionKey.OP_READ, deadline, command, timeout);
        }
      }
    }
  }

  private void await(int op, long deadline, String command, Duration timeout) throws IOException {
    SelectionKey key = channel.keyFor(selector);
    if (key.interestOps() != op) {
      key.interestOps(op);
    }
    long left = (deadline - System.nanoTime()) / 1_000_000;
    if (left <= 0) {
      throw new QmpException(command, "Timeout", "no reply within " + timeout);
    }
    selector.select(left);
    selector.selectedKeys().clear();
    if (Thread.currentThread().isInterrupted()) {
      throw new QmpException(command, "Interrupted", "interrupted");
    }
  }

  void close() {
    try {
      selector.close();
      channel.close();
    } catch (IOException ignored) {
      // Closing a socket that is already gone.
    }
  }
}
