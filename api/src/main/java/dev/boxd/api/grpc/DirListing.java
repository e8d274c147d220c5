package dev.boxd.api.grpc;

import dev.boxd.api.v1.DirEntry;
import dev.boxd.api.v1.ListDirRequest;
import dev.boxd.api.v1.ListDirResponse;
import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.verbs.Operations;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code ListDir}: one fixed command run in the VM through {@code Operations.exec}, as any exec
 * is, with the path in the environment ({@value #PATH_VARIABLE}) so that no path can change what
 * the shell runs. GNU find prints one record per entry, NUL-terminated since a name may hold any
 * byte but NUL and '/': type, size, permission bits (octal), mtime (epoch seconds) and the name
 * last, so the name's spaces need no escaping. The path handed to find always starts with '/'
 * (relative ones are made absolute under /home/boxd), so it can never be taken for an option.
 */
final class DirListing {
  static final String HOME = "/home/boxd";
  static final String PATH_VARIABLE = "BOXD_LIST_PATH";
  static final int MISSING = 3;
  static final int NOT_A_DIRECTORY = 4;
  /** Below a client's default inbound message size (4 MiB), with room for the message's own framing. */
  static final int MAX_OUTPUT_BYTES = 3 * 1024 * 1024;
  // -H: a path that is a link to a directory lists the directory; the entries' own links stay links.
  static final String COMMAND = "p=\"$" + PATH_VARIABLE + "\"\n"
      + "if [ ! -e \"$p\" ] && [ ! -L \"$p\" ]; then exit " + MISSING + "; fi\n"
      + "if [ ! -d \"$p\" ]; then exit " + NOT_A_DIRECTORY + "; fi\n"
      + "exec find -H \"$p\" -mindepth 1 -maxdepth 1 -printf '%y %s %m %T@ %f\\0'\n";

  private DirListing() {}

  static ListDirResponse list(Operations ops, ListDirRequest request) {
    String vm = Requests.vm("vm_id", request.getVmId());
    String path = absolute(request.getPath());
    var out = new BoundedBuffer(MAX_OUTPUT_BYTES);
    var err = new BoundedBuffer(4096);
    int exit = ops.exec(vm, new Operations.ExecSpec(COMMAND, Map.of(PATH_VARIABLE, path), Optional.empty(), Optional.empty()),
        InputStream.nullInputStream(), out, err);
    switch (exit) {
      case 0 -> {}
      case MISSING -> throw BoxdException.notFound("no such file or directory in VM " + vm + ": " + path);
      case NOT_A_DIRECTORY -> throw BoxdException.precondition("not a directory in VM " + vm + ": " + path
          + " (ListDir lists directories; DownloadFile reads a file)");
      default -> throw BoxdException.precondition("cannot list " + path + " in VM " + vm + " (find exited with " + exit + "): "
          + err.text().strip());
    }
    if (out.overflowed()) {
      throw new BoxdException(ErrorCode.RESOURCE_EXHAUSTED, "directory " + path + " in VM " + vm + " has too many entries for one"
          + " answer (over " + MAX_OUTPUT_BYTES / (1024 * 1024) + " MiB listed): list its subdirectories, or use Exec");
    }
    return ListDirResponse.newBuilder().addAllEntries(parse(out.toByteArray())).build();
  }

  /** {@code path} as find gets it: relative ones under /home/boxd; empty means /home/boxd itself. */
  static String absolute(String path) {
    if (path.indexOf('\0') >= 0) {
      throw BoxdException.invalid("path must not contain a NUL character");
    }
    if (path.isEmpty()) {
      return HOME;
    }
    return path.startsWith("/") ? path : HOME + "/" + path;
  }

  /** find's records, sorted by name. A record that is not as {@link #COMMAND} prints it is a bug: INTERNAL. */
  static List<DirEntry> parse(byte[] output) {
    List<DirEntry> entries = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < output.length; i++) {
      if (output[i] == 0) {
        entries.add(entry(new String(output, start, i - start, StandardCharsets.UTF_8)));
        start = i + 1;
      }
    }
    if (start != output.length) {
      throw new IllegalStateException("the directory listing ends in an unterminated record");
    }
    entries.sort(Comparator.comparing(DirEntry::getName));
    return entries;
  }

  private static DirEntry entry(String record) {
    String[] fields = record.split(" ", 5);
    if (fields.length != 5 || fields[4].isEmpty()) {
      throw new IllegalStateException("not a directory listing record: " + record);
    }
    String seconds = fields[3].contains(".") ? fields[3].substring(0, fields[3].indexOf('.')) : fields[3];
    return DirEntry.newBuilder()
        .setName(fields[4])
        .setType(type(fields[0]))
        .setSize(Long.parseLong(fields[1]))
        .setMode(Integer.parseInt(fields[2], 8))
        .setModifiedAt(Instant.ofEpochSecond(Long.parseLong(seconds)).toString())
        .build();
  }

  private static String type(String findType) {
    return switch (findType) {
      case "f" -> "file";
      case "d" -> "dir";
      case "l" -> "link";
      default -> "other";
    };
  }

  /** Keeps the first {@code max} bytes and notes that more came; the command runs on to its end. */
  private static final class BoundedBuffer extends OutputStream {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final int max;
    private boolean overflowed;

    BoundedBuffer(int max) {
      this.max = max;
    }

    @Override
    public synchronized void write(int b) {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
      int room = max - bytes.size();
      if (len > room) {
        overflowed = true;
      }
      bytes.write(b, off, Math.max(0, Math.min(len, room)));
    }

    synchronized boolean overflowed() {
      return overflowed;
    }

    synchronized byte[] toByteArray() {
      return bytes.toByteArray();
    }

    synchronized String text() {
      return bytes.toString(StandardCharsets.UTF_8);
    }
  }
}
