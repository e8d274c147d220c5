package dev.boxd.dns;

import dev.boxd.core.net.Ipv4;
import dev.boxd.core.state.AcmeChallenge;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.DesiredPower;
import dev.boxd.core.state.Vm;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Instant;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.TextParseException;

/**
 * What the zone holds at one state of the replica, indexed for answering: every VM name not
 * destroyed with its public address, the ACME challenges in the zone, and the zone's own SOA and NS
 * records. Immutable, so a query costs hash lookups only. Built for each state the dns role
 * answers from: {@link #next} reuses the maps of the state before when no VM came, went, was
 * destroyed or moved and no challenge changed (most entries: workers' reports), which costs a
 * pass over the VMs without allocating; otherwise it indexes anew.
 *
 * <p>The log refuses a VM name that a live VM of another account holds (names are public host
 * names), but a log written before that rule may hold two VMs of one name: {@code NAME.<zone>} then
 * answers with the oldest (by creation time, then id), the same on every replica. The name {@code ns1} is the name server's: a VM of that name gets no A record.
 */
public final class ZoneIndex {
  /** SOA timers: how secondaries (none yet) would refresh, retry and expire, in seconds. */
  static final long REFRESH = 3600;
  static final long RETRY = 600;
  static final long EXPIRE = 1_209_600;

  private final ClusterState source;
  private final ZoneConfig config;
  private final Map<String, Inet4Address> hosts;
  private final Map<Name, AcmeChallenge> challenges;
  private final Set<Name> emptyNonTerminals;
  private final Projection projection;
  private final SOARecord soa;
  private final NSRecord ns;
  private final ARecord nameServerA;

  private ZoneIndex(ClusterState source, ZoneConfig config, Map<String, Inet4Address> hosts, Map<Name, AcmeChallenge> challenges,
      Set<Name> emptyNonTerminals, Projection projection) {
    this.source = source;
    this.projection = projection;
    this.config = config;
    this.hosts = hosts;
    this.challenges = challenges;
    this.emptyNonTerminals = emptyNonTerminals;
    Name zone = config.zone();
    // RFC 1982 serial arithmetic wraps at 2^32; the applied index only grows, so the serial does too.
    this.soa = new SOARecord(zone, DClass.IN, ZoneConfig.TTL, config.nameServerName(), config.hostmaster(),
        source.appliedIndex() & 0xffff_ffffL, REFRESH, RETRY, EXPIRE, ZoneConfig.TTL);
    this.ns = new NSRecord(zone, DClass.IN, ZoneConfig.NS_TTL, config.nameServerName());
    this.nameServerA = new ARecord(config.nameServerName(), DClass.IN, ZoneConfig.NS_TTL, config.nameServer());
  }

  /** The index of {@code state} for {@code config}'s zone. */
  public static ZoneIndex of(ZoneConfig config, ClusterState state) {
    Map<String, Vm> oldest = new HashMap<>();
    Comparator<Vm> age = Comparator.comparing(Vm::createdAt).thenComparing(Vm::id);
    for (Vm vm : state.vms()) {
      if (vm.desired() != DesiredPower.DESTROYED) {
        oldest.merge(vm.name(), vm, (a, b) -> age.compare(a, b) <= 0 ? a : b);
      }
    }
    Map<String, Inet4Address> hosts = HashMap.newHashMap(oldest.size());
    oldest.forEach((name, vm) -> hosts.put(name, inet(vm.publicIp())));
    hosts.remove(config.nameServerName().getLabelString(0));

    Map<Name, AcmeChallenge> challenges = new HashMap<>();
    Set<Name> emptyNonTerminals = new HashSet<>();
    for (AcmeChallenge challenge : state.acmeChallenges()) {
      Name name = absolute(challenge.name());
      if (name != null && name.subdomain(config.zone()) && !name.equals(config.zone())) {
        challenges.put(name, challenge);
        // Names between the challenge and the zone exist (empty or not): NODATA there, not NXDOMAIN.
        for (int strip = 1; name.labels() - strip > config.zone().labels(); strip++) {
          emptyNonTerminals.add(new Name(name, strip));
        }
      }
    }
    return new ZoneIndex(state, config, Map.copyOf(hosts), Map.copyOf(challenges), Set.copyOf(emptyNonTerminals),
        Projection.of(state));
  }

  /** The index of {@code state}, a later state of the same replica: {@link #of}, reusing this index's maps where they still hold. */
  public ZoneIndex next(ClusterState state) {
    return projection.matches(state)
        ? new ZoneIndex(state, config, hosts, challenges, emptyNonTerminals, projection)
        : of(config, state);
  }

  /**
   * What the maps were built from: per VM (in the state's id order) its id, public address and
   * whether it is destroyed — its name and creation time never change — and the challenges.
   */
  private static final class Projection {
    private final String[] ids;
    private final int[] publicIps;
    private final boolean[] destroyed;
    private final List<AcmeChallenge> challenges;

    private Projection(String[] ids, int[] publicIps, boolean[] destroyed, List<AcmeChallenge> challenges) {
      this.ids = ids;
      this.publicIps = publicIps;
      this.destroyed = destroyed;
      this.challenges = challenges;
    }

    static Projection of(ClusterState state) {
      int n = state.vms().size();
      String[] ids = new String[n];
      int[] publicIps = new int[n];
      boolean[] destroyed = new boolean[n];
      int i = 0;
      for (Vm vm : state.vms()) {
        ids[i] = vm.id();
        publicIps[i] = vm.publicIp().bits();
        destroyed[i++] = vm.desired() == DesiredPower.DESTROYED;
      }
      return new Projection(ids, publicIps, destroyed, List.copyOf(state.acmeChallenges()));
    }

    boolean matches(ClusterState state) {
      if (state.vms().size() != ids.length || state.acmeChallenges().size() != challenges.size()) {
        return false;
      }
      int i = 0;
      for (Vm vm : state.vms()) {
        if (!vm.id().equals(ids[i]) || vm.publicIp().bits() != publicIps[i] || (vm.desired() == DesiredPower.DESTROYED) != destroyed[i]) {
          return false;
        }
        i++;
      }
      i = 0;
      for (AcmeChallenge challenge : state.acmeChallenges()) {
        if (!challenge.equals(challenges.get(i++))) {
          return false;
        }
      }
      return true;
    }
  }

  private static Name absolute(String name) {
    try {
      return Name.fromString(name.endsWith(".") ? name : name + ".");
    } catch (TextParseException e) {
      return null; // the log validates names; one it let through that dnsjava refuses is simply not served
    }
  }

  private static Inet4Address inet(Ipv4 ip) {
    int bits = ip.bits();
    try {
      return (Inet4Address) InetAddress.getByAddress(new byte[] {(byte) (bits >>> 24), (byte) (bits >>> 16), (byte) (bits >>> 8),
          (byte) bits});
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e); // four bytes are always an address
    }
  }

  /** The state this index was built from: a newer one in the replica means this index is stale. */
  public ClusterState source() {
    return source;
  }

  public ZoneConfig config() {
    return config;
  }

  public SOARecord soa() {
    return soa;
  }

  public NSRecord ns() {
    return ns;
  }

  public ARecord nameServerA() {
    return nameServerA;
  }

  /** Whether this index answers from the very maps of {@code other} (for tests of {@link #next}). */
  boolean sharesRecordsWith(ZoneIndex other) {
    return hosts == other.hosts && challenges == other.challenges;
  }

  /** How many VM names resolve. */
  public int hostCount() {
    return hosts.size();
  }

  /** What the zone holds at {@code name}, with challenges expired at {@code now} left out. */
  public Node find(Name name, Instant now) {
    Name zone = config.zone();
    if (!name.subdomain(zone)) {
      return Node.OUT_OF_ZONE;
    }
    int depth = name.labels() - zone.labels();
    if (depth == 0) {
      return Node.APEX;
    }
    AcmeChallenge challenge = challenges.get(name);
    if (challenge != null && !challenge.expiredAt(now)) {
      return new Node.Challenge(challenge.values());
    }
    // The label right under the zone names the VM; anything below it (SUB.NAME) is its too.
    String top = name.getLabelString(depth - 1).toLowerCase(Locale.ROOT);
    if (top.equals(config.nameServerName().getLabelString(0))) {
      return depth == 1 ? Node.NAME_SERVER : Node.NONE;
    }
    Inet4Address address = hosts.get(top);
    if (address != null) {
      return new Node.Host(address);
    }
    return challenge != null || emptyNonTerminals.contains(name) ? Node.EMPTY : Node.NONE;
  }

  /** What a name holds, as far as answering goes. */
  public sealed interface Node {
    Node OUT_OF_ZONE = new OutOfZone();
    Node APEX = new Apex();
    Node NAME_SERVER = new NameServer();
    Node EMPTY = new Empty();
    Node NONE = new None();

    /** Not under the zone: not ours to answer. */
    record OutOfZone() implements Node {}

    /** The zone itself: SOA and NS. */
    record Apex() implements Node {}

    /** {@code ns1.<zone>}: the name server's A record. */
    record NameServer() implements Node {}

    /** A VM's name or a name under it: an A record with the VM's public address. */
    record Host(Inet4Address address) implements Node {}

    /** An ACME challenge's TXT values. */
    record Challenge(List<String> values) implements Node {}

    /** A name that exists without records (it only has names below it, or its challenge expired). */
    record Empty() implements Node {}

    /** No such name: NXDOMAIN. */
    record None() implements Node {}
  }
}
