package dev.boxd.vmm.agent;

import dev.boxd.core.BoxdException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The host end of one connection to {@code boxd-agent} over the VM's virtio-serial socket. Many
 * channels (execs, file transfers, identity changes) share it; see {@code docs/agent-protocol.md}.
 * Thread-safe: any thread may open channels; one reader thread delivers guest output and one
 * writer thread sends every frame.
 *
 * <p>Callers never write to the socket themselves: a socket channel closes when a thread blocked
 * on it is interrupted, and callers are interrupted whenever their client goes away (a closed SSH
 * channel, a killed in-VM CLI). Writing on the caller's thread would let one such interrupt drop
 * the connection and with it every other exec and copy on the VM.
 */
public final class AgentClient implements Closeable {
  static final int WINDOW = 1 << 20;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final SocketChannel socket;
  private final DataInputStream in;
  private final DataOutputStream out;
  private final Map<Integer, AgentChannel> channels = new ConcurrentHashMap<>();
  private final AtomicInteger nextChannel = new AtomicInteger(1);
  private final CompletableFuture<Void> closed = new CompletableFuture<>();
  private final BlockingQueue<Outgoing> outgoing = new LinkedBlockingQueue<>();
  private final Thread writer;
  private volatile String agentVersion = "";
  private volatile boolean isSynced;
  private final Path socketPath;

  private AgentClient(SocketChannel socket, Path socketPath) {
    this.socket = socket;
    this.socketPath = socketPath;
    this.in = new DataInputStream(new BufferedInputStream(Channels.newInputStream(socket), 1 << 16));
    this.out = new DataOutputStream(new BufferedOutputStream(Channels.newOutputStream(socket), 1 << 16));
    this.writer = Thread.ofVirtual().name("agent-writer-" + socketPath.getParent().getFileName()).start(this::writeLoop);
  }

  /**
   * Connects and synchronises with the agent, waiting until it answers (it may still be booting).
   */
  public static AgentClient connect(Path socketPath, Duration timeout) throws IOException {
    AgentClient client = open(socketPath);
    try {
      client.sync(timeout);
      return client;
    } catch (IOException | RuntimeException e) {
      client.close();
      throw e;
    }
  }

  /**
   * Connects the socket without talking yet. Connecting before a restored guest runs keeps the
   * port "host connected" across the restore, so the agent wakes on the first byte instead of
   * first noticing a hang-up and a reconnect.
   */
  public static AgentClient open(Path socketPath) throws IOException {
    return new AgentClient(SocketChannel.open(UnixDomainSocketAddress.of(socketPath)), socketPath);
  }

  /**
   * Synchronises with the agent (HELLO), then starts delivering frames. Sends a fresh HELLO every
   * two seconds in case an earlier one was lost in a port reset.
   */
  public void sync(Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    List<byte[]> nonces = new ArrayList<>();
    CompletableFuture<Void> synced = new CompletableFuture<>();
    Thread.ofVirtual().start(() -> awaitSync(nonces, synced));
    while (true) {
      byte[] nonce = new byte[16];
      RANDOM.nextBytes(nonce);
      synchronized (nonces) {
        nonces.add(nonce);
      }
      send(new Frame(Frame.HELLO, 0, nonce));
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new IOException("guest agent did not answer on " + socketPath + " within " + timeout);
      }
      try {
        synced.get(Math.min(left, TimeUnit.SECONDS.toNanos(2)), TimeUnit.NANOSECONDS);
        break;
      } catch (TimeoutException e) {
        // resend
      } catch (ExecutionException e) {
        throw new IOException("guest agent connection on " + socketPath + " failed: " + e.getCause().getMessage(), e.getCause());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while waiting for the guest agent", e);
      }
    }
    isSynced = true;
    Thread.ofPlatform().daemon().name("agent-" + socketPath.getParent().getFileName()).start(this::readLoop);
  }

  public boolean isSynced() {
    return isSynced;
  }

  // Discards everything before BXSYNC + the nonce of our latest HELLO, then reads the HELLO reply.
  // The agent answers every HELLO in order, so replies to earlier ones are skipped like noise.
  private void awaitSync(List<byte[]> nonces, CompletableFuture<Void> synced) {
    try {
      byte[] window = new byte[Frame.SYNC.length + 16];
      int filled = 0;
      while (true) {
        int b = in.read();
        if (b < 0) {
          throw new IOException("socket closed before the agent answered");
        }
        if (filled < window.length) {
          window[filled++] = (byte) b;
        } else {
          System.arraycopy(window, 1, window, 0, window.length - 1);
          window[window.length - 1] = (byte) b;
        }
        if (filled == window.length && Arrays.equals(window, 0, Frame.SYNC.length, Frame.SYNC, 0, Frame.SYNC.length)) {
          byte[] latest;
          synchronized (nonces) {
            latest = nonces.getLast();
          }
          if (Arrays.equals(window, Frame.SYNC.length, window.length, latest, 0, 16)) {
            Frame reply = Frame.readFrom(in);
            if (reply.type() != Frame.HELLO_REPLY) {
              throw new IOException("expected HELLO reply from agent, got frame type " + reply.type());
            }
            agentVersion = new String(reply.payload(), 16, reply.payload().length - 16, StandardCharsets.UTF_8);
            synced.complete(null);
            return;
          }
        }
      }
    } catch (IOException e) {
      synced.completeExceptionally(e);
    }
  }

  public String agentVersion() {
    return agentVersion;
  }

  /** Completes when the connection to the agent is lost. */
  public CompletableFuture<Void> closed() {
    return closed;
  }

  public boolean isOpen() {
    return !closed.isDone();
  }

  /** Starts a command; returns once the guest reports it running. */
  public ExecSession exec(ExecRequest request, OutputStream stdout, OutputStream stderr) {
    byte[] payload = Frame.map(request.toEntries());
    requireFits(payload, "the command, its environment and working directory", "pass large data on stdin or in a file");
    var channel = new ExecSession(this, nextChannel.getAndIncrement(), stdout, stderr);
    open(channel, new Frame(Frame.EXEC, channel.id(), payload));
    channel.awaitStarted();
    return channel;
  }

  /** Runs a command to completion and captures its output (for short control commands). */
  public ExecResult run(ExecRequest request, Duration wait) {
    var stdout = new java.io.ByteArrayOutputStream();
    var stderr = new java.io.ByteArrayOutputStream();
    try (ExecSession session = exec(request, stdout, stderr)) {
      session.stdin().close();
      int code = session.awaitExit(wait);
      return new ExecResult(code, stdout.toByteArray(), stderr.toByteArray());
    } catch (IOException e) {
      throw new AgentException("exec failed: " + e.getMessage(), e);
    }
  }

  /** Streams {@code data} into a file in the guest; returns the bytes written. */
  public long put(String path, int mode, String user, boolean mkdirs, InputStream data) throws IOException {
    var request = new ArrayList<Map.Entry<String, String>>(List.of(Map.entry("path", path), Map.entry("mode", Integer.toOctalString(mode)), Map.entry("user", user)));
    if (mkdirs) {
      request.add(Map.entry("mkdirs", "1"));
    }
    byte[] payload = Frame.map(request);
    requireFits(payload, "the path and its options", "use a shorter path");
    var channel = new TransferChannel(this, nextChannel.getAndIncrement(), null);
    open(channel, new Frame(Frame.PUT, channel.id(), payload));
    OutputStream sink = channel.dataOut();
    try {
      data.transferTo(sink);
      if (Thread.currentThread().isInterrupted()) {
        // The caller gave up (its client left), perhaps at what looked like the end of the data.
        throw new InterruptedIOException("interrupted during the upload of " + path);
      }
      sink.close(); // end of data: the agent puts the file in place
    } catch (AgentException e) {
      // The agent failed the channel mid-stream (disk full, bad path): report its reason below.
    } catch (IOException | RuntimeException e) {
      // The data did not arrive whole (its client left): this upload alone ends, and no part of
      // it becomes the file.
      channel.abort();
      throw e;
    }
    return channel.awaitDone();
  }

  /** Streams a guest file into {@code sink}; returns its mode and size. */
  public FileInfo get(String path, String user, OutputStream sink) {
    byte[] payload = Frame.map(List.of(Map.entry("path", path), Map.entry("user", user)));
    requireFits(payload, "the path and its options", "use a shorter path");
    var channel = new TransferChannel(this, nextChannel.getAndIncrement(), sink);
    open(channel, new Frame(Frame.GET, channel.id(), payload));
    long bytes = channel.awaitDone();
    return new FileInfo(channel.mode(), bytes);
  }

  /** Gives the guest its identity (network, names, keys, entropy, clock); see the protocol doc. */
  public void identity(Map<String, String> identity, Duration wait) {
    byte[] payload = Frame.map(identity);
    requireFits(payload, "the identity's values", "send less");
    var channel = new TransferChannel(this, nextChannel.getAndIncrement(), null);
    open(channel, new Frame(Frame.IDENTITY, channel.id(), payload));
    channel.awaitDone(wait);
  }

  /** Sets the guest clock (it lags after a pause or a restore). */
  public void setTime(Instant now, Duration wait) {
    var channel = new TransferChannel(this, nextChannel.getAndIncrement(), null);
    long ns = now.getEpochSecond() * 1_000_000_000L + now.getNano();
    open(channel, new Frame(Frame.TIME, channel.id(), ByteBuffer.allocate(8).putLong(ns).array()));
    channel.awaitDone(wait);
  }

  public record FileInfo(int mode, long size) {}

  /**
   * A request is one frame, and the agent takes at most {@link Frame#MAX_PAYLOAD} bytes per frame:
   * a larger one is refused here, naming the limit, rather than sent.
   */
  private static void requireFits(byte[] payload, String what, String instead) {
    if (payload.length > Frame.MAX_PAYLOAD) {
      throw BoxdException.invalid(what + " come to " + payload.length + " bytes; the guest agent accepts at most "
          + Frame.MAX_PAYLOAD + " bytes (64 KiB) per request: " + instead);
    }
  }

  private void open(AgentChannel channel, Frame request) {
    if (closed.isDone()) {
      throw new AgentException("connection to the guest agent is closed");
    }
    channels.put(channel.id(), channel);
    try {
      send(request);
    } catch (IOException e) {
      channels.remove(channel.id());
      throw new AgentException("cannot reach the guest agent: " + e.getMessage(), e);
    }
  }

  void finished(AgentChannel channel) {
    channels.remove(channel.id());
  }

  /**
   * Sends one frame through the writer thread and waits until it is written. An interrupted
   * caller stops waiting, but its frame is still written whole, so the stream stays in step.
   */
  void send(Frame frame) throws IOException {
    CompletableFuture<Void> written = post(frame);
    while (true) {
      try {
        written.get(1, TimeUnit.SECONDS);
        return;
      } catch (TimeoutException e) {
        // A guest that does not read its port holds the writer; a closed connection ends the wait.
        if (!writer.isAlive()) {
          throw new IOException("connection to the guest agent is closed");
        }
      } catch (ExecutionException e) {
        throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while sending to the guest agent");
      }
    }
  }

  /** Queues one frame for the writer without waiting (safe on the reader thread). */
  CompletableFuture<Void> post(Frame frame) {
    var written = new CompletableFuture<Void>();
    if (closed.isDone()) {
      written.completeExceptionally(new IOException("connection to the guest agent is closed"));
    } else {
      outgoing.add(new Outgoing(frame, written));
    }
    return written;
  }

  private record Outgoing(Frame frame, CompletableFuture<Void> written) {}

  // Writes frames in the order they were queued, a batch per flush. Only close() interrupts it.
  private void writeLoop() {
    List<Outgoing> batch = new ArrayList<>();
    try {
      while (true) {
        batch.add(outgoing.take());
        outgoing.drainTo(batch, 63);
        try {
          for (Outgoing o : batch) {
            o.frame().writeTo(out);
          }
          out.flush();
          batch.forEach(o -> o.written().complete(null));
        } catch (IOException e) {
          batch.forEach(o -> o.written().completeExceptionally(e));
          close();
          return;
        }
        batch.clear();
      }
    } catch (InterruptedException e) {
      // closed
    } finally {
      var gone = new IOException("connection to the guest agent is closed");
      batch.forEach(o -> o.written().completeExceptionally(gone));
      Outgoing o;
      while ((o = outgoing.poll()) != null) {
        o.written().completeExceptionally(gone);
      }
    }
  }

  private void readLoop() {
    Throwable cause = null;
    try {
      while (true) {
        Frame frame = Frame.readFrom(in);
        if (frame.channel() == 0 && frame.type() == Frame.ERROR) {
          // The agent saw a frame it could not parse and dropped all state: so must we.
          throw new IOException("agent reported " + frame.errorMessage());
        }
        AgentChannel channel = channels.get(frame.channel());
        if (channel != null) {
          channel.onFrame(frame);
        }
      }
    } catch (IOException e) {
      cause = e;
    } finally {
      closed.complete(null);
      String why = cause == null ? "" : ": " + (cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage());
      var lost = new AgentException("connection to the guest agent was lost" + why);
      channels.values().forEach(c -> c.fail(lost));
      channels.clear();
      close();
    }
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException ignored) {
      // already closed
    }
    closed.complete(null);
    if (Thread.currentThread() != writer) {
      writer.interrupt();
    }
  }
}
