package dev.boxd.core.state.codec;

import dev.boxd.core.net.Ipv4;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.time.DateTimeException;
import java.time.Instant;

/** Reads what {@link WireWriter} wrote; every read is bounds-checked and fails as corrupt data. */
final class WireReader {
  private final byte[] bytes;
  private final String what;
  private int position;

  WireReader(byte[] bytes, String what) {
    this.bytes = bytes;
    this.what = what;
  }

  int u8() {
    need(1);
    return bytes[position++] & 0xff;
  }

  /** One byte that must be 1 or 0: anything else is corrupt, not true. */
  boolean bool() {
    int value = u8();
    if (value > 1) {
      throw corrupt("a flag byte is " + value + ", expected 0 or 1");
    }
    return value == 1;
  }

  int u16() {
    return (u8() << 8) | u8();
  }

  int i32() {
    return (u16() << 16) | u16();
  }

  long i64() {
    return ((long) i32() << 32) | (i32() & 0xffffffffL);
  }

  byte[] raw(int length) {
    need(length);
    byte[] out = new byte[length];
    System.arraycopy(bytes, position, out, 0, length);
    position += length;
    return out;
  }

  String string() {
    int length = i32();
    if (length < 0) {
      throw corrupt("negative string length " + length);
    }
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(raw(length)))
          .toString();
    } catch (CharacterCodingException e) {
      throw corrupt("a string is not valid UTF-8");
    }
  }

  Instant instant() {
    long seconds = i64();
    int nanos = i32();
    if (nanos < 0 || nanos > 999_999_999) {
      throw corrupt("nanoseconds out of range: " + nanos);
    }
    try {
      return Instant.ofEpochSecond(seconds, nanos);
    } catch (DateTimeException e) {
      throw corrupt("time out of range: " + seconds + " s");
    }
  }

  Ipv4 ipv4() {
    return new Ipv4(i32());
  }

  /** True when every byte was read: how a reader sees that an optional trailing field is absent. */
  boolean atEnd() {
    return position == bytes.length;
  }

  /** Fails unless every byte was read: trailing bytes mean a format this reader does not know. */
  void end() {
    if (position != bytes.length) {
      throw corrupt((bytes.length - position) + " unexpected trailing bytes");
    }
  }

  CorruptDataException corrupt(String problem) {
    return new CorruptDataException("corrupt " + what + " at byte " + position + " of " + bytes.length + ": " + problem);
  }

  private void need(int count) {
    if (count < 0 || bytes.length - position < count) {
      throw corrupt("truncated, " + count + " more bytes expected");
    }
  }
}
