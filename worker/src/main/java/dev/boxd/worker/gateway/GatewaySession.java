package dev.boxd.worker.gateway;

import dev.boxd.verbs.Operations;
import dev.boxd.verbs.Operations.Tty;
import dev.boxd.verbs.Operations.WindowSize;
import dev.boxd.verbs.Terminal;
import dev.boxd.worker.gateway.GatewayFrames.Frame;
import dev.boxd.worker.gateway.GatewayFrames.Hello;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.SubmissionPublisher;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One connection's terminal: stdout and stderr become frames, stdin arrives in frames once the verb
 * first reads it (the client asked with {@code N}), window changes feed the {@link Tty}. The local
 * terminal in the VM stays cooked, so echo and line editing for prompts happen there; connect and
 * {@code exec --tty} switch it to raw for their duration.
 */
final class GatewaySession implements Terminal {
  /** Marks the end of input in the queue. */
  private static final byte[] END = new byte[0];

  private final Hello hello;
  private final OutputStream socketOut;
  private final BlockingQueue<byte[]> input = new ArrayBlockingQueue<>(64);
  private final AtomicBoolean inputRequested = new AtomicBoolean();
  private volatile boolean finished;
  private final SubmissionPublisher<WindowSize> resizes = new SubmissionPublisher<>();
  private final InputStream in = new FrameInput();
  private final OutputStream out = new FrameOutput(GatewayFrames.STDOUT);
  private final OutputStream err = new FrameOutput(GatewayFrames.STDERR);

  GatewaySession(Hello hello, OutputStream socketOut) {
    this.hello = hello;
    this.socketOut = socketOut;
  }

  /** Passes one client frame after the hello to the verb; false for a frame the protocol does not allow. */
  boolean accept(Frame frame) throws IOException, InterruptedException {
    switch (frame.type()) {
      case GatewayFrames.INPUT -> {
        if (!inputRequested.get()) {
          return false;
        }
        byte[] chunk = frame.payload().length == 0 ? END : frame.payload();
        // A verb that ended without reading all of its input must not leave this thread waiting.
        while (!input.offer(chunk, 100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
          if (finished) {
            return true;
          }
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

  /** The client is gone: a verb reading stdin sees its end. */
  void clientGone() {
    input.offer(END);
    resizes.close();
  }

  void exit(int code) throws IOException {
    finished = true;
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
    private byte[] current = new byte[0];
    private int position;
    private boolean ended;

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) == -1 ? -1 : one[0] & 0xff;
    }

    @Override
    public synchronized int read(byte[] b, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      while (position == current.length) {
        if (ended) {
          return -1;
        }
        if (inputRequested.compareAndSet(false, true)) {
          send(GatewayFrames.NEED_INPUT, new byte[0]);
        }
        try {
          current = input.take();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while waiting for input");
        }
        position = 0;
        if (current == END) {
          ended = true;
        }
      }
      int n = Math.min(len, current.length - position);
      System.arraycopy(current, position, b, off, n);
      position += n;
      return n;
    }
  }
}
