package dev.boxd.gateway;

import dev.boxd.verbs.Operations;
import dev.boxd.verbs.Operations.Tty;
import dev.boxd.verbs.Operations.WindowSize;
import dev.boxd.verbs.Terminal;
import dev.boxd.gateway.GatewayFrames.Frame;
import dev.boxd.gateway.GatewayFrames.Hello;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.SubmissionPublisher;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One connection's terminal: stdout and stderr become frames, stdin arrives in frames once the verb
 * first reads it (the client asked with {@code N}), window changes feed the {@link Tty}. The local
 * terminal in the VM stays cooked, so echo and line editing for prompts happen there; connect and
 * {@code exec --tty} switch it to raw for their duration.
 */
public final class GatewaySession implements Terminal {
  /** Where the client runs, which decides where the local paths of {@code cp} resolve. */
  public enum Client {
    /** The in-VM CLI: its paths are in the caller VM ({@link Terminal#workingDirectory()}). */
    IN_VM,
    /** The laptop CLI's resident process: its paths are on this machine ({@link Terminal#localFiles()}). */
    LOCAL
  }

  /**
   * Stdin bytes one connection may hold for its verb. Two client frames: enough to keep a pipe
   * busy, small enough that a VM's 128 connections hold at most about 25 MiB of the server's heap
   * (with a frame being read and the stream buffers).
   */
  public static final int INPUT_CAPACITY = 128 * 1024;

  /** How long a client's frame waits for room before the gateway checks the client is there. */
  private static final Duration PROBE_PERIOD = Duration.ofSeconds(1);

  private final Hello hello;
  private final Client client;
  private final OutputStream socketOut;
  private final InputBuffer input;
  private final AtomicBoolean inputRequested = new AtomicBoolean();
  private final SubmissionPublisher<WindowSize> resizes = new SubmissionPublisher<>();
  private final InputStream in = new FrameInput();
  private final OutputStream out = new FrameOutput(GatewayFrames.STDOUT);
  private final OutputStream err = new FrameOutput(GatewayFrames.STDERR);

  /** {@code bufferedInput} counts the stdin bytes held over all of a server's sessions. */
  public GatewaySession(Hello hello, Client client, OutputStream socketOut, AtomicLong bufferedInput) {
    this.hello = hello;
    this.client = client;
    this.socketOut = socketOut;
    this.input = new InputBuffer(INPUT_CAPACITY, bufferedInput);
  }

  /** Passes one client frame after the hello to the verb; false for a frame the protocol does not allow. */
  boolean accept(Frame frame) throws IOException, InterruptedException {
    switch (frame.type()) {
      case GatewayFrames.INPUT -> {
        if (!inputRequested.get()) {
          return false;
        }
        if (frame.payload().length == 0) {
          input.end();
          return true;
        }
        // While the verb does not read, this thread stops reading the socket (TCP then holds
        // the client back) but writes a redundant N now and then: a client that left makes
        // that write fail, so its buffered input is freed and its verb ended.
        while (!input.offer(frame.payload(), PROBE_PERIOD)) {
          send(GatewayFrames.NEED_INPUT, new byte[0]);
        }
        return true;
      }
      case GatewayFrames.WINDOW -> {
        int[] size = GatewayFrames.window(frame);
        resizes.offer(new WindowSize(size[0], size[1]), null);
        return true;
      }
      default -> {
        return false;
      }
    }
  }

  /** The client is gone: its input is dropped and a verb reading stdin sees it fail. */
  void clientGone() {
    input.abort("the client went away before the end of its input");
    resizes.close();
  }

  void exit(int code) throws IOException {
    input.discard();
    send(GatewayFrames.EXIT, ByteBuffer.allocate(4).putInt(code).array());
  }

  void send(byte type, byte[] payload) throws IOException {
    synchronized (socketOut) {
      GatewayFrames.write(socketOut, type, payload, 0, payload.length);
    }
  }

  @Override
  public InputStream in() {
    return in;
  }

  @Override
  public OutputStream out() {
    return out;
  }

  @Override
  public OutputStream err() {
    return err;
  }

  @Override
  public Optional<Tty> tty() {
    if (!hello.hasTerminal()) {
      return Optional.empty();
    }
    return Optional.of(new Tty(hello.term(), new WindowSize(hello.cols(), hello.rows()), resizes));
  }

  @Override
  public Optional<String> readLine(String prompt) throws IOException {
    out.write(prompt.getBytes(StandardCharsets.UTF_8));
    return Terminal.readLineFrom(in);
  }

  @Override
  public Raw raw() {
    try {
      send(GatewayFrames.RAW, new byte[0]);
    } catch (IOException e) {
      // the client is gone; the verb finds out from its streams
    }
    return new Raw() {
      @Override
      public InputStream in() {
        return in;
      }

      @Override
      public OutputStream out() {
        return out;
      }

      @Override
      public void close() {
        try {
          send(GatewayFrames.COOKED, new byte[0]);
        } catch (IOException e) {
          // the client is gone and its own exit restores its terminal
        }
      }
    };
  }

  @Override
  public Optional<String> workingDirectory() {
    return client == Client.IN_VM ? absoluteWorkingDirectory() : Optional.empty();
  }

  @Override
  public Optional<Path> localFiles() {
    return client == Client.LOCAL ? absoluteWorkingDirectory().map(Path::of) : Optional.empty();
  }

  private Optional<String> absoluteWorkingDirectory() {
    return Optional.of(hello.workingDirectory()).filter(d -> d.startsWith("/"));
  }

  private final class FrameOutput extends OutputStream {
    private final byte type;

    FrameOutput(byte type) {
      this.type = type;
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return;
      }
      synchronized (socketOut) {
        GatewayFrames.write(socketOut, type, b, off, len);
      }
    }
  }

  private final class FrameInput extends InputStream {
    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) == -1 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      if (inputRequested.compareAndSet(false, true)) {
        send(GatewayFrames.NEED_INPUT, new byte[0]);
      }
      return input.read(b, off, len);
    }
  }
}
