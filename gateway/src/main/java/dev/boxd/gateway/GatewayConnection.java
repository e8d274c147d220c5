package dev.boxd.gateway;

import dev.boxd.core.ErrorCode;
import dev.boxd.gateway.GatewayFrames.Frame;
import dev.boxd.verbs.Terminal;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.function.ToIntFunction;

/**
 * One client connection after its hello: the verb runs on its own thread against a
 * {@link GatewaySession}, while this thread feeds it the client's frames. When the client goes
 * first, the verb is interrupted, as the SSH front door does when a channel closes.
 */
public final class GatewayConnection {
  /** The client's side of the connection, as the server that accepted it sees it. */
  public interface Client {
    /** Ends the reading side of the connection, so the frame loop ends whatever the client does next. */
    void shutdownInput() throws IOException;

    /** For log lines: who the client is. */
    String name();

    /** The client at the other end of {@code connection}. */
    static Client of(SocketChannel connection, String name) {
      return new Client() {
        @Override
        public void shutdownInput() throws IOException {
          connection.shutdownInput();
        }

        @Override
        public String name() {
          return name;
        }
      };
    }
  }

  /** What happened when a client went away or broke the protocol; for the caller's debug log. */
  @FunctionalInterface
  public interface Log {
    void debug(String message);
  }

  private GatewayConnection() {}

  /** Reads the hello, the first frame of every connection. */
  public static GatewayFrames.Hello readHello(DataInputStream in) throws IOException {
    return GatewayFrames.parseHello(GatewayFrames.read(in));
  }

  /**
   * Runs {@code verb} on the session of {@code hello} until it exits, passing the client's frames to
   * it; returns when both the verb and the client are done.
   */
  public static void serve(Client client, DataInputStream in, OutputStream out, GatewaySession session,
      ToIntFunction<Terminal> verb, Log log) {
    Thread running = Thread.ofVirtual().name("gateway-verb-" + client.name()).start(() -> {
      int code = verb.applyAsInt(session);
      try {
        session.exit(code);
        client.shutdownInput();
      } catch (IOException e) {
        log.debug("gateway client " + client.name() + " left before its exit code: " + e);
      }
    });
    try {
      Frame frame;
      while ((frame = GatewayFrames.read(in, GatewayFrames.MAX_CLIENT_PAYLOAD)) != null) {
        if (!session.accept(frame)) {
          throw new ProtocolException("unexpected frame '" + (char) frame.type() + "'");
        }
      }
    } catch (IOException e) {
      log.debug("gateway client " + client.name() + " went away: " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      session.clientGone();
      if (running.isAlive()) {
        running.interrupt();
      }
    }
    try {
      running.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Answers a connection with one error line and an exit code, and nothing else. */
  public static void refuse(OutputStream out, ErrorCode code, String message) throws IOException {
    byte[] text = ("error: " + message + "\n").getBytes(StandardCharsets.UTF_8);
    GatewayFrames.write(out, GatewayFrames.STDERR, text, 0, text.length);
    GatewayFrames.write(out, GatewayFrames.EXIT, ByteBuffer.allocate(4).putInt(code.exitCode()).array(), 0, 4);
  }

}
