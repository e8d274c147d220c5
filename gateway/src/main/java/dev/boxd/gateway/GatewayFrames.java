package dev.boxd.gateway;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** The frames of the in-VM gateway protocol ({@code docs/gateway-protocol.md}): type, length, payload. */
public final class GatewayFrames {
  static final String VERSION = "boxd-gateway/1";
  /** The most any frame carries: a hello with huge arguments, or output. */
  static final int MAX_PAYLOAD = 1 << 20;
  /** The most a client frame after the hello carries ({@code I} frames are up to 64 KiB). */
  static final int MAX_CLIENT_PAYLOAD = 64 * 1024;

  // client → gateway
  static final byte HELLO = 'H';
  static final byte INPUT = 'I';
  static final byte WINDOW = 'W';
  // gateway → client
  static final byte STDOUT = 'O';
  static final byte STDERR = 'E';
  static final byte NEED_INPUT = 'N';
  static final byte RAW = 'R';
  static final byte COOKED = 'C';
  static final byte EXIT = 'X';

  record Frame(byte type, byte[] payload) {}

  /** What the client says first: its working directory, terminal, and the verb's words. */
  public record Hello(String workingDirectory, String term, int cols, int rows, List<String> argv) {
    public boolean hasTerminal() {
      return !term.isEmpty();
    }
  }

  private GatewayFrames() {}

  /** The next frame, or null at a clean end of the stream (between frames). */
  static Frame read(DataInputStream in) throws IOException {
    return read(in, MAX_PAYLOAD);
  }

  /** The next frame of at most {@code limit} payload bytes, or null at a clean end of the stream. */
  static Frame read(DataInputStream in, int limit) throws IOException {
    int type = in.read();
    if (type == -1) {
      return null;
    }
    int length = in.readInt();
    if (length < 0 || length > limit) {
      throw new ProtocolException("frame of " + Integer.toUnsignedString(length) + " bytes exceeds " + limit);
    }
    byte[] payload = in.readNBytes(length);
    if (payload.length != length) {
      throw new EOFException("connection ended inside a frame");
    }
    return new Frame((byte) type, payload);
  }

  /** Writes one frame; callers serialise writers. Longer data goes out as several frames. */
  static void write(OutputStream out, byte type, byte[] data, int off, int len) throws IOException {
    do {
      int n = Math.min(len, MAX_PAYLOAD);
      out.write(ByteBuffer.allocate(5).put(type).putInt(n).array());
      out.write(data, off, n);
      off += n;
      len -= n;
    } while (len > 0);
    out.flush();
  }

  static Hello parseHello(Frame frame) throws ProtocolException {
    if (frame == null || frame.type() != HELLO) {
      throw new ProtocolException("expected a hello frame first");
    }
    List<String> fields = new ArrayList<>();
    byte[] p = frame.payload();
    int start = 0;
    for (int i = 0; i < p.length; i++) {
      if (p[i] == 0) {
        fields.add(new String(p, start, i - start, StandardCharsets.UTF_8));
        start = i + 1;
      }
    }
    if (start != p.length) {
      throw new ProtocolException("hello: the last field is not NUL-terminated");
    }
    if (fields.size() < 5) {
      throw new ProtocolException("hello: expected version, directory, TERM, columns and rows");
    }
    if (!fields.get(0).equals(VERSION)) {
      throw new ProtocolException("hello: unsupported protocol " + fields.get(0) + " (this gateway speaks " + VERSION + ")");
    }
    return new Hello(fields.get(1), fields.get(2), number(fields.get(3)), number(fields.get(4)), List.copyOf(fields.subList(5, fields.size())));
  }

  private static int number(String text) throws ProtocolException {
    try {
      return Math.clamp(Integer.parseInt(text), 0, 0xffff);
    } catch (NumberFormatException e) {
      throw new ProtocolException("hello: " + text + " is not a terminal size");
    }
  }

  /** A {@code W} payload: columns and rows, two bytes each. */
  static int[] window(Frame frame) throws ProtocolException {
    if (frame.payload().length != 4) {
      throw new ProtocolException("window frame of " + frame.payload().length + " bytes, expected 4");
    }
    ByteBuffer b = ByteBuffer.wrap(frame.payload());
    return new int[] {Short.toUnsignedInt(b.getShort()), Short.toUnsignedInt(b.getShort())};
  }
}
