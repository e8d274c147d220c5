package dev.boxd.vmm.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * A QMP monitor that can hand QEMU open files ({@code SCM_RIGHTS}). A confined QEMU runs as an
 * unprivileged user that can open nothing of boxd's (the data directory is not even searchable
 * for it) and may not start programs ({@code -sandbox spawn=deny}, so no {@code exec:}
 * migration): every file it needs after start is opened here, by root, and passed over this
 * socket ({@code getfd} for a migration's {@code fd:} URI, {@code add-fd} for
 * {@code /dev/fdset/N} paths). Java's socket channels cannot pass descriptors, hence a small
 * blocking client over the C library. One caller at a time.
 */
public final class FdMonitor implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int AF_UNIX = 1;
  private static final int SOCK_STREAM = 1;
  private static final int SOCK_CLOEXEC = 02000000;
  private static final int SOL_SOCKET = 1;
  private static final int SCM_RIGHTS = 1;
  private static final int SO_RCVTIMEO = 20;
  private static final int SO_SNDTIMEO = 21;
  private static final int MSG_NOSIGNAL = 0x4000;
  public static final int O_RDONLY = 0;
  public static final int O_WRONLY = 1;
  public static final int O_RDWR = 2;
  public static final int O_CREAT = 0100;
  public static final int O_TRUNC = 01000;
  private static final int O_CLOEXEC = 02000000;

  private static final Linker LINKER = Linker.nativeLinker();
  private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
  private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
  private static final MethodHandle SOCKET = handle("socket", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
      ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), false);
  private static final MethodHandle CONNECT = handle("connect", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
      ValueLayout.ADDRESS, ValueLayout.JAVA_INT), false);
  private static final MethodHandle SETSOCKOPT = handle("setsockopt", FunctionDescriptor.of(ValueLayout.JAVA_INT,
      ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT), false);
  private static final MethodHandle SENDMSG = handle("sendmsg", FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
      ValueLayout.ADDRESS, ValueLayout.JAVA_INT), false);
  private static final MethodHandle READ = handle("read", FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
      ValueLayout.ADDRESS, ValueLayout.JAVA_LONG), false);
  private static final MethodHandle OPEN = handle("open", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
      ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), true);
  private static final MethodHandle CLOSE = LINKER.downcallHandle(LINKER.defaultLookup().find("close").orElseThrow(),
      FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

  private final Path socket;
  private final int fd;
  private final Arena arena = Arena.ofShared();
  private final MemorySegment capture = arena.allocate(CAPTURE);
  private final MemorySegment buffer = arena.allocate(64 << 10);
  private final ByteArrayOutputStream line = new ByteArrayOutputStream();
  private byte[] pending = new byte[0];
  private boolean closed;

  private FdMonitor(Path socket, int fd) {
    this.socket = socket;
    this.fd = fd;
  }

  private static MethodHandle handle(String name, FunctionDescriptor descriptor, boolean variadicAfterTwo) {
    var options = variadicAfterTwo
        ? new Linker.Option[] {Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno")}
        : new Linker.Option[] {Linker.Option.captureCallState("errno")};
    return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), descriptor, options);
  }

  /** Connects, reads the greeting and enters command mode; {@code timeout} bounds every later read and write. */
  public static FdMonitor connect(Path socket, Duration timeout) throws IOException {
    int fd;
    try (Arena a = Arena.ofConfined()) {
      MemorySegment errno = a.allocate(CAPTURE);
      fd = (int) SOCKET.invokeExact(errno, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        throw new IOException("socket(AF_UNIX) failed: errno " + (int) ERRNO.get(errno, 0L));
      }
      byte[] path = socket.toString().getBytes(StandardCharsets.UTF_8);
      MemorySegment address = a.allocate(110);
      address.set(ValueLayout.JAVA_SHORT, 0, (short) AF_UNIX);
      if (path.length > 107) {
        close(fd);
        throw new IOException("socket path too long: " + socket);
      }
      MemorySegment.copy(path, 0, address, ValueLayout.JAVA_BYTE, 2, path.length);
      MemorySegment time = a.allocate(16);
      time.set(ValueLayout.JAVA_LONG, 0, timeout.toSeconds());
      time.set(ValueLayout.JAVA_LONG, 8, Math.max(timeout.toSeconds() == 0 ? 1000 : 0, timeout.toMillisPart() * 1000L));
      int set = (int) SETSOCKOPT.invokeExact(errno, fd, SOL_SOCKET, SO_RCVTIMEO, time, 16);
      set |= (int) SETSOCKOPT.invokeExact(errno, fd, SOL_SOCKET, SO_SNDTIMEO, time, 16);
      if (set != 0 || (int) CONNECT.invokeExact(errno, fd, address, 110) != 0) {
        int e = (int) ERRNO.get(errno, 0L);
        close(fd);
        throw new IOException("cannot connect to " + socket + ": errno " + e);
      }
    } catch (IOException e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
    FdMonitor monitor = new FdMonitor(socket, fd);
    try {
      String greeting = monitor.readLine();
      if (!greeting.contains("\"QMP\"")) {
        throw new IOException("not a QMP greeting on " + socket + ": " + greeting);
      }
      monitor.call("qmp_capabilities", Map.of());
      return monitor;
    } catch (IOException | RuntimeException e) {
      monitor.close();
      throw e instanceof IOException io ? io : new IOException("QMP on " + socket + " did not answer: " + e.getMessage(), e);
    }
  }

  /** Runs a command; QEMU's error becomes a {@link QmpException}. */
  public synchronized JsonNode call(String command, Map<String, ?> arguments) {
    return send(command, arguments, -1);
  }

  /** Runs a command with {@code file} (an open descriptor of this process) attached; QEMU gets its own copy. */
  public synchronized JsonNode callWithFile(String command, Map<String, ?> arguments, int file) {
    return send(command, arguments, file);
  }

  private JsonNode send(String command, Map<String, ?> arguments, int file) {
    try {
      byte[] request = QmpClient.request(command, arguments, Optional.empty());
      sendMessage(request, file);
      while (true) {
        String reply = readLine();
        if (reply.startsWith("{\"timestamp\"")) {
          continue; // an event; the event monitor delivers them
        }
        JsonNode message = JSON.readTree(reply);
        if (message.has("error")) {
          throw new QmpException(command, message.path("error").path("class").asText(), message.path("error").path("desc").asText());
        }
        if (message.has("return")) {
          return message.get("return");
        }
      }
    } catch (IOException e) {
      throw new QmpException(command, "Disconnected", "QMP connection on " + socket + " lost: " + e.getMessage());
    }
  }

  private void sendMessage(byte[] request, int file) throws IOException {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment data = a.allocate(request.length);
      MemorySegment.copy(request, 0, data, ValueLayout.JAVA_BYTE, 0, request.length);
      MemorySegment iov = a.allocate(16);
      MemorySegment msg = a.allocate(56);
      long offset = 0;
      boolean first = true;
      while (offset < request.length) {
        iov.set(ValueLayout.ADDRESS, 0, data.asSlice(offset));
        iov.set(ValueLayout.JAVA_LONG, 8, request.length - offset);
        msg.fill((byte) 0);
        msg.set(ValueLayout.ADDRESS, 16, iov);
        msg.set(ValueLayout.JAVA_LONG, 24, 1);
        if (first && file >= 0) {
          // struct cmsghdr { size_t len; int level; int type; int fd; } padded to CMSG_SPACE(4) = 24
          MemorySegment control = a.allocate(24);
          control.set(ValueLayout.JAVA_LONG, 0, 20);
          control.set(ValueLayout.JAVA_INT, 8, SOL_SOCKET);
          control.set(ValueLayout.JAVA_INT, 12, SCM_RIGHTS);
          control.set(ValueLayout.JAVA_INT, 16, file);
          msg.set(ValueLayout.ADDRESS, 32, control);
          msg.set(ValueLayout.JAVA_LONG, 40, 24);
        }
        long n = (long) SENDMSG.invokeExact(capture, fd, msg, MSG_NOSIGNAL);
        if (n < 0) {
          throw new IOException("sendmsg failed: errno " + (int) ERRNO.get(capture, 0L));
        }
        first = false;
        offset += n;
      }
    } catch (IOException e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  private String readLine() throws IOException {
    while (true) {
      for (int i = 0; i < pending.length; i++) {
        if (pending[i] == '\n') {
          line.write(pending, 0, i);
          byte[] rest = java.util.Arrays.copyOfRange(pending, i + 1, pending.length);
          pending = rest;
          String text = line.toString(StandardCharsets.UTF_8);
          line.reset();
          return text;
        }
      }
      line.write(pending, 0, pending.length);
      if (line.size() > (16 << 20)) {
        throw new IOException("a QMP message longer than 16 MiB");
      }
      long n;
      try {
        n = (long) READ.invokeExact(capture, fd, buffer, buffer.byteSize());
      } catch (Throwable t) {
        throw new IllegalStateException(t);
      }
      if (n < 0) {
        int errno = (int) ERRNO.get(capture, 0L);
        throw new IOException(errno == 11 ? "no reply in time" : "read failed: errno " + errno);
      }
      if (n == 0) {
        throw new IOException("QMP connection closed");
      }
      pending = buffer.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
    }
  }

  /** Opens {@code file} in this process (close-on-exec) to hand to QEMU; the caller closes it. */
  public static int open(Path file, int flags, int mode) throws IOException {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment errno = a.allocate(CAPTURE);
      int fd = (int) OPEN.invokeExact(errno, a.allocateFrom(file.toString()), flags | O_CLOEXEC, mode);
      if (fd < 0) {
        throw new IOException("cannot open " + file + ": errno " + (int) ERRNO.get(errno, 0L));
      }
      return fd;
    } catch (IOException e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  public static void close(int fd) {
    try {
      int ignored = (int) CLOSE.invokeExact(fd);
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      close(fd);
      arena.close();
    }
  }
}
