package dev.boxd.guest.archive;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Reads the entries of a tar stream (POSIX ustar, GNU long names and pax extended headers: what
 * GNU tar, Docker and containerd write). It reads headers and names only; an entry's data is
 * skipped unless the caller copies it. A stream that ends before the two zero blocks that close
 * an archive, or a header whose checksum is wrong, is an error naming the entry: a truncated or
 * foreign file is never taken for a short archive.
 */
public final class TarReader {
  private static final int BLOCK = 512;

  /** One entry: its name as written (no leading {@code ./}), type, size and link target. */
  public record Entry(String name, Type type, long size, String linkName, int mode) {}

  /** The entry types boxd tells apart; everything else (devices, FIFOs) is {@code SPECIAL}. */
  public enum Type { FILE, DIRECTORY, SYMLINK, HARDLINK, SPECIAL }

  private final InputStream in;
  private final String what;
  private long remaining; // data bytes of the current entry not yet read
  private long padding;
  private int entries;

  /** @param what names the stream in errors (a file, or a layer in an archive) */
  public TarReader(InputStream in, String what) {
    this.in = in;
    this.what = what;
  }

  /** The next entry, or empty at the end of the archive. */
  public Optional<Entry> next() throws IOException {
    skipData();
    String longName = null;
    String longLink = null;
    Map<String, String> pax = Map.of();
    while (true) {
      byte[] header = new byte[BLOCK];
      if (!readBlock(header)) {
        throw new ArchiveException(what + " is truncated: it ends "
            + (entries == 0 ? "before its first entry" : "after " + entries + " entries") + " without the end-of-archive blocks");
      }
      if (isZero(header)) {
        return Optional.empty();
      }
      verifyChecksum(header);
      char flag = (char) header[156];
      long size = number(header, 124, 12);
      String name = string(header, 0, 100);
      String prefix = isUstar(header) ? string(header, 345, 155) : "";
      if (!prefix.isEmpty()) {
        name = prefix + "/" + name;
      }
      String link = string(header, 157, 100);
      int mode = (int) number(header, 100, 8);
      remaining = size;
      padding = (BLOCK - size % BLOCK) % BLOCK;
      switch (flag) {
        case 'L' -> {
          longName = trimNul(new String(readData(size), StandardCharsets.UTF_8));
          continue;
        }
        case 'K' -> {
          longLink = trimNul(new String(readData(size), StandardCharsets.UTF_8));
          continue;
        }
        case 'x' -> {
          pax = parsePax(readData(size));
          continue;
        }
        case 'g' -> {
          readData(size);
          continue;
        }
        default -> {
        }
      }
      if (longName != null) {
        name = longName;
      }
      if (longLink != null) {
        link = longLink;
      }
      name = pax.getOrDefault("path", name);
      link = pax.getOrDefault("linkpath", link);
      if (pax.containsKey("size")) {
        size = Long.parseLong(pax.get("size"));
        remaining = size;
        padding = (BLOCK - size % BLOCK) % BLOCK;
      }
      Type type = switch (flag) {
        case '0', '\0', '7' -> name.endsWith("/") ? Type.DIRECTORY : Type.FILE;
        case '5' -> Type.DIRECTORY;
        case '2' -> Type.SYMLINK;
        case '1' -> Type.HARDLINK;
        case '3', '4', '6' -> Type.SPECIAL;
        default -> throw new ArchiveException(what + ": entry " + name + " has tar type '" + flag + "', which boxd does not read");
      };
      if (type != Type.FILE) {
        // only regular files carry data (a hard link's size is 0 in every writer boxd reads)
        remaining = type == Type.HARDLINK || type == Type.SYMLINK || type == Type.DIRECTORY ? 0 : remaining;
        padding = remaining == 0 ? 0 : padding;
      }
      entries++;
      return Optional.of(new Entry(stripDot(name), type, size, link, mode));
    }
  }

  /** Copies the current entry's data to {@code out}. */
  public void copyData(OutputStream out) throws IOException {
    byte[] buffer = new byte[64 * 1024];
    while (remaining > 0) {
      int n = in.read(buffer, 0, (int) Math.min(buffer.length, remaining));
      if (n < 0) {
        throw new ArchiveException(what + " is truncated inside an entry's data");
      }
      out.write(buffer, 0, n);
      remaining -= n;
    }
  }

  /** The current entry's data, for small entries (manifests, configs). */
  public byte[] data(int limit) throws IOException {
    if (remaining > limit) {
      throw new ArchiveException(what + ": an entry of " + remaining + " bytes where at most " + limit + " were expected");
    }
    return readData(remaining);
  }

  private byte[] readData(long size) throws IOException {
    byte[] data = new byte[(int) size];
    try {
      readFully(data);
    } catch (EOFException e) {
      throw new ArchiveException(what + " is truncated inside an entry's data");
    }
    remaining = 0;
    skipPadding();
    return data;
  }

  // Skips rather than reads where the stream can (a file seeks): finding a docker save archive's
  // manifest then costs no read of its layers. Skipping past the end of a cut file goes unnoticed
  // here; the next header's read finds the end.
  private void skipData() throws IOException {
    while (remaining > 0) {
      long n = in.skip(remaining);
      if (n <= 0) {
        copyData(OutputStream.nullOutputStream());
        break;
      }
      remaining -= n;
    }
    skipPadding();
  }

  private void skipPadding() throws IOException {
    while (padding > 0) {
      long n = in.skip(padding);
      if (n <= 0) {
        if (in.read() < 0) {
          throw new ArchiveException(what + " is truncated inside an entry's padding");
        }
        n = 1;
      }
      padding -= n;
    }
  }

  private boolean readBlock(byte[] block) throws IOException {
    int off = 0;
    while (off < block.length) {
      int n = in.read(block, off, block.length - off);
      if (n < 0) {
        if (off == 0) {
          return false;
        }
        throw new ArchiveException(what + " is truncated inside a header");
      }
      off += n;
    }
    return true;
  }

  private void readFully(byte[] data) throws IOException {
    int off = 0;
    while (off < data.length) {
      int n = in.read(data, off, data.length - off);
      if (n < 0) {
        throw new EOFException();
      }
      off += n;
    }
  }

  private void verifyChecksum(byte[] header) {
    long stored;
    try {
      stored = number(header, 148, 8);
    } catch (ArchiveException e) {
      throw notTar();
    }
    long sum = 0;
    for (int i = 0; i < BLOCK; i++) {
      sum += (i >= 148 && i < 156) ? ' ' : (header[i] & 0xff);
    }
    if (sum != stored) {
      throw notTar();
    }
  }

  private ArchiveException notTar() {
    return new ArchiveException(entries == 0
        ? what + " is not a tar archive (its first block is no tar header)"
        : what + " is corrupt: the header after entry " + entries + " has a wrong checksum");
  }

  private static boolean isUstar(byte[] header) {
    return header[257] == 'u' && header[258] == 's' && header[259] == 't' && header[260] == 'a' && header[261] == 'r'
        && header[262] == 0; // POSIX ustar; GNU's "ustar  " has no prefix field
  }

  private static boolean isZero(byte[] block) {
    for (byte b : block) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }

  private long number(byte[] header, int offset, int length) {
    if ((header[offset] & 0x80) != 0) { // GNU base-256 for large values
      long value = header[offset] & 0x7f;
      for (int i = 1; i < length; i++) {
        value = (value << 8) | (header[offset + i] & 0xff);
      }
      return value;
    }
    String text = string(header, offset, length).trim();
    if (text.isEmpty()) {
      return 0;
    }
    try {
      return Long.parseLong(text, 8);
    } catch (NumberFormatException e) {
      throw new ArchiveException(what + ": a tar header holds '" + text + "' where an octal number belongs");
    }
  }

  private static String string(byte[] header, int offset, int length) {
    int end = offset;
    while (end < offset + length && header[end] != 0) {
      end++;
    }
    return new String(header, offset, end - offset, StandardCharsets.UTF_8);
  }

  private static String trimNul(String s) {
    int nul = s.indexOf('\0');
    return nul >= 0 ? s.substring(0, nul) : s;
  }

  private static String stripDot(String name) {
    String n = name;
    while (n.startsWith("./")) {
      n = n.substring(2);
    }
    return n;
  }

  // pax records: "LEN key=value\n"
  private Map<String, String> parsePax(byte[] data) {
    Map<String, String> out = new HashMap<>();
    int pos = 0;
    while (pos < data.length) {
      int space = pos;
      while (space < data.length && data[space] != ' ') {
        space++;
      }
      if (space >= data.length) {
        break;
      }
      int len;
      try {
        len = Integer.parseInt(new String(data, pos, space - pos, StandardCharsets.US_ASCII));
      } catch (NumberFormatException e) {
        throw new ArchiveException(what + ": a pax header is malformed");
      }
      if (len <= 0 || pos + len > data.length) {
        throw new ArchiveException(what + ": a pax header is malformed");
      }
      String record = new String(data, space + 1, len - (space - pos) - 2, StandardCharsets.UTF_8);
      int eq = record.indexOf('=');
      if (eq > 0) {
        out.put(record.substring(0, eq), record.substring(eq + 1));
      }
      pos += len;
    }
    return out;
  }
}
