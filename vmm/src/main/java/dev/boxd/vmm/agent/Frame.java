package dev.boxd.vmm.agent;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One frame of the agent protocol ({@code docs/agent-protocol.md}) and its codec. */
record Frame(int type, int channel, byte[] payload) {
  static final int MAX_PAYLOAD = 65536;

  // host -> guest
  static final int HELLO = 0x01;
  static final int EXEC = 0x02;
  static final int DATA = 0x03;
  static final int RESIZE = 0x04;
  static final int SIGNAL = 0x05;
  static final int PUT = 0x06;
  static final int GET = 0x07;
  static final int IDENTITY = 0x08;
  static final int TIME = 0x09;
  // guest -> host
  static final int OUT = 0x80;
  static final int HELLO_REPLY = 0x81;
  static final int STARTED = 0x82;
  static final int META = 0x83;
  static final int DONE = 0x84;
  static final int ERR = 0x85;
  static final int EXIT = 0x86;
  static final int ACK = 0x87;
  static final int ERROR = 0x8F;

  static final byte[] SYNC = "BXSYNC\r\n".getBytes(StandardCharsets.US_ASCII);

  void writeTo(DataOutputStream out) throws IOException {
    out.writeInt(5 + payload.length);
    out.writeByte(type);
    out.writeInt(channel);
    out.write(payload);
  }

  static Frame readFrom(DataInputStream in) throws IOException {
    int length = in.readInt();
    if (length < 5 || length > 5 + MAX_PAYLOAD) {
      throw new IOException("agent protocol error: frame length " + length);
    }
    int type = in.readUnsignedByte();
    int channel = in.readInt();
    byte[] payload = new byte[length - 5];
    in.readFully(payload);
    return new Frame(type, channel, payload);
  }

  /** Encodes a map payload: {@code key NUL value NUL} pairs, keys may repeat. */
  static byte[] map(List<Map.Entry<String, String>> entries) {
    var out = new ByteArrayOutputStream();
    for (var e : entries) {
      out.writeBytes(e.getKey().getBytes(StandardCharsets.UTF_8));
      out.write(0);
      out.writeBytes(e.getValue().getBytes(StandardCharsets.UTF_8));
      out.write(0);
    }
    return out.toByteArray();
  }

  static byte[] map(Map<String, String> entries) {
    return map(new ArrayList<>(new LinkedHashMap<>(entries).entrySet()));
  }

  long u64() {
    return ByteBuffer.wrap(payload).getLong();
  }

  int i32() {
    return ByteBuffer.wrap(payload).getInt();
  }

  String text() {
    return new String(payload, StandardCharsets.UTF_8);
  }

  /** An ERROR's message: the text before the trailing NUL and errno (the whole payload from an agent without them). */
  String errorMessage() {
    return hasErrno() ? new String(payload, 0, payload.length - 5, StandardCharsets.UTF_8) : text();
  }

  /** An ERROR's errno, 0 when the failure had none (or the agent predates the field). */
  int errorNumber() {
    return hasErrno() ? ByteBuffer.wrap(payload, payload.length - 4, 4).getInt() : 0;
  }

  // The message is a C string, so the NUL five bytes from the end is the field's own.
  private boolean hasErrno() {
    return payload.length >= 5 && payload[payload.length - 5] == 0;
  }
}
