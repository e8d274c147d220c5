package dev.boxd.net;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Calls back, once, when the first frame for one VM reaches its tap: how a VM that is not
 * running (standby or hibernated) learns that someone wants it. "For this VM" means unicast to
 * its MAC, or an ARP request for its IP; broadcasts for other VMs, frames for other MACs flooded
 * by the bridge and the VM's own frames do not count.
 *
 * <p>Two modes, chosen by who holds the tap:
 * <ul>
 *   <li><b>The VMM holds it</b> (standby: QEMU stopped, not reading). A packet socket bound to
 *   the tap sees a copy of every frame the tap transmits toward the VM ({@code PACKET_OUTGOING});
 *   the frames themselves stay queued in the tap for QEMU to read once it runs again. Start the
 *   watch <em>before</em> stopping the VM: a frame queued between the stop and the watch would
 *   otherwise go unseen. A frame while the VM still runs fires the watch too; the caller then
 *   simply finds the VM running. The watch ends by itself after firing.
 *   <li><b>Nobody holds it</b> (hibernated: no QEMU). A tap no one has open has no carrier and
 *   the bridge delivers nothing to it, so the watch opens the tap itself (as QEMU would) and
 *   reads what arrives. From the first frame for the VM on, frames are kept (up to
 *   {@value #MAX_KEPT_FRAMES}) and {@link #release()} hands them back, so the caller can give them
 *   to the VM with {@link HostNetwork#deliver} once its QEMU holds the tap: the SYN or ARP
 *   request that woke it is answered without waiting for the sender's retry. The tap must be
 *   released before QEMU opens it (a tap accepts one opener).
 * </ul>
 *
 * <p>One platform thread per watch blocks in {@code poll} on the frame descriptor and an eventfd;
 * {@link #close()} writes the eventfd, so the thread ends at once and closes both descriptors.
 * The callback runs on that thread and should only hand the wake-up over. If the watch fails
 * (the tap vanished, say) it calls back as well: better a VM woken for nothing than one that
 * never wakes.
 */
public final class InboundWatch implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(InboundWatch.class);
  static final int MAX_KEPT_FRAMES = 256;
  // A packet-socket copy is only filtered, so the headers are enough (the rest is cut off);
  // a frame read from a held tap is kept whole (MTU 1500 without offloads; 64 KiB is ample).
  private static final int HEADERS = 128;
  private static final int WHOLE_FRAME = 65536;
  private static final int ETH_HEADER = 14;
  private static final int ETHERTYPE_ARP = 0x0806;
  private static final int ARP_REQUEST = 1;
  private static final int ARP_FRAME = ETH_HEADER + 28;

  private final String tap;
  private final byte[] mac;
  private final byte[] ip;
  private final boolean holdsTap;
  private final Libc.Fd frames;
  private final Libc.Fd wake;
  private final Runnable onFirstFrame;
  private final Thread thread;
  private final Object fdLock = new Object();
  private boolean fdsOpen = true; // guarded by fdLock
  private volatile boolean closing;
  private volatile boolean fired;
  private final List<byte[]> kept = new ArrayList<>(); // the watch thread's until it ends

  private InboundWatch(VmNic nic, boolean holdsTap, Libc.Fd frames, Libc.Fd wake, Runnable onFirstFrame) {
    this.tap = nic.tap();
    this.mac = HexFormat.ofDelimiter(":").parseHex(nic.mac());
    int bits = nic.ip().bits();
    this.ip = new byte[] {(byte) (bits >>> 24), (byte) (bits >>> 16), (byte) (bits >>> 8), (byte) bits};
    this.holdsTap = holdsTap;
    this.frames = frames;
    this.wake = wake;
    this.onFirstFrame = onFirstFrame;
    this.thread = Thread.ofPlatform().daemon().name("inbound-" + tap).unstarted(this::run);
  }

  /**
   * Starts watching {@code nic}'s tap in {@code namespace}. With {@code holdTap} the watch opens
   * the tap itself (nobody else may hold it; fails with EBUSY if QEMU does) and keeps it until
   * {@link #release()} or {@link #close()}.
   */
  static InboundWatch start(NetworkNamespace namespace, VmNic nic, boolean holdTap, Runnable onFirstFrame) throws IOException {
    Libc.Fd frames;
    try {
      frames = LinuxNamespaces.inNetworkNamespace(namespace.path(),
          () -> holdTap ? Libc.openTap(nic.tap()) : Libc.packetSocket(nic.tap()));
    } catch (IllegalStateException e) {
      if (e.getCause() instanceof IOException io) {
        throw io;
      }
      throw e;
    }
    Libc.Fd wake;
    try {
      wake = Libc.eventFd();
    } catch (IOException e) {
      frames.close();
      throw e;
    }
    var watch = new InboundWatch(nic, holdTap, frames, wake, onFirstFrame);
    watch.thread.start();
    return watch;
  }

  /** Whether the first frame for the VM has been seen (and the callback called). */
  public boolean fired() {
    return fired;
  }

  /**
   * Stops watching, ends the thread and releases the tap if the watch held it; returns the frames
   * kept from the first one for the VM on (none for a watch that did not hold the tap). After
   * this, QEMU may open the tap. Called from the callback itself, it returns what was kept so far.
   */
  public List<byte[]> release() {
    closing = true;
    synchronized (fdLock) {
      if (fdsOpen) {
        try {
          Libc.signal(wake);
        } catch (IOException e) {
          log.warn("cannot wake the inbound watch of {}: {}", tap, e.getMessage());
        }
      }
    }
    if (Thread.currentThread() != thread) {
      joinUninterruptibly();
    }
    return List.copyOf(kept);
  }

  /** {@link #release()}, dropping the kept frames. */
  @Override
  public void close() {
    release();
  }

  private void joinUninterruptibly() {
    boolean interrupted = false;
    while (true) {
      try {
        thread.join();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  private void run() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment pollfds = arena.allocate(2 * Libc.POLLFD_SIZE);
      pollfds.set(JAVA_INT, 0, frames.value());
      pollfds.set(JAVA_SHORT, 4, Libc.POLLIN);
      pollfds.set(JAVA_INT, Libc.POLLFD_SIZE, wake.value());
      pollfds.set(JAVA_SHORT, Libc.POLLFD_SIZE + 4, Libc.POLLIN);
      MemorySegment buffer = arena.allocate(holdsTap ? WHOLE_FRAME : HEADERS);
      MemorySegment from = arena.allocate(Libc.SOCKADDR_LL_SIZE);
      MemorySegment fromLength = arena.allocate(JAVA_INT);
      while (!closing) {
        Libc.poll(pollfds, 2, -1);
        if (closing || pollfds.get(JAVA_SHORT, Libc.POLLFD_SIZE + 6) != 0) {
          return;
        }
        if (pollfds.get(JAVA_SHORT, 6) == 0) {
          continue;
        }
        // The only frames a held tap yields are the ones going to the VM; a packet socket also
        // sees what the VM sends, which comes in (PACKET_HOST, _BROADCAST, ...), not out.
        long length;
        if (holdsTap) {
          length = Libc.read(frames, buffer);
        } else {
          length = Math.min(Libc.recvFrom(frames, buffer, from, fromLength), buffer.byteSize());
          if (from.get(JAVA_BYTE, Libc.SLL_PKTTYPE) != Libc.PACKET_OUTGOING) {
            continue;
          }
        }
        if (fired) {
          keep(buffer, length);
        } else if (isForVm(buffer, length)) {
          fired = true;
          if (holdsTap) {
            keep(buffer, length);
          }
          callBack();
          if (!holdsTap) {
            return;
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      if (!closing) {
        log.warn("inbound watch of {} failed, waking the VM: {}", tap, e.getMessage());
        if (!fired) {
          fired = true;
          callBack();
        }
      }
    } finally {
      synchronized (fdLock) {
        fdsOpen = false;
        frames.close();
        wake.close();
      }
    }
  }

  private void keep(MemorySegment buffer, long length) {
    if (kept.size() < MAX_KEPT_FRAMES) {
      kept.add(buffer.asSlice(0, length).toArray(JAVA_BYTE));
    }
  }

  private void callBack() {
    try {
      onFirstFrame.run();
    } catch (RuntimeException e) {
      log.warn("inbound callback of {} failed", tap, e);
    }
  }

  /** Unicast to the VM's MAC, or an ARP request (to anyone) asking for the VM's IP. */
  private boolean isForVm(MemorySegment frame, long length) {
    if (length < ETH_HEADER) {
      return false;
    }
    if (MemorySegment.mismatch(frame, 0, 6, MemorySegment.ofArray(mac), 0, 6) == -1) {
      return true;
    }
    // ARP for IPv4 over Ethernet: after the Ethernet header, htype(2) ptype(2) hlen(1) plen(1)
    // oper(2) sha(6) spa(4) tha(6) tpa(4): the operation is at 20, the target IP at 38.
    return length >= ARP_FRAME
        && unsignedShort(frame, 12) == ETHERTYPE_ARP
        && unsignedShort(frame, ETH_HEADER + 6) == ARP_REQUEST
        && MemorySegment.mismatch(frame, ETH_HEADER + 24, ETH_HEADER + 28, MemorySegment.ofArray(ip), 0, 4) == -1;
  }

  private static int unsignedShort(MemorySegment frame, long offset) {
    return ((frame.get(JAVA_BYTE, offset) & 0xff) << 8) | (frame.get(JAVA_BYTE, offset + 1) & 0xff);
  }
}
