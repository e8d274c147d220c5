package dev.boxd.worker.runtime;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxd.core.net.Ipv4;
import dev.boxd.core.net.Ipv4Subnet;
import dev.boxd.net.HostNetwork;
import dev.boxd.vmm.Disks;
import dev.boxd.vmm.Golden;
import dev.boxd.core.MachineShape;
import dev.boxd.vmm.QemuDriver;
import dev.boxd.vmm.QemuVm;
import dev.boxd.vmm.agent.AgentClient;
import dev.boxd.vmm.agent.ExecRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * VMs restored from a golden ahead of demand, run once and frozen, for {@code create} to take.
 *
 * <p>Why: a freshly restored QEMU meets every guest code path for the first time. Under TCG each
 * one is translated first, so the identity took 250–350 ms and the first command another
 * ~250 ms, against ~30–50 ms each in a VM that has run them once (measured, 1 vCPU, TCG). A
 * waiting VM has already taken a placeholder identity and run a command, so taking one costs a
 * resume, the real identity and its tap's rules. Under KVM the gap is far smaller, but a restore
 * still moves off the path of {@code new}.
 *
 * <p>A waiting VM lives in {@code vms/pool-<hex>/} with {@link #MARKER} where a VM has
 * {@code vm.json}; its tap is on no bridge and its placeholder address (TEST-NET-1) reaches
 * nothing. Taken, the directory keeps its name and becomes the VM's ({@code vm.json} names the
 * id): QEMU holds paths into it. Left by a supervisor that died, waiting VMs are removed by
 * {@link #removeLeftovers} before recovery.
 */
final class WarmPool implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WarmPool.class);
  static final String MARKER = "pool.json";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Duration AGENT_TIMEOUT = Duration.ofSeconds(60);
  /** Lets a VM just taken run its first commands before the next restore competes for the CPU. */
  private static final Duration SETTLE = Duration.ofSeconds(1);
  private static final Duration RETRY = Duration.ofSeconds(30);
  private static final Ipv4Subnet PLACEHOLDER_NET = Ipv4Subnet.parse("192.0.2.0/24");

  /** A VM waiting to be taken: frozen, with a placeholder identity and a lone tap. */
  record Entry(VmDirectory files, String tap, Golden golden, QemuVm qemu) {}

  /** {@link #MARKER}'s content: the tap to remove with the directory, and whether the VM waits ready. */
  private record Marker(String tap, boolean ready) {}

  private final Path vmsDir;
  private final QemuDriver driver;
  private final HostNetwork network;
  private final Function<MachineShape, Golden> goldens;
  private final Optional<String> platformKey;
  private final MachineShape shape;
  private final int size;
  private final Deque<Entry> waiting = new ArrayDeque<>();
  private long lastTakenNanos = System.nanoTime() - SETTLE.toNanos();
  private boolean closed;
  private final Thread filler;

  WarmPool(Path vmsDir, QemuDriver driver, HostNetwork network, Function<MachineShape, Golden> goldens, Optional<String> platformKey,
      MachineShape shape, int size) {
    this.vmsDir = vmsDir;
    this.driver = driver;
    this.network = network;
    this.goldens = goldens;
    this.platformKey = platformKey;
    this.shape = shape;
    this.size = size;
    this.filler = Thread.ofPlatform().daemon().name("warm-pool").unstarted(this::fillLoop);
  }

  WarmPool start() {
    filler.start();
    return this;
  }

  /** A waiting VM of this shape over this golden, if one is ready; the pool then makes another. */
  Optional<Entry> take(MachineShape wanted, Golden golden) {
    while (true) {
      Entry entry;
      synchronized (this) {
        if (!wanted.equals(shape) || waiting.isEmpty()) {
          return Optional.empty();
        }
        entry = waiting.poll();
        lastTakenNanos = System.nanoTime();
        notifyAll();
      }
      if (entry.golden().equals(golden) && entry.qemu().isAlive()) {
        return Optional.of(entry);
      }
      log.info("dropping warm VM {}: {}", entry.files().dir().getFileName(), entry.qemu().isAlive() ? "its golden is not current" : "its QEMU is gone");
      discard(entry);
    }
  }

  /** Called once {@code vm.json} is written: the directory is a VM's now, no longer a waiting one's. */
  static void handedOver(Entry entry) {
    try {
      Files.delete(entry.files().dir().resolve(MARKER));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove " + MARKER + " of " + entry.files().dir() + ": " + e.getMessage(), e);
    }
  }

  /** Puts back a VM taken for a create that was refused before using it (a name or address taken). */
  void giveBack(Entry entry) {
    synchronized (this) {
      if (!closed) {
        waiting.addFirst(entry);
        return;
      }
    }
    discard(entry);
  }

  synchronized int waitingCount() {
    return waiting.size();
  }

  /** Stops making VMs and removes every waiting one. */
  @Override
  public void close() {
    List<Entry> left;
    synchronized (this) {
      closed = true;
      left = List.copyOf(waiting);
      waiting.clear();
      notifyAll();
    }
    filler.interrupt();
    try {
      filler.join(Duration.ofSeconds(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    left.forEach(this::discard);
  }

  private void fillLoop() {
    while (true) {
      synchronized (this) {
        try {
          while (!closed && (waiting.size() >= size || System.nanoTime() - lastTakenNanos < SETTLE.toNanos())) {
            long settleLeft = SETTLE.toMillis() - (System.nanoTime() - lastTakenNanos) / 1_000_000;
            wait(waiting.size() >= size ? 0 : Math.max(1, settleLeft));
          }
        } catch (InterruptedException e) {
          return;
        }
        if (closed) {
          return;
        }
      }
      try {
        Entry entry = make();
        synchronized (this) {
          if (!closed) {
            waiting.add(entry);
            continue;
          }
        }
        discard(entry);
        return;
      } catch (RuntimeException e) {
        if (Thread.currentThread().isInterrupted()) {
          return;
        }
        log.warn("making a warm VM failed (next try in {} s): {}", RETRY.toSeconds(), e.getMessage());
        try {
          Thread.sleep(RETRY);
        } catch (InterruptedException interrupted) {
          return;
        }
      }
    }
  }

  private Entry make() {
    long t0 = System.nanoTime();
    Golden golden = goldens.apply(shape);
    byte[] random = new byte[4];
    RANDOM.nextBytes(random);
    String hex = HexFormat.of().formatHex(random);
    VmDirectory files = new VmDirectory(vmsDir.resolve("pool-" + hex));
    String tap = "bxp" + hex;
    Entry entry = new Entry(files, tap, golden, null);
    try {
      Files.createDirectories(files.dir());
      JSON.writeValue(files.dir().resolve(MARKER).toFile(), new Marker(tap, false));
      files.generateHostKey("root@boxd");
      Disks.createOverlay(golden.disk(), "qcow2", files.disk(), Disks.STANDARD_SIZE);
      network.createLoneTap(tap);
      Ipv4 placeholder = PLACEHOLDER_NET.gateway().plus(1);
      QemuVm qemu = driver.restore(new QemuDriver.Machine("boxd-pool-" + hex, shape, files.runDir(), files.disk(), Optional.of(tap),
          placeholder.derivedMac()), golden, network.namespace().enterPrefix());
      entry = new Entry(files, tap, golden, qemu);
      AgentClient agent = qemu.agent(AGENT_TIMEOUT);
      var record = new VmDirectory.Record("pool-" + hex, "pool-" + hex, "", shape.vcpus(), shape.memoryMib(), placeholder.toString(),
          VmDirectory.newMachineId(), golden.dir().toString(), golden.ramFile().toString(), golden.image().dir().toString(), true,
          files.disk().toString(), List.of(), null);
      agent.identity(GuestIdentity.of(record, files, PLACEHOLDER_NET, platformKey), AGENT_TIMEOUT);
      for (int i = 0; i < 2; i++) { // the first run is the cold one
        agent.run(ExecRequest.of("true"), AGENT_TIMEOUT).orThrow("warming up");
      }
      qemu.pause();
      JSON.writeValue(files.dir().resolve(MARKER).toFile(), new Marker(tap, true));
      log.info("warm VM {} ready in {} ms", files.dir().getFileName(), (System.nanoTime() - t0) / 1_000_000);
      return entry;
    } catch (IOException e) {
      discard(entry);
      throw new UncheckedIOException(e);
    } catch (RuntimeException e) {
      discard(entry);
      throw e;
    }
  }

  /** Ends a waiting VM's QEMU and removes its tap and directory. */
  private void discard(Entry entry) {
    if (entry.qemu() != null) {
      entry.qemu().kill();
      entry.qemu().close();
    }
    entry.files().killRecordedQemu();
    network.deleteLoneTap(entry.tap());
    dev.boxd.os.Trees.delete(entry.files().dir());
  }

  /**
   * Removes the waiting VMs of a supervisor that is gone (their QEMU, tap and directory); a
   * directory that became a VM's just before then only loses its marker.
   */
  static void removeLeftovers(Path vmsDir, HostNetwork network) {
    if (!Files.isDirectory(vmsDir)) {
      return;
    }
    try (var dirs = Files.list(vmsDir)) {
      for (Path dir : dirs.toList()) {
        Path marker = dir.resolve(MARKER);
        if (!Files.exists(marker)) {
          continue;
        }
        VmDirectory files = new VmDirectory(dir);
        if (files.exists()) {
          Files.delete(marker);
          continue;
        }
        files.killRecordedQemu();
        try {
          network.deleteLoneTap(JSON.readValue(marker.toFile(), Marker.class).tap());
        } catch (IOException unreadable) {
          log.warn("unreadable {}; its tap, if any, stays: {}", marker, unreadable.getMessage());
        }
        dev.boxd.os.Trees.delete(dir);
        log.info("removed warm VM {} left by an earlier supervisor", dir.getFileName());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + vmsDir, e);
    }
  }
}
