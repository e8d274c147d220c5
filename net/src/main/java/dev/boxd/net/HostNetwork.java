package dev.boxd.net;

import dev.boxd.core.net.EgressTraffic;
import dev.boxd.core.net.Ipv4;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker's VM network: a namespace with a bridge carrying the gateway address, one tap per
 * VM, anti-spoofing and owner isolation in nftables, and an optional masqueraded uplink.
 * Every operation is idempotent so a restarted worker can simply run it again.
 */
public final class HostNetwork {
  private static final Logger log = LoggerFactory.getLogger(HostNetwork.class);
  /**
   * The port of the in-VM CLI's gateway on the gateway address. Isolated VMs may reach it only to
   * hear that they are refused (the gateway tells them why).
   */
  public static final int GUEST_CLI_PORT = 9002;
  /**
   * The port of the in-VM gRPC API (boxd.api.v1 without a token) on the gateway address. Isolated
   * VMs may reach it only to hear that they are refused, as on {@link #GUEST_CLI_PORT}.
   */
  public static final int GUEST_API_PORT = 9003;
  private final NetworkConfig config;
  private final NetworkNamespace ns;
  private FileChannel netDev; // guarded by this
  private ByteBuffer netDevBuffer = ByteBuffer.allocate(16384); // guarded by this

  public HostNetwork(NetworkConfig config) {
    this.config = config;
    this.ns = new NetworkNamespace(config.namespace());
  }

  public NetworkConfig config() {
    return config;
  }

  public NetworkNamespace namespace() {
    return ns;
  }

  /**
   * Creates (or re-checks) the namespace, bridge, gateway address, uplink and base rules, for the
   * server whose state is in {@code stateDir}: one server owns a namespace ({@link NamespaceOwner}).
   * A namespace of another server that still runs, or whose VMs still run in it, is refused
   * (FAILED_PRECONDITION, naming it, its owner and what to do); the leftovers of one that is gone
   * are removed first.
   */
  public void setUp(Path stateDir) {
    closeNetDev(); // the namespace may be a new one
    NamespaceOwner.claim(ns, stateDir);
    ns.create();
    String br = config.bridge();
    if (!ns.tryRun("ip", "link", "show", br).ok()) {
      ns.run("ip", "link", "add", br, "type", "bridge");
    }
    String gatewayCidr = config.subnet().cidrOf(config.subnet().gateway());
    if (!ns.run("ip", "-4", "addr", "show", "dev", br).stdout().contains(" " + gatewayCidr + " ")) {
      ns.run("ip", "addr", "add", gatewayCidr, "dev", br);
    }
    ns.run("ip", "link", "set", br, "up");
    // Where br_netfilter is loaded (Docker loads it), bridged frames would also pass the ip
    // family's forward hook, where the no-hairpin rule would drop VM-to-VM traffic of one owner.
    // The bridge table is the one place that filters bridged frames: switch that detour off.
    ns.tryRun("sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=0", "net.bridge.bridge-nf-call-ip6tables=0",
        "net.bridge.bridge-nf-call-arptables=0");
    config.uplink().ifPresentOrElse(uplink -> EgressLink.setUp(ns, uplink), () -> EgressLink.remove(ns));
    ns.nft("add table bridge " + NftRules.BRIDGE_TABLE + "\nadd table ip " + NftRules.IP_TABLE + "\n"
        + "delete table ip " + NftRules.IP_TABLE + "\n" + baseWithoutVmState() + NftRules.trafficBase()
        + NftRules.isolatedBase(config, GUEST_CLI_PORT, GUEST_API_PORT));
    dropElementsOfGoneTaps();
    dropIsolatedOfGoneTaps();
    log.info("VM network ready: namespace {}, bridge {}, gateway {}", ns.name(), br, config.subnet().gateway());
  }

  // A detach cut short (a crash) can leave a tap's name in its owner's set after the tap is gone;
  // a new VM given that address later would join the old owner's set. Drop such names now.
  private void dropElementsOfGoneTaps() {
    var listed = ns.tryRun("nft", "list", "sets", "bridge");
    if (!listed.ok()) {
      return;
    }
    List<String> taps = taps();
    StringBuilder script = new StringBuilder();
    for (String tap : NftRules.elementsOf(listed.stdout())) {
      if (!taps.contains(tap)) {
        script.append(NftRules.removeFromSets(NftRules.setsHolding(listed.stdout(), tap), tap));
      }
    }
    if (!script.isEmpty()) {
      log.warn("removing owner-set elements of taps that are gone from {}:\n{}", ns.name(), script);
      ns.nft(script.toString());
    }
  }

  // Same for the addresses of isolated VMs: a new VM given such an address would be held to their rules.
  private void dropIsolatedOfGoneTaps() {
    List<String> taps = taps();
    StringBuilder script = new StringBuilder();
    for (Ipv4 ip : isolatedAddresses()) {
      if (!taps.contains(VmNic.of(ip, "").tap())) {
        script.append(NftRules.unisolate(ip));
      }
    }
    if (!script.isEmpty()) {
      log.warn("removing isolated addresses of taps that are gone from {}:\n{}", ns.name(), script);
      ns.nft(script.toString());
    }
  }

  private List<Ipv4> isolatedAddresses() {
    var listed = ns.tryRun("nft", "list", "set", "ip", NftRules.ISOLATED_TABLE, "vms");
    return listed.ok() ? NftRules.isolatedIn(listed.stdout()) : List.of();
  }

  // The bridge table holds per-VM maps and chains that must survive a worker restart, so only
  // (re)create what is missing there; the ip table has no per-VM state and is replaced whole.
  private String baseWithoutVmState() {
    String base = NftRules.base(config);
    boolean bridgeTableExists = ns.run("nft", "list", "tables").stdout().contains("table bridge " + NftRules.BRIDGE_TABLE + "\n")
        && ns.tryRun("nft", "list", "map", "bridge", NftRules.BRIDGE_TABLE, "vm_source").ok();
    if (bridgeTableExists) {
      return base.substring(base.indexOf("table ip "));
    }
    return "delete table bridge " + NftRules.BRIDGE_TABLE + "\n" + base;
  }

  /** Creates the VM's tap on the bridge and its rules. QEMU then opens the tap by name. */
  public void attach(VmNic nic) {
    if (!ns.tryRun("ip", "link", "show", nic.tap()).ok()) {
      ns.run("ip", "tuntap", "add", "dev", nic.tap(), "mode", "tap");
    }
    ns.run("ip", "link", "set", nic.tap(), "master", config.bridge(), "up");
    if (!ns.tryRun("nft", "list", "counter", "bridge", NftRules.BRIDGE_TABLE, "spoof_" + nic.tap()).ok()) {
      ns.nft(NftRules.counters(nic));
    }
    ns.nft(staleMemberships(nic) + NftRules.attach(nic) + NftRules.traffic(nic, false) + isolation(nic));
  }

  // An isolated VM's address joins the set the input rules hold it to; a VM that is not isolated
  // leaves it, should a VM that had the address before have left it there.
  private String isolation(VmNic nic) {
    if (nic.isolated()) {
      return NftRules.isolate(nic);
    }
    return isolatedAddresses().contains(nic.ip()) ? NftRules.unisolate(nic.ip()) : "";
  }

  // The tap is named by the address: an owner set that still holds it (a VM that had the address
  // before, whose detach did not finish) would let that owner's VMs reach this one. Out first.
  // Only where the tap already exists: detach takes a tap out of its set before deleting it, and
  // setUp drops elements of taps that are gone, so a tap made afresh is in no set.
  private String staleMemberships(VmNic nic) {
    var listed = ns.tryRun("nft", "list", "sets", "bridge");
    if (!listed.ok()) {
      return "";
    }
    List<String> stale = new java.util.ArrayList<>(NftRules.setsHolding(listed.stdout(), nic.tap()));
    if (!nic.isolated()) {
      stale.remove(NftRules.ownerSet(nic.owner())); // an isolated VM belongs to no set, its owner's neither
    }
    if (!stale.isEmpty()) {
      log.warn("tap {} was still in the owner sets {}: removed before giving it to {}", nic.tap(), stale, nic.ip());
    }
    return NftRules.removeFromSets(stale, nic.tap());
  }

  /**
   * {@link #attach} for a VM whose tap and rules were never made (a new VM): three commands
   * instead of up to seven, since there is nothing to look for first. Each command is a process in
   * the namespace (~5–8 ms), on the path of {@code new}.
   */
  public void attachNew(VmNic nic) {
    if (!ns.tryRun("ip", "tuntap", "add", "dev", nic.tap(), "mode", "tap").ok()) {
      attach(nic); // it exists after all (debris of a VM that had this address): the careful way
      return;
    }
    ns.run("ip", "link", "set", nic.tap(), "master", config.bridge(), "up");
    ns.nft(NftRules.counters(nic) + NftRules.attach(nic) + NftRules.traffic(nic, true) + (nic.isolated() ? NftRules.isolate(nic) : ""));
  }

  /**
   * A tap for a VM that has no address yet (a warm VM waiting in the pool): on no bridge, so
   * nothing it sends goes anywhere. {@link #attachRenamed} later gives it its VM's name and rules.
   */
  public void createLoneTap(String tap) {
    if (!ns.tryRun("ip", "link", "show", tap).ok()) {
      ns.run("ip", "tuntap", "add", "dev", tap, "mode", "tap");
    }
  }

  /**
   * Renames a lone tap to {@code nic}'s and attaches it. The QEMU that holds the tap keeps it:
   * a tap is held by its file descriptor, not its name.
   */
  public void attachRenamed(String loneTap, VmNic nic) {
    ns.run("ip", "link", "set", "dev", loneTap, "name", nic.tap(), "master", config.bridge(), "up");
    ns.nft(NftRules.counters(nic) + NftRules.attach(nic) + NftRules.traffic(nic, true) + (nic.isolated() ? NftRules.isolate(nic) : ""));
  }

  /** Deletes a tap that was never attached; nothing if it is gone. */
  public void deleteLoneTap(String tap) {
    if (ns.tryRun("ip", "link", "show", tap).ok()) {
      ns.run("ip", "link", "delete", tap);
    }
  }

  /** Removes the VM's rules and tap; safe to call for a VM that was never (fully) attached. */
  public void detach(VmNic nic) {
    if (ns.tryRun("nft", "list", "chain", "bridge", NftRules.BRIDGE_TABLE, "src_" + nic.tap()).ok()) {
      ns.nft(NftRules.detach(nic));
    }
    if (ns.tryRun("nft", "list", "counter", "ip", NftRules.TRAFFIC_TABLE, NftRules.outCounter(nic)).ok()) {
      ns.nft(NftRules.detachTraffic(nic));
    }
    if (isolatedAddresses().contains(nic.ip())) {
      ns.nft(NftRules.unisolate(nic.ip()));
    }
    String set = NftRules.ownerSet(nic.owner());
    var listed = ns.tryRun("nft", "list", "set", "bridge", NftRules.BRIDGE_TABLE, set);
    if (listed.ok() && !listed.stdout().contains("elements")) {
      ns.tryRun("nft", "delete", "set", "bridge", NftRules.BRIDGE_TABLE, set);
    }
    if (ns.tryRun("ip", "link", "show", nic.tap()).ok()) {
      ns.run("ip", "link", "delete", nic.tap());
    }
  }

  /** Packets this VM tried to send with a MAC or IP not its own, all dropped. */
  public long spoofedPackets(VmNic nic) {
    return counterPackets("spoof_" + nic.tap());
  }

  /** Frames this VM sent toward another owner's VM, all dropped. */
  public long isolatedPackets(VmNic nic) {
    return counterPackets("isolate_" + nic.tap());
  }

  private static final Pattern PACKETS = Pattern.compile("packets (\\d+)");

  /**
   * What this VM exchanged with the internet through the uplink, in IP bytes each way (zero
   * without an uplink). The counts live in the namespace, so they outlive a worker's restart;
   * they start at zero when the VM is made and go when it is destroyed.
   */
  public EgressTraffic egressTraffic(VmNic nic) {
    Map<String, Long> bytes = trafficBytes();
    return new EgressTraffic(bytes.getOrDefault(NftRules.outCounter(nic), 0L), bytes.getOrDefault(NftRules.inCounter(nic), 0L));
  }

  /** Counts are read for all VMs at once and kept this long: `info` costs a process (nft) at most this often. */
  static final long TRAFFIC_FRESH_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(1);
  private static final Pattern COUNTER = Pattern.compile("counter\\s+(\\S+)\\s*\\{\\s*packets\\s+\\d+\\s+bytes\\s+(\\d+)");

  private record TrafficCounts(long readAtNanos, Map<String, Long> bytes) {}

  private volatile TrafficCounts traffic;
  private final Object trafficRead = new Object();

  // Callers at once share one read: the first reads, the others wait for it (16 at once each
  // spawning nft made one info take a second and a half).
  private Map<String, Long> trafficBytes() {
    TrafficCounts held = traffic;
    if (held != null && System.nanoTime() - held.readAtNanos() < TRAFFIC_FRESH_NANOS) {
      return held.bytes();
    }
    synchronized (trafficRead) {
      held = traffic;
      if (held != null && System.nanoTime() - held.readAtNanos() < TRAFFIC_FRESH_NANOS) {
        return held.bytes();
      }
      long readAt = System.nanoTime();
      var result = ns.tryRun("nft", "list", "counters", "table", "ip", NftRules.TRAFFIC_TABLE);
      Map<String, Long> bytes = new java.util.HashMap<>();
      if (result.ok()) {
        Matcher m = COUNTER.matcher(result.stdout());
        while (m.find()) {
          bytes.put(m.group(1), Long.parseLong(m.group(2)));
        }
      }
      traffic = new TrafficCounts(readAt, Map.copyOf(bytes));
      return traffic.bytes();
    }
  }

  private long counterPackets(String counter) {
    var result = ns.tryRun("nft", "list", "counter", "bridge", NftRules.BRIDGE_TABLE, counter);
    if (!result.ok()) {
      return 0;
    }
    Matcher m = PACKETS.matcher(result.stdout());
    return m.find() ? Long.parseLong(m.group(1)) : 0;
  }

  /**
   * Calls {@code onFirstFrame} once when the first frame for this VM (unicast to its MAC, or an
   * ARP request for its IP) reaches its tap, for a VM whose QEMU holds the tap but does not read
   * it (standby). See {@link InboundWatch}; close the watch before detaching the VM.
   */
  public InboundWatch watchInbound(VmNic nic, Runnable onFirstFrame) {
    return watchInbound(nic, false, onFirstFrame);
  }

  /**
   * As {@link #watchInbound(VmNic, Runnable)}; with {@code holdTap}, for a VM without a QEMU
   * (hibernated), the watch opens the tap itself so the bridge delivers to it, and keeps the
   * frames from the first one for the VM on. {@link InboundWatch#release()} returns them and
   * frees the tap: call it before QEMU opens the tap, then {@link #deliver} them.
   */
  public InboundWatch watchInbound(VmNic nic, boolean holdTap, Runnable onFirstFrame) {
    try {
      return InboundWatch.start(ns, nic, holdTap, onFirstFrame);
    } catch (IOException e) {
      throw new UncheckedIOException("watching the tap of " + nic.ip() + ": " + e.getMessage(), e);
    }
  }

  /**
   * Sends frames out of the VM's tap toward the VM, as if the bridge had just delivered them:
   * they queue in the tap for the QEMU that holds it (typically the frames an
   * {@link InboundWatch} kept while the VM had no QEMU). Call it once QEMU holds the tap: a tap
   * without carrier drops them silently. The nftables rules are not applied again: these frames
   * passed them on their way to the tap.
   */
  public void deliver(VmNic nic, List<byte[]> frames) {
    if (frames.isEmpty()) {
      return;
    }
    try (Libc.Fd socket = LinuxNamespaces.inNetworkNamespace(ns.path(), () -> Libc.packetSocket(nic.tap()));
        Arena arena = Arena.ofConfined()) {
      for (byte[] frame : frames) {
        Libc.send(socket, arena.allocateFrom(ValueLayout.JAVA_BYTE, frame));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("delivering to the tap of " + nic.ip() + ": " + e.getMessage(), e);
    }
  }

  /**
   * Frames the VM has taken from its tap since the tap was made: the tap's transmit packet
   * counter ({@code tx_packets}), which the tun driver counts when the tap's reader (QEMU, or a
   * holding {@link InboundWatch}) reads a frame, not when the bridge queues one. A stopped QEMU
   * reads nothing, so the count moves only while the VM runs and receives; frames dropped at a
   * full tap queue or while no one holds the tap are not counted. 0 when there is no such tap.
   * One {@code pread} of the namespace's {@code /proc/net/dev}, no process: cheap to poll.
   */
  public long inboundFrames(VmNic nic) {
    String dev = readNetDev();
    for (String line : dev.lines().toList()) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).trim().equals(nic.tap())) {
        // Receive: bytes packets errs drop fifo frame compressed multicast; Transmit: bytes packets ...
        return Long.parseLong(line.substring(colon + 1).trim().split("\\s+")[9]);
      }
    }
    return 0;
  }

  // /proc/net/dev shows the network namespace of whoever opens it: opened from a thread inside
  // the VM namespace, the file stays bound to that namespace, and each read from offset 0
  // renders it afresh. /sys/class/net would not do: sysfs shows the namespace it was mounted in.
  private synchronized String readNetDev() {
    try {
      if (netDev == null) {
        netDev = LinuxNamespaces.inNetworkNamespace(ns.path(),
            () -> FileChannel.open(Path.of("/proc/thread-self/net/dev"), StandardOpenOption.READ));
      }
      ByteBuffer buffer = netDevBuffer;
      buffer.clear();
      long position = 0;
      int n;
      while ((n = netDev.read(buffer, position)) > 0) {
        position += n;
        if (!buffer.hasRemaining()) {
          netDevBuffer = ByteBuffer.allocate(buffer.capacity() * 2).put(buffer.flip());
          buffer = netDevBuffer;
        }
      }
      return new String(buffer.array(), 0, buffer.position(), StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new UncheckedIOException("reading /proc/net/dev of " + ns.name(), e);
    }
  }

  private synchronized void closeNetDev() {
    if (netDev != null) {
      try {
        netDev.close();
      } catch (IOException ignored) {
        // a read-only file
      }
      netDev = null;
    }
  }

  /** Names of taps present in the namespace (for leak checks and recovery). */
  public List<String> taps() {
    var out = ns.tryRun("ip", "-o", "link", "show", "type", "tun");
    if (!out.ok()) {
      return List.of();
    }
    return out.stdout().lines().map(l -> l.split(":")[1].trim().split("@")[0]).toList();
  }

  /**
   * Everything this network added to the host: the namespace (and with it bridge, taps, rules) and
   * the uplink with the host's rules for it.
   */
  public void tearDown() {
    closeNetDev();
    config.uplink().ifPresent(u -> {
      if (u.toTheHost()) {
        EgressLink.removeHostEnd(u.peerDevice());
      }
    });
    ns.delete();
    NamespaceOwner.release(ns.name());
  }
}
