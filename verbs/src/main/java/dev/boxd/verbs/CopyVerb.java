package dev.boxd.verbs;

import dev.boxd.core.BoxdException;
import dev.boxd.core.Names;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;

/** cp: files into and out of a VM, streamed. */
final class CopyVerb {
  private static final int DEFAULT_MODE = 0644;
  private static final int EXECUTABLE_MODE = 0755;

  private CopyVerb() {}

  /** One side of a copy: remote ({@code NAME:PATH}) or local ({@code -} or a path). */
  record Endpoint(String text, String vm, String path) {
    boolean remote() {
      return vm != null;
    }

    boolean stdio() {
      return !remote() && text.equals("-");
    }

    static Endpoint parse(String text) {
      Values.noNul("the path", text);
      var named = vmPart(text);
      if (named.isEmpty()) {
        return new Endpoint(text, null, text);
      }
      String vm = Values.vmRef(named.get());
      String path = text.substring(named.get().length() + 1);
      if (path.isEmpty()) {
        throw BoxdException.invalid("missing path in " + Names.quote(text) + ": expected NAME:PATH");
      }
      return new Endpoint(text, vm, path);
    }
  }

  /** The NAME of a {@code NAME:PATH} side, as written (not checked); empty for a local side. */
  static java.util.Optional<String> vmPart(String text) {
    int colon = text.indexOf(':');
    if (colon <= 0 || text.substring(0, colon).contains("/")) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(text.substring(0, colon));
  }

  static Verb copy() {
    var syntax = new Syntax("cp", List.of(), "Copy files into, out of and between VMs", List.of("SRC", "DST"), List.of(), false,
        List.of(new Syntax.Flag("recursive", "r", null, false, "accepted for familiarity: directories are always copied whole"),
            Syntax.JSON),
        """
        A remote side is NAME:PATH, PATH relative to /home/boxd unless it starts with /. At least one
        side is remote; the other is - for stdin (upload) or stdout (download), another NAME:PATH, or,
        inside a VM, a path in this VM. Between VMs, a directory is copied whole: its contents land in
        DST, created if needed. Streams without a size limit. JSON: {"bytes","source","destination"}.
        Examples: cp - app:notes.txt < notes.txt    cp app:/etc/hostname -    cp ./results app:/srv/results""");
    return new Verb(syntax, CopyVerb::copy);
  }

  private static int copy(Call call) throws IOException {
    var src = inVm(call, Endpoint.parse(call.args().positionals().get(0)));
    var dst = inVm(call, Endpoint.parse(call.args().positionals().get(1)));
    if (!src.remote() && !dst.remote()) {
      throw BoxdException.invalid("cp " + Names.quote(src.text()) + " " + Names.quote(dst.text())
          + ": expected at least one side remote (NAME:PATH)");
    }
    long bytes;
    if (src.remote() && dst.remote()) {
      bytes = call.ops().copy(src.vm(), src.path(), dst.vm(), dst.path());
    } else {
      bytes = src.remote() ? download(call, src, dst) : upload(call, src, dst);
    }
    if (call.json()) {
      call.printJson(Json.object("bytes", bytes, "source", src.text(), "destination", dst.text()));
    }
    return 0;
  }

  /**
   * Inside a VM, a local path is a path in the caller's own VM, relative to the command's working
   * directory there; it becomes a remote endpoint of the current VM. Elsewhere it stays local.
   */
  private static Endpoint inVm(Call call, Endpoint endpoint) {
    if (endpoint.remote() || endpoint.stdio() || call.terminal().localFiles().isPresent()) {
      return endpoint;
    }
    var self = call.ops().currentVm();
    var cwd = call.terminal().workingDirectory();
    if (self.isEmpty() || cwd.isEmpty()) {
      return endpoint;
    }
    String path = endpoint.path().startsWith("/") ? endpoint.path() : cwd.get().replaceAll("/+$", "") + "/" + endpoint.path();
    return new Endpoint(endpoint.text(), self.get(), path);
  }

  private static long download(Call call, Endpoint src, Endpoint dst) throws IOException {
    var term = call.terminal();
    if (dst.stdio()) {
      if (call.json()) {
        throw BoxdException.invalid("--json with destination - : the file itself goes to stdout; drop --json");
      }
      long bytes = call.ops().download(src.vm(), src.path(), term.out());
      term.out().flush();
      return bytes;
    }
    Path target = local(call, dst);
    Path tmp = Files.createTempFile(target.toAbsolutePath().getParent(), ".boxd-cp-", ".part");
    try {
      long bytes;
      try (OutputStream out = Files.newOutputStream(tmp)) {
        bytes = call.ops().download(src.vm(), src.path(), out);
      }
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      return bytes;
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  private static long upload(Call call, Endpoint src, Endpoint dst) throws IOException {
    if (src.stdio()) {
      return call.ops().upload(dst.vm(), dst.path(), DEFAULT_MODE, call.terminal().in());
    }
    Path source = local(call, src);
    if (!Files.isRegularFile(source)) {
      throw BoxdException.invalid("cp " + Names.quote(src.text()) + ": expected a regular file");
    }
    int mode = Files.getPosixFilePermissions(source).contains(PosixFilePermission.OWNER_EXECUTE) ? EXECUTABLE_MODE : DEFAULT_MODE;
    try (InputStream in = Files.newInputStream(source)) {
      return call.ops().upload(dst.vm(), dst.path(), mode, in);
    }
  }

  private static Path local(Call call, Endpoint endpoint) {
    Path base = call.terminal().localFiles().orElseThrow(() -> BoxdException.invalid("local path " + Names.quote(endpoint.text())
        + ": here cp copies from stdin or to stdout only: expected - (e.g. cp - app:file < file)"));
    return base.resolve(endpoint.path());
  }
}
