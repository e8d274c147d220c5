package dev.boxd.guest.archive;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Writes ustar archives byte by byte, including entries no honest tar would write. */
final class TarWriter {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  TarWriter file(String name, String content) {
    return file(name, content.getBytes(StandardCharsets.UTF_8));
  }

  TarWriter file(String name, byte[] data) {
    header(name, '0', data.length, "");
    out.writeBytes(data);
    out.writeBytes(new byte[(512 - data.length % 512) % 512]);
    return this;
  }

  TarWriter dir(String name) {
    header(name, '5', 0, "");
    return this;
  }

  TarWriter symlink(String name, String target) {
    header(name, '2', 0, target);
    return this;
  }

  TarWriter hardlink(String name, String target) {
    header(name, '1', 0, target);
    return this;
  }

  /** The archive closed with its two zero blocks. */
  byte[] bytes() {
    ByteArrayOutputStream copy = new ByteArrayOutputStream();
    copy.writeBytes(out.toByteArray());
    copy.writeBytes(new byte[1024]);
    return copy.toByteArray();
  }

  /** The archive without its end blocks, as a cut-off download leaves it. */
  byte[] unterminated() {
    return out.toByteArray();
  }

  private void header(String name, char type, long size, String link) {
    byte[] h = new byte[512];
    put(h, 0, 100, name);
    put(h, 100, 8, String.format("%07o", type == '5' ? 0755 : 0644));
    put(h, 108, 8, "0000000");
    put(h, 116, 8, "0000000");
    put(h, 124, 12, String.format("%011o", size));
    put(h, 136, 12, "00000000000");
    h[156] = (byte) type;
    put(h, 157, 100, link);
    put(h, 257, 6, "ustar");
    put(h, 263, 2, "00");
    for (int i = 148; i < 156; i++) {
      h[i] = ' ';
    }
    long sum = 0;
    for (byte b : h) {
      sum += b & 0xff;
    }
    put(h, 148, 8, String.format("%06o", sum));
    h[154] = 0;
    out.writeBytes(h);
  }

  private static void put(byte[] h, int off, int len, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    System.arraycopy(b, 0, h, off, Math.min(b.length, len));
  }
}
