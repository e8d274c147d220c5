package dev.boxd.net;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The few Linux calls the inbound watch needs (packet sockets, taps, poll, eventfd), through
 * FFM. Every call captures errno and turns a failure into an {@link IOException}. Numbers and
 * struct layouts are those of x86_64/aarch64 Linux.
 */
final class Libc {
  static final int AF_PACKET = 17;
  static final int SOCK_RAW = 3;
  static final int SOCK_CLOEXEC = 0x80000;
  static final int O_RDWR = 2;
  static final int O_CLOEXEC = 0x80000;
  static final int EFD_CLOEXEC = 0x80000;
  static final short POLLIN = 0x1;
  /** sockaddr_ll.sll_pkttype of a frame the device transmits (for a tap: toward the VM). */
  static final int PACKET_OUTGOING = 4;
  private static final short ETH_P_ALL = 0x0003;
  /** _IOW('T', 202, int): attach this fd to the tun/tap device named in the ifreq. */
  private static final long TUNSETIFF = 0x400454caL;
  private static final short IFF_TAP = 0x0002;
  private static final short IFF_NO_PI = 0x1000;
  private static final int EINTR = 4;

  /**
   * struct sockaddr_ll (20 bytes): u16 family (host order), be16 protocol, i32 ifindex,
   * u16 hatype, u8 pkttype, u8 halen, u8 addr[8].
   */
  static final long SOCKADDR_LL_SIZE = 20;
  static final long SLL_PKTTYPE = 10;
  /** struct ifreq is 40 bytes: char ifr_name[16], then a union whose ifr_flags is a short. */
  private static final long IFREQ_SIZE = 40;
  private static final long IFR_FLAGS = 16;
  /** struct pollfd (8 bytes): i32 fd, i16 events, i16 revents. */
  static final long POLLFD_SIZE = 8;

  private static final Linker LINKER = Linker.nativeLinker();
  private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
  private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
  private static final MethodHandle SOCKET = call("socket", JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT);
  private static final MethodHandle BIND = call("bind", JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT);
  private static final MethodHandle RECVFROM = call("recvfrom", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS);
  private static final MethodHandle SEND = call("send", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT);
  private static final MethodHandle READ = call("read", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
  private static final MethodHandle WRITE = call("write", JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
  private static final MethodHandle POLL = call("poll", JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT);
  private static final MethodHandle OPEN = call("open", JAVA_INT, ADDRESS, JAVA_INT);
  private static final MethodHandle CLOSE = call("close", JAVA_INT, JAVA_INT);
  private static final MethodHandle EVENTFD = call("eventfd", JAVA_INT, JAVA_INT, JAVA_INT);
  private static final MethodHandle IF_NAMETOINDEX = call("if_nametoindex", JAVA_INT, ADDRESS);
  // ioctl(int, unsigned long, ...) is variadic: the third argument is passed as a variadic one.
  private static final MethodHandle IOCTL = LINKER.downcallHandle(LINKER.defaultLookup().find("ioctl").orElseThrow(),
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), Linker.Option.firstVariadicArg(2),
      Linker.Option.captureCallState("errno"));
  private static final MethodHandle STRERROR = LINKER.downcallHandle(LINKER.defaultLookup().find("strerror").orElseThrow(),
      FunctionDescriptor.of(ADDRESS, JAVA_INT));

  private Libc() {}

  /** A file descriptor; closing it is idempotent. */
  static final class Fd implements AutoCloseable {
    private final int value;
    private boolean closed;

    Fd(int value) {
      this.value = value;
    }

    int value() {
      return value;
    }

    @Override
    public synchronized void close() {
      if (!closed) {
        closed = true;
        Libc.close(value);
      }
    }
  }

  private static MethodHandle call(String name, MemoryLayout result, MemoryLayout... args) {
    return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), FunctionDescriptor.of(result, args),
        Linker.Option.captureCallState("errno"));
  }

  /**
   * A raw packet socket seeing every frame that crosses {@code ifname}, in both directions, in the
   * calling thread's network namespace. The socket is made with protocol 0 (receiving nothing)
   * and only then bound with ETH_P_ALL to the one interface, so it never sees another device's
   * frames.
   */
  static Fd packetSocket(String ifname) throws IOException {
    int ifindex = (int) invoke("if_nametoindex " + ifname, (state, arena) -> (int) IF_NAMETOINDEX.invokeExact(state, arena.allocateFrom(ifname)));
    if (ifindex == 0) {
      throw new IOException("no interface " + ifname);
    }
    var fd = new Fd((int) invoke("socket(AF_PACKET)", (state, arena) -> (int) SOCKET.invokeExact(state, AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0)));
    try {
      invoke("bind to " + ifname, (state, arena) -> {
        MemorySegment sll = arena.allocate(SOCKADDR_LL_SIZE);
        sll.set(JAVA_SHORT, 0, (short) AF_PACKET);
        sll.set(JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN), 2, ETH_P_ALL); // htons(ETH_P_ALL)
        sll.set(JAVA_INT, 4, ifindex);
        return (int) BIND.invokeExact(state, fd.value(), sll, (int) SOCKADDR_LL_SIZE);
      });
      return fd;
    } catch (IOException | RuntimeException e) {
      fd.close();
      throw e;
    }
  }

  /**
   * Opens the existing tap {@code name} of the calling thread's network namespace as QEMU does
   * ({@code -netdev tap,ifname=}): {@code /dev/net/tun} attached with TUNSETIFF, IFF_TAP and no
   * packet-information header, so each read is one Ethernet frame. A tap made without
   * multi_queue accepts one opener: this fails (EBUSY) while another holds it. The namespace
   * matters: the device is looked up in the one that was current when /dev/net/tun was opened.
   */
  static Fd openTap(String name) throws IOException {
    byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
    if (bytes.length > 15) {
      throw new IOException("interface name too long: " + name);
    }
    var fd = new Fd((int) invoke("open /dev/net/tun",
        (state, arena) -> (int) OPEN.invokeExact(state, arena.allocateFrom("/dev/net/tun"), O_RDWR | O_CLOEXEC)));
    try {
      invoke("TUNSETIFF " + name, (state, arena) -> {
        MemorySegment ifreq = arena.allocate(IFREQ_SIZE);
        MemorySegment.copy(bytes, 0, ifreq, JAVA_BYTE, 0, bytes.length);
        ifreq.set(JAVA_SHORT, IFR_FLAGS, (short) (IFF_TAP | IFF_NO_PI));
        return (int) IOCTL.invokeExact(state, fd.value(), TUNSETIFF, ifreq);
      });
      return fd;
    } catch (IOException | RuntimeException e) {
      fd.close();
      throw e;
    }
  }

  /** An eventfd: writing it makes a poll on it return, to wake a thread blocked in poll. */
  static Fd eventFd() throws IOException {
    return new Fd((int) invoke("eventfd", (state, arena) -> (int) EVENTFD.invokeExact(state, 0, EFD_CLOEXEC)));
  }

  /** Adds one to an eventfd. */
  static void signal(Fd eventFd) throws IOException {
    invoke("write eventfd", (state, arena) -> (long) WRITE.invokeExact(state, eventFd.value(), arena.allocateFrom(JAVA_LONG, 1L), 8L));
  }

  /** poll(2), retried on EINTR; returns the number of ready entries (0 on timeout). */
  static int poll(MemorySegment pollfds, int count, int timeoutMillis) throws IOException {
    while (true) {
      try {
        return (int) invoke("poll", (state, arena) -> (int) POLL.invokeExact(state, pollfds, (long) count, timeoutMillis));
      } catch (ErrnoException e) {
        if (e.errno != EINTR) {
          throw e;
        }
      }
    }
  }

  /** recvfrom(2) into {@code buffer} (a longer frame is truncated), filling {@code sockaddrLl}. */
  static long recvFrom(Fd fd, MemorySegment buffer, MemorySegment sockaddrLl, MemorySegment addressLength) throws IOException {
    addressLength.set(JAVA_INT, 0, (int) sockaddrLl.byteSize());
    return invoke("recvfrom", (state, arena) -> (long) RECVFROM.invokeExact(state, fd.value(), buffer, buffer.byteSize(), 0, sockaddrLl, addressLength));
  }

  /** read(2): for a tap, one whole frame. */
  static long read(Fd fd, MemorySegment buffer) throws IOException {
    return invoke("read", (state, arena) -> (long) READ.invokeExact(state, fd.value(), buffer, buffer.byteSize()));
  }

  /** write(2): for a tap, one frame entering the host from the VM's side. */
  static long write(Fd fd, MemorySegment buffer) throws IOException {
    return invoke("write", (state, arena) -> (long) WRITE.invokeExact(state, fd.value(), buffer, buffer.byteSize()));
  }

  /** send(2) on a bound packet socket: the frame leaves through the bound interface as is. */
  static long send(Fd fd, MemorySegment frame) throws IOException {
    return invoke("send", (state, arena) -> (long) SEND.invokeExact(state, fd.value(), frame, frame.byteSize(), 0));
  }

  private static void close(int fd) {
    try {
      invoke("close", (state, arena) -> (int) CLOSE.invokeExact(state, fd));
    } catch (IOException e) {
      // close(2) releases the descriptor even when it reports an error
    }
  }

  /** A failed call and its errno. */
  static final class ErrnoException extends IOException {
    final int errno;

    ErrnoException(String what, int errno) {
      super(what + ": " + strerror(errno) + " (errno " + errno + ")");
      this.errno = errno;
    }
  }

  @FunctionalInterface
  private interface Call {
    /** Invokes a downcall with {@code state} as its captured call state; {@code arena} lives as long as the call. */
    long invoke(MemorySegment state, Arena arena) throws Throwable;
  }

  private static long invoke(String what, Call call) throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(CALL_STATE);
      long result = call.invoke(state, arena);
      if (result < 0) {
        throw new ErrnoException(what, (int) ERRNO.get(state, 0L));
      }
      return result;
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable e) {
      throw new IllegalStateException(e);
    }
  }

  private static String strerror(int errno) {
    try {
      return ((MemorySegment) STRERROR.invokeExact(errno)).reinterpret(256).getString(0);
    } catch (Throwable e) {
      return "error";
    }
  }
}
