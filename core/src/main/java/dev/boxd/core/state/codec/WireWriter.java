package dev.boxd.core.state.codec;

import dev.boxd.core.net.Ipv4;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;

/**
 * Appends big-endian fixed-width fields to a growing byte array. Fixed widths keep the format
 * obvious to read in a hex dump and in the golden tests; entries are small, so size is no issue.
 */
final class WireWriter {
  private byte[] bytes = new byte[128];
  private int size;

  WireWriter u8(int value) {
    ensure(1);
    bytes[size++] = (byte) value;
    return this;
  }

  /** One byte, 1 or 0. */
  WireWriter bool(boolean value) {
    return u8(value ? 1 : 0);
  }

  WireWriter u16(int value) {
    return u8(value >>> 8).u8(value);
  }

  WireWriter i32(int value) {
    return u16(value >>> 16).u16(value);
  }

  WireWriter i64(long value) {
    return i32((int) (value >>> 32)).i32((int) value);
  }

  WireWriter raw(byte[] value) {
    ensure(value.length);
    System.arraycopy(value, 0, bytes, size, value.length);
    size += value.length;
    return this;
  }

  /** Length (i32) then UTF-8 bytes. */
  WireWriter string(String value) {
    byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
    return i32(utf8.length).raw(utf8);
  }

  /** Seconds since the epoch (i64) then nanoseconds (i32): exact, so a round trip is equal. */
  WireWriter instant(Instant value) {
    return i64(value.getEpochSecond()).i32(value.getNano());
  }

  WireWriter ipv4(Ipv4 value) {
    return i32(value.bits());
  }

  byte[] toBytes() {
    return Arrays.copyOf(bytes, size);
  }

  private void ensure(int more) {
    if (size + more > bytes.length) {
      bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
    }
  }
}
