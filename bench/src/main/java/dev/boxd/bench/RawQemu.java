package dev.boxd.bench;

import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The anchor: the same golden restored by hand, with none of boxd's code on the path — a
 * process started directly, QMP spoken as raw JSON lines, the agent as raw frames. What boxd
 * adds on top of this (disk overlay, tap and rules, identity) is what the ratios show.
 */
final class RawQemu implements AutoCloseable {
  final Process process;
  final SocketChannel qmp;
  final BufferedReader qmpIn;
  final OutputStream qmpOut;
  final Path run;

  private RawQemu(Process process, SocketChannel qmp, Path run) {
    this.process = process;
    this.qmp = qmp;
    this.qmpIn = new BufferedReader(new InputStreamReader(Channels.newInputStream(qmp), StandardCharsets.UTF_8));
    this.qmpOut = Channels.newOutputStream(qmp);
    this.run = run;
  }

  /** Starts QEMU with {@code argv} (which must listen for QMP on run/qmp.sock) and enters command mode. */
  static RawQemu start(List<String> argv, Path run) throws Exception {
    Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(run.resolve("qemu.log").toFile()).start();
    Path sock = run.resolve("qmp.sock");
    while (true) {
      if (!p.isAlive()) {
        throw new IllegalStateException("raw QEMU died: " + Files.readString(run.resolve("qemu.log")));
      }
      try {
        SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(sock));
        RawQemu q = new RawQemu(p, ch, run);
        q.qmpIn.readLine();
        q.command("{\"execute\":\"qmp_capabilities\"}");
        return q;
      } catch (IOException e) {
        Thread.sleep(1);
      }
    }
  }

  /** Sends one command and returns its reply line (events before it are skipped). */
  String command(String json) throws IOException {
    qmpOut.write((json + "\n").getBytes(StandardCharsets.UTF_8));
    qmpOut.flush();
    String line;
    while ((line = qmpIn.readLine()) != null) {
      if (line.contains("\"return\"") || line.contains("\"error\"")) {
        return line;
      }
    }
    throw new IOException("QMP closed");
  }

  void awaitMigrationCompleted() throws IOException {
    while (true) {
      String reply = command("{\"execute\":\"query-migrate\"}");
      if (reply.contains("\"completed\"")) {
        return;
      }
      if (reply.contains("\"failed\"")) {
        throw new IOException("raw restore failed: " + reply);
      }
    }
  }

  /** HELLO, then one EXEC of {@code true}, by hand-made frames; returns when its EXIT arrives. */
  void agentRoundTrip() throws Exception {
    try (SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(run.resolve("agent.sock")))) {
      var out = new DataOutputStream(Channels.newOutputStream(ch));
      var in = new DataInputStream(Channels.newInputStream(ch));
      byte[] nonce = new byte[16];
      Arrays.fill(nonce, (byte) 7);
      frame(out, 0x01, 0, nonce);
      byte[] want = new byte[24];
      System.arraycopy("BXSYNC\r\n".getBytes(StandardCharsets.US_ASCII), 0, want, 0, 8);
      System.arraycopy(nonce, 0, want, 8, 16);
      byte[] window = new byte[24];
      while (!Arrays.equals(window, want)) {
        System.arraycopy(window, 1, window, 0, 23);
        window[23] = in.readByte();
      }
      readFrame(in); // HELLO reply
      byte[] exec = "cmd\0true\0user\0boxd\0".getBytes(StandardCharsets.UTF_8);
      frame(out, 0x02, 1, exec);
      frame(out, 0x03, 1, new byte[0]);
      while (true) {
        int type = readFrame(in);
        if (type == 0x86 || type == 0x8F) {
          return;
        }
      }
    }
  }

  private static void frame(DataOutputStream out, int type, int channel, byte[] payload) throws IOException {
    out.writeInt(5 + payload.length);
    out.writeByte(type);
    out.writeInt(channel);
    out.write(payload);
    out.flush();
  }

  private static int readFrame(DataInputStream in) throws IOException {
    int len = in.readInt();
    int type = in.readUnsignedByte();
    in.readInt();
    in.skipNBytes(len - 5);
    return type;
  }

  @Override
  public void close() throws IOException {
    process.destroyForcibly();
    try {
      process.waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    qmp.close();
  }
}
