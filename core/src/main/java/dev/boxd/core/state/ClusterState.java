package dev.boxd.core.state;

import dev.boxd.core.net.Ipv4;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * The replicated state after the log entry at {@link #appliedIndex()}: accounts, keys, pending
 * registrations, workers, VMs, snapshots, the VMs' HTTPS routes and raw forwards, ACME challenges,
 * the zones' certificates, API keys and the token signing key. Immutable: {@link Fsm#apply} returns a new state, so a reader
 * holding one sees a consistent picture while the log moves on. Every collection is sorted, so
 * equal states list, encode and compare the same on every replica.
 *
 * <p>Besides the records themselves it keeps indexes derived from the VMs (name per owner,
 * private address, worker) for the lookups the front doors and the workers do on every request;
 * they are rebuilt, never stored, when a state is restored from a snapshot.
 *
 * <p>Over 500 lines on purpose: it is one immutable value whose lookups and copy-on-write updates
 * all read the same private maps; split up, those maps would have to be shared between classes
 * and could then be changed behind a reader's back. What would shorten it is a builder for its
 * positional constructor (14 maps), which every new kind of record now touches.
 */
public final class ClusterState {
  /** Quota of an account created without an explicit one (SPEC §7). */
  public static final int DEFAULT_MAX_VMS = 10;

  private static final ClusterState EMPTY = new ClusterState(
      0, CopyOnWrite.empty(), CopyOnWrite.empty(), CopyOnWrite.empty(), CopyOnWrite.empty(), CopyOnWrite.empty(),
      CopyOnWrite.empty(), CopyOnWrite.empty(), CopyOnWrite.empty(), CopyOnWrite.empty(), CopyOnWrite.empty(), CopyOnWrite.empty(),
      CopyOnWrite.empty(), CopyOnWrite.empty(), ApiAccess.EMPTY);

  private final long appliedIndex;
  private final SortedMap<String, User> users;
  private final SortedMap<String, SshKey> keys;
  private final SortedMap<String, Registration> registrations;
  private final SortedMap<String, Worker> workers;
  private final SortedMap<String, Vm> vms;
  // Derived from vms: owner -> VM name -> VM id; private address -> VM id; worker -> VM ids.
  private final SortedMap<String, SortedMap<String, String>> vmNames;
  private final SortedMap<Ipv4, String> vmIps;
  private final SortedMap<String, SortedSet<String>> vmsByWorker;
  private final SortedMap<String, Snapshot> snapshots;
  private final SortedMap<String, AcmeChallenge> acmeChallenges;
  // HTTPS routes by VM id and name (Proxy.key); raw forwards by protocol and public port (Exposure.key).
  private final SortedMap<String, Proxy> proxies;
  private final SortedMap<String, Exposure> exposures;
  // The zones' ACME certificates by zone: what every proxy node serves.
  private final SortedMap<String, ZoneCertificate> zoneCertificates;
  // API keys and the token signing key.
  private final ApiAccess apiAccess;

  private ClusterState(
      long appliedIndex,
      SortedMap<String, User> users,
      SortedMap<String, SshKey> keys,
      SortedMap<String, Registration> registrations,
      SortedMap<String, Worker> workers,
      SortedMap<String, Vm> vms,
      SortedMap<String, SortedMap<String, String>> vmNames,
      SortedMap<Ipv4, String> vmIps,
      SortedMap<String, SortedSet<String>> vmsByWorker,
      SortedMap<String, Snapshot> snapshots,
      SortedMap<String, AcmeChallenge> acmeChallenges,
      SortedMap<String, Proxy> proxies,
      SortedMap<String, Exposure> exposures,
      SortedMap<String, ZoneCertificate> zoneCertificates,
      ApiAccess apiAccess) {
    this.appliedIndex = appliedIndex;
    this.apiAccess = apiAccess;
    this.zoneCertificates = zoneCertificates;
    this.proxies = proxies;
    this.exposures = exposures;
    this.snapshots = snapshots;
    this.acmeChallenges = acmeChallenges;
    this.users = users;
    this.keys = keys;
    this.registrations = registrations;
    this.workers = workers;
    this.vms = vms;
    this.vmNames = vmNames;
    this.vmIps = vmIps;
    this.vmsByWorker = vmsByWorker;
  }

  /** The state before the first log entry. */
  public static ClusterState empty() {
    return EMPTY;
  }

  /**
   * Rebuilds a state from its records, as a snapshot stores them. Throws
   * {@link IllegalArgumentException} when the records contradict each other (two VMs with one
   * address, a key of an unknown account): a snapshot like that is corrupt.
   */
  public static ClusterState restore(
      long appliedIndex,
      Collection<User> users,
      Collection<SshKey> keys,
      Collection<Registration> registrations,
      Collection<Worker> workers,
      Collection<Vm> vms,
      Collection<Snapshot> snapshots) {
    return restore(appliedIndex, users, keys, registrations, workers, vms, snapshots, List.of(), List.of(), List.of(), List.of());
  }

  /** As below, without zone certificates. */
  public static ClusterState restore(
      long appliedIndex,
      Collection<User> users,
      Collection<SshKey> keys,
      Collection<Registration> registrations,
      Collection<Worker> workers,
      Collection<Vm> vms,
      Collection<Snapshot> snapshots,
      Collection<AcmeChallenge> acmeChallenges,
      Collection<Proxy> proxies,
      Collection<Exposure> exposures) {
    return restore(appliedIndex, users, keys, registrations, workers, vms, snapshots, acmeChallenges, proxies, exposures, List.of());
  }

  /** As below, without API keys and token signing key. */
  public static ClusterState restore(
      long appliedIndex,
      Collection<User> users,
      Collection<SshKey> keys,
      Collection<Registration> registrations,
      Collection<Worker> workers,
      Collection<Vm> vms,
      Collection<Snapshot> snapshots,
      Collection<AcmeChallenge> acmeChallenges,
      Collection<Proxy> proxies,
      Collection<Exposure> exposures,
      Collection<ZoneCertificate> zoneCertificates) {
    return restore(appliedIndex, users, keys, registrations, workers, vms, snapshots, acmeChallenges, proxies, exposures,
        zoneCertificates, List.of(), Optional.empty());
  }

  /**
   * As above, with the ACME challenges, the VMs' HTTPS routes and raw forwards, the zones'
   * certificates, the accounts' API keys and the cluster's token signing key.
   */
  public static ClusterState restore(
      long appliedIndex,
      Collection<User> users,
      Collection<SshKey> keys,
      Collection<Registration> registrations,
      Collection<Worker> workers,
      Collection<Vm> vms,
      Collection<Snapshot> snapshots,
      Collection<AcmeChallenge> acmeChallenges,
      Collection<Proxy> proxies,
      Collection<Exposure> exposures,
      Collection<ZoneCertificate> zoneCertificates,
      Collection<ApiKey> apiKeys,
      Optional<TokenSigningKey> tokenSigningKey) {
    TreeMap<String, User> userMap = index(users, User::id, "user");
    TreeMap<String, SshKey> keyMap = index(keys, SshKey::fingerprint, "key");
    for (SshKey key : keyMap.values()) {
      require(userMap.containsKey(key.userId()), "key " + key.fingerprint() + " belongs to unknown user " + key.userId());
    }
    TreeMap<String, Vm> vmMap = index(vms, Vm::id, "VM");
    TreeMap<String, SortedMap<String, String>> names = new TreeMap<>();
    TreeMap<Ipv4, String> ips = new TreeMap<>();
    TreeMap<String, SortedSet<String>> byWorker = new TreeMap<>();
    TreeMap<Integer, String> sshPorts = new TreeMap<>();
    for (Vm vm : vmMap.values()) {
      require(!vm.hasSshPort() || sshPorts.put(vm.sshPort(), vm.id()) == null, "two VMs with SSH port " + vm.sshPort());
      require(names.computeIfAbsent(vm.ownerId(), o -> new TreeMap<>()).put(vm.name(), vm.id()) == null,
          "two VMs of " + vm.ownerId() + " named " + vm.name());
      require(ips.put(vm.ip(), vm.id()) == null, "two VMs with address " + vm.ip());
      byWorker.computeIfAbsent(vm.workerId(), w -> new TreeSet<>()).add(vm.id());
    }
    names.replaceAll((owner, byName) -> Collections.unmodifiableSortedMap(byName));
    TreeMap<String, Proxy> proxyMap = new TreeMap<>();
    for (Proxy proxy : proxies) {
      require(vmMap.containsKey(proxy.vmId()), "route " + proxy.name() + " of unknown VM " + proxy.vmId());
      require(proxyMap.put(Proxy.key(proxy.vmId(), proxy.name()), proxy) == null, "two routes " + proxy.name() + " of VM " + proxy.vmId());
    }
    TreeMap<String, Exposure> exposureMap = new TreeMap<>();
    for (Exposure exposure : exposures) {
      require(vmMap.containsKey(exposure.vmId()), "forward of unknown VM " + exposure.vmId());
      require(exposureMap.put(exposure.key(), exposure) == null, "two forwards from " + exposure.key());
    }
    byWorker.replaceAll((worker, ids) -> Collections.unmodifiableSortedSet(ids));
    for (ApiKey apiKey : apiKeys) {
      require(userMap.containsKey(apiKey.userId()), "API key " + apiKey.id() + " of unknown user " + apiKey.userId());
    }
    ApiAccess apiAccess = ApiAccess.restore(apiKeys, tokenSigningKey);
    return new ClusterState(
        appliedIndex,
        Collections.unmodifiableSortedMap(userMap),
        Collections.unmodifiableSortedMap(keyMap),
        Collections.unmodifiableSortedMap(index(registrations, Registration::code, "registration")),
        Collections.unmodifiableSortedMap(index(workers, Worker::id, "worker")),
        Collections.unmodifiableSortedMap(vmMap),
        Collections.unmodifiableSortedMap(names),
        Collections.unmodifiableSortedMap(ips),
        Collections.unmodifiableSortedMap(byWorker),
        Collections.unmodifiableSortedMap(index(snapshots, Snapshot::id, "snapshot")),
        Collections.unmodifiableSortedMap(index(acmeChallenges, AcmeChallenge::name, "ACME challenge")),
        Collections.unmodifiableSortedMap(proxyMap),
        Collections.unmodifiableSortedMap(exposureMap),
        Collections.unmodifiableSortedMap(index(zoneCertificates, ZoneCertificate::zone, "zone certificate")),
        apiAccess);
  }

  private static <T> TreeMap<String, T> index(Collection<T> items, Function<T, String> id, String what) {
    TreeMap<String, T> map = new TreeMap<>();
    for (T item : items) {
      require(map.put(id.apply(item), item) == null, "duplicate " + what + " " + id.apply(item));
    }
    return map;
  }

  private static void require(boolean condition, String problem) {
    if (!condition) {
      throw new IllegalArgumentException("inconsistent state: " + problem);
    }
  }

  // ---- lookups ----

  /** Default limit of snapshots per account (they hold memory and disk on a worker). */
  public static final int MAX_SNAPSHOTS = 10;

  public Collection<Snapshot> snapshots() {
    return snapshots.values();
  }

  public Optional<Snapshot> snapshot(String id) {
    return Optional.ofNullable(snapshots.get(id));
  }

  /** An account's snapshots, by name. */
  public List<Snapshot> snapshotsOf(String ownerId) {
    return snapshots.values().stream().filter(s -> s.ownerId().equals(ownerId))
        .sorted(java.util.Comparator.comparing(Snapshot::name)).toList();
  }

  public Optional<Snapshot> snapshotByName(String ownerId, String name) {
    return snapshots.values().stream().filter(s -> s.ownerId().equals(ownerId) && s.name().equals(name)).findFirst();
  }

  /** TXT records of pending ACME DNS-01 challenges, sorted by name; expired ones stay until the next is set. */
  /** The ACME certificates of zones, by zone. */
  public Collection<ZoneCertificate> zoneCertificates() {
    return zoneCertificates.values();
  }

  public Optional<ZoneCertificate> zoneCertificate(String zone) {
    return Optional.ofNullable(zoneCertificates.get(zone));
  }

  public Collection<AcmeChallenge> acmeChallenges() {
    return acmeChallenges.values();
  }

  public Optional<AcmeChallenge> acmeChallenge(String name) {
    return Optional.ofNullable(acmeChallenges.get(name));
  }

  /** Index of the last log entry this state includes (0 before the first). */
  public long appliedIndex() {
    return appliedIndex;
  }

  public Optional<User> user(String id) {
    return Optional.ofNullable(users.get(id));
  }

  /** The account a key is linked to: what the SSH front door asks on every connection. */
  public Optional<User> userByKey(String fingerprint) {
    return key(fingerprint).map(key -> users.get(key.userId()));
  }

  public Collection<User> users() {
    return users.values();
  }

  public Optional<SshKey> key(String fingerprint) {
    return Optional.ofNullable(keys.get(fingerprint));
  }

  /** The keys of one account, sorted by fingerprint. */
  public List<SshKey> keysOf(String userId) {
    return keys.values().stream().filter(key -> key.userId().equals(userId)).toList();
  }

  public Collection<SshKey> keys() {
    return keys.values();
  }

  public Optional<Registration> registration(String code) {
    return Optional.ofNullable(registrations.get(code));
  }

  /** The pending registration of a key, if it has one. */
  public Optional<Registration> registrationOfKey(String fingerprint) {
    return registrations.values().stream().filter(r -> r.fingerprint().equals(fingerprint)).findFirst();
  }

  public Collection<Registration> registrations() {
    return registrations.values();
  }

  public Optional<Worker> worker(String id) {
    return Optional.ofNullable(workers.get(id));
  }

  public Collection<Worker> workers() {
    return workers.values();
  }

  /**
   * Guest memory, in MiB, that {@code worker} may still promise to new VMs: its RAM times the
   * overcommit less the memory of its VMs that hold some (all but stopped and hibernated ones).
   * The log refuses a VM that does not fit.
   */
  public long memoryRoom(Worker worker) {
    return Admission.memoryRoom(this, worker);
  }

  public Optional<Vm> vm(String id) {
    return Optional.ofNullable(vms.get(id));
  }

  /** A VM by its owner and name: names are unique per owner until the VM is removed. */
  public Optional<Vm> vmByName(String ownerId, String name) {
    SortedMap<String, String> byName = vmNames.get(ownerId);
    return byName == null ? Optional.empty() : Optional.ofNullable(byName.get(name)).map(vms::get);
  }

  /**
   * The VM named {@code name} in the whole cluster, of any owner, unless it is being destroyed:
   * {@code NAME.<zone>} names one VM (SPEC §6), which the edge and the DNS role look up here.
   */
  public Optional<Vm> vmByName(String name) {
    for (SortedMap<String, String> byName : vmNames.values()) {
      String id = byName.get(name);
      if (id != null && vms.get(id).desired() != DesiredPower.DESTROYED) {
        return Optional.of(vms.get(id));
      }
    }
    return Optional.empty();
  }

  /** The VM whose own port of direct SSH is {@code port}, if any. */
  public Optional<Vm> vmBySshPort(int port) {
    return port == 0 ? Optional.empty() : vms.values().stream().filter(vm -> vm.sshPort() == port).findFirst();
  }

  /** SSH ports held by VMs (destroyed ones included until removed); a new VM needs one outside this set. */
  public SortedSet<Integer> usedSshPorts() {
    TreeSet<Integer> used = new TreeSet<>();
    vms.values().stream().filter(Vm::hasSshPort).forEach(vm -> used.add(vm.sshPort()));
    return Collections.unmodifiableSortedSet(used);
  }

  // ---- the edge: HTTPS routes and raw forwards ----

  /** Every stored route (default routes only where their port was changed), by VM id and name. */
  public Collection<Proxy> proxies() {
    return proxies.values();
  }

  /** The VM's HTTPS routes: the default one first (implicit unless its port was set), then the named ones by name. */
  public List<Proxy> proxiesOf(String vmId) {
    List<Proxy> stored = proxiesStoredFor(vmId);
    Proxy defaultRoute = stored.stream().filter(Proxy::isDefault).findFirst()
        .orElse(new Proxy(vmId, Proxy.DEFAULT_NAME, Proxy.DEFAULT_PORT));
    List<Proxy> all = new java.util.ArrayList<>();
    all.add(defaultRoute);
    stored.stream().filter(p -> !p.isDefault()).forEach(all::add);
    return List.copyOf(all);
  }

  /** The VM's named routes only (not the default), by name. */
  public List<Proxy> namedProxiesOf(String vmId) {
    return proxiesStoredFor(vmId).stream().filter(p -> !p.isDefault()).toList();
  }

  private List<Proxy> proxiesStoredFor(String vmId) {
    // Keys are "vmId/name": the VM's routes are one contiguous range.
    return List.copyOf(proxies.subMap(vmId + "/", vmId + "0").values());
  }

  /**
   * The route of {@code sub.vmName.<zone>} ({@code sub} empty or {@code default}: of
   * {@code vmName.<zone>} itself): what the HTTPS proxy forwards a request to.
   */
  public Optional<Proxy> route(String vmName, String sub) {
    String name = sub == null || sub.isEmpty() ? Proxy.DEFAULT_NAME : sub;
    return vmByName(vmName).flatMap(vm -> proxiesOf(vm.id()).stream().filter(p -> p.name().equals(name)).findFirst());
  }

  /** Every raw forward, by protocol and public port. */
  public Collection<Exposure> exposures() {
    return exposures.values();
  }

  /** The VM's raw forwards, by protocol and public port. */
  public List<Exposure> exposuresOf(String vmId) {
    return exposures.values().stream().filter(e -> e.vmId().equals(vmId)).toList();
  }

  /** The forward from {@code publicPort} of the edge for {@code protocol}, if any. */
  public Optional<Exposure> exposure(Exposure.Protocol protocol, int publicPort) {
    return Optional.ofNullable(exposures.get(Exposure.key(protocol, publicPort)));
  }

  /** Public ports in use for {@code protocol}; a new forward needs one outside this set. */
  public SortedSet<Integer> usedPublicPorts(Exposure.Protocol protocol) {
    TreeSet<Integer> used = new TreeSet<>();
    exposures.values().stream().filter(e -> e.protocol() == protocol).forEach(e -> used.add(e.publicPort()));
    return Collections.unmodifiableSortedSet(used);
  }

  /** The VM holding a private address: how the gateway knows which VM (and owner) is calling. */
  public Optional<Vm> vmByIp(Ipv4 ip) {
    return Optional.ofNullable(vmIps.get(ip)).map(vms::get);
  }

  /** Every VM of an owner not yet removed (destroyed ones included until then), sorted by name. */
  public List<Vm> vmsOf(String ownerId) {
    SortedMap<String, String> byName = vmNames.get(ownerId);
    return byName == null ? List.of() : byName.values().stream().map(vms::get).toList();
  }

  /** Every VM placed on a worker: what that worker reconciles. Sorted by VM id. */
  public List<Vm> vmsOnWorker(String workerId) {
    SortedSet<String> ids = vmsByWorker.get(workerId);
    return ids == null ? List.of() : ids.stream().map(vms::get).toList();
  }

  public Collection<Vm> vms() {
    return vms.values();
  }

  /** Private addresses held by VMs, sorted; a new VM needs one outside this set. */
  public SortedSet<Ipv4> usedIps() {
    return Collections.unmodifiableSortedSet(new TreeSet<>(vmIps.keySet()));
  }

  /** Public addresses held by any VM, sorted. An address may serve VMs of several owners. */
  public SortedSet<Ipv4> usedPublicIps() {
    TreeSet<Ipv4> used = new TreeSet<>();
    vms.values().forEach(vm -> used.add(vm.publicIp()));
    return Collections.unmodifiableSortedSet(used);
  }

  /** Public addresses held by one owner's VMs; a new VM of that owner needs one outside this set. */
  public SortedSet<Ipv4> publicIpsOf(String ownerId) {
    TreeSet<Ipv4> used = new TreeSet<>();
    vmsOf(ownerId).forEach(vm -> used.add(vm.publicIp()));
    return Collections.unmodifiableSortedSet(used);
  }

  // ---- updates, for Fsm only ----

  ClusterState withAppliedIndex(long index) {
    return copy(index, users, keys, registrations, workers, vms, vmNames, vmIps, vmsByWorker, snapshots, acmeChallenges);
  }

  ClusterState withUser(User user) {
    return copy(appliedIndex, CopyOnWrite.put(users, user.id(), user), keys, registrations, workers, vms, vmNames, vmIps, vmsByWorker, snapshots, acmeChallenges);
  }

  ClusterState withKey(SshKey key) {
    return copy(appliedIndex, users, CopyOnWrite.put(keys, key.fingerprint(), key), registrations, workers, vms, vmNames, vmIps, vmsByWorker, snapshots, acmeChallenges);
  }

  ClusterState withoutKey(String fingerprint) {
    return copy(appliedIndex, users, CopyOnWrite.remove(keys, fingerprint), registrations, workers, vms, vmNames, vmIps, vmsByWorker, snapshots, acmeChallenges);
  }

  ClusterState withRegistration(Registration registration) {
    return copy(appliedIndex, users, keys, CopyOnWrite.put(registrations, registration.code(), registration), workers, vms, vmNames, vmIps, vmsByWorker, snapshots, acmeChallenges);
  }

  ClusterState withoutRegistrations(Collection<String> codes) {
    SortedMap<String, Registration> left = registrations;
    for (String code : codes) {
      left = CopyOnWrite.remove(left, code);
    }
    return copy(appliedIndex, users, keys, left, workers, vms, vmNames, vmIps, vmsByWorker, snapshots, acmeChallenges);
  }

  ClusterState withWorker(Worker worker) {
    return copy(appliedIndex, users, keys, registrations, CopyOnWrite.put(workers, worker.id(), worker), vms, vmNames, vmIps, vmsByWorker, snapshots, acmeChallenges);
  }

  /** Adds a VM, or replaces one whose owner, name, address and worker stay the same. */
  ClusterState withVm(Vm vm) {
    Vm old = vms.get(vm.id());
    if (old != null) {
      if (!old.ownerId().equals(vm.ownerId()) || !old.name().equals(vm.name()) || !old.ip().equals(vm.ip())
          || !old.workerId().equals(vm.workerId())) {
        throw new IllegalStateException("VM " + vm.id() + " may not change owner, name, address or worker");
      }
      return copy(appliedIndex, users, keys, registrations, workers, CopyOnWrite.put(vms, vm.id(), vm), vmNames, vmIps, vmsByWorker, snapshots, acmeChallenges);
    }
    SortedMap<String, String> names = vmNames.getOrDefault(vm.ownerId(), CopyOnWrite.empty());
    SortedSet<String> onWorker = vmsByWorker.getOrDefault(vm.workerId(), CopyOnWrite.emptySet());
    return copy(
        appliedIndex, users, keys, registrations, workers,
        CopyOnWrite.put(vms, vm.id(), vm),
        CopyOnWrite.put(vmNames, vm.ownerId(), CopyOnWrite.put(names, vm.name(), vm.id())),
        CopyOnWrite.put(vmIps, vm.ip(), vm.id()),
        CopyOnWrite.put(vmsByWorker, vm.workerId(), CopyOnWrite.add(onWorker, vm.id())),
        snapshots, acmeChallenges);
  }

  ClusterState withoutVm(String vmId) {
    Vm vm = vms.get(vmId);
    if (vm == null) {
      return this;
    }
    SortedMap<String, String> names = CopyOnWrite.remove(vmNames.get(vm.ownerId()), vm.name());
    SortedSet<String> onWorker = CopyOnWrite.remove(vmsByWorker.get(vm.workerId()), vmId);
    return copy(
        appliedIndex, users, keys, registrations, workers,
        CopyOnWrite.remove(vms, vmId),
        names.isEmpty() ? CopyOnWrite.remove(vmNames, vm.ownerId()) : CopyOnWrite.put(vmNames, vm.ownerId(), names),
        CopyOnWrite.remove(vmIps, vm.ip()),
        onWorker.isEmpty() ? CopyOnWrite.remove(vmsByWorker, vm.workerId()) : CopyOnWrite.put(vmsByWorker, vm.workerId(), onWorker),
        snapshots, acmeChallenges);
  }

  ClusterState withSnapshot(Snapshot snapshot) {
    return copy(appliedIndex, users, keys, registrations, workers, vms, vmNames, vmIps, vmsByWorker,
        CopyOnWrite.put(snapshots, snapshot.id(), snapshot), acmeChallenges);
  }

  ClusterState withoutSnapshot(String snapshotId) {
    return copy(appliedIndex, users, keys, registrations, workers, vms, vmNames, vmIps, vmsByWorker,
        CopyOnWrite.remove(snapshots, snapshotId), acmeChallenges);
  }

  ClusterState withAcmeChallenge(AcmeChallenge challenge) {
    return copy(appliedIndex, users, keys, registrations, workers, vms, vmNames, vmIps, vmsByWorker, snapshots,
        CopyOnWrite.put(acmeChallenges, challenge.name(), challenge));
  }

  ClusterState withoutAcmeChallenges(Collection<String> names) {
    SortedMap<String, AcmeChallenge> left = acmeChallenges;
    for (String name : names) {
      left = CopyOnWrite.remove(left, name);
    }
    return copy(appliedIndex, users, keys, registrations, workers, vms, vmNames, vmIps, vmsByWorker, snapshots, left);
  }

  private ClusterState copy(
      long appliedIndex,
      SortedMap<String, User> users,
      SortedMap<String, SshKey> keys,
      SortedMap<String, Registration> registrations,
      SortedMap<String, Worker> workers,
      SortedMap<String, Vm> vms,
      SortedMap<String, SortedMap<String, String>> vmNames,
      SortedMap<Ipv4, String> vmIps,
      SortedMap<String, SortedSet<String>> vmsByWorker,
      SortedMap<String, Snapshot> snapshots,
      SortedMap<String, AcmeChallenge> acmeChallenges) {
    return new ClusterState(appliedIndex, users, keys, registrations, workers, vms, vmNames, vmIps, vmsByWorker, snapshots,
        acmeChallenges, proxies, exposures, zoneCertificates, apiAccess);
  }

  ClusterState withZoneCertificate(ZoneCertificate certificate) {
    return new ClusterState(appliedIndex, users, keys, registrations, workers, vms, vmNames, vmIps, vmsByWorker, snapshots,
        acmeChallenges, proxies, exposures, CopyOnWrite.put(zoneCertificates, certificate.zone(), certificate), apiAccess);
  }

  private ClusterState withEdge(SortedMap<String, Proxy> newProxies, SortedMap<String, Exposure> newExposures) {
    return new ClusterState(appliedIndex, users, keys, registrations, workers, vms, vmNames, vmIps, vmsByWorker, snapshots,
        acmeChallenges, newProxies, newExposures, zoneCertificates, apiAccess);
  }

  ClusterState withProxy(Proxy proxy) {
    return withEdge(CopyOnWrite.put(proxies, Proxy.key(proxy.vmId(), proxy.name()), proxy), exposures);
  }

  ClusterState withoutProxy(String vmId, String name) {
    return withEdge(CopyOnWrite.remove(proxies, Proxy.key(vmId, name)), exposures);
  }

  ClusterState withExposure(Exposure exposure) {
    return withEdge(proxies, CopyOnWrite.put(exposures, exposure.key(), exposure));
  }

  ClusterState withoutExposure(Exposure exposure) {
    return withEdge(proxies, CopyOnWrite.remove(exposures, exposure.key()));
  }

  /** Without the routes and forwards of a VM: a destroyed VM is reachable no more. */
  ClusterState withoutEdgeOf(String vmId) {
    SortedMap<String, Proxy> keptProxies = proxies;
    for (Proxy proxy : proxiesStoredFor(vmId)) {
      keptProxies = CopyOnWrite.remove(keptProxies, Proxy.key(vmId, proxy.name()));
    }
    SortedMap<String, Exposure> keptExposures = exposures;
    for (Exposure exposure : exposuresOf(vmId)) {
      keptExposures = CopyOnWrite.remove(keptExposures, exposure.key());
    }
    return withEdge(keptProxies, keptExposures);
  }

  // ---- API keys and the token signing key ----

  /** Every API key, by id. */
  public Collection<ApiKey> apiKeys() {
    return apiAccess.keys();
  }

  public Optional<ApiKey> apiKey(String id) {
    return apiAccess.key(id);
  }

  /** The key whose secret hashes to {@code secretSha256} ({@link ApiKey#hashOf}): what the token exchange looks up. */
  public Optional<ApiKey> apiKeyByHash(String secretSha256) {
    return apiAccess.keyByHash(secretSha256);
  }

  /** An account's API keys, oldest first (revoked and expired ones included). */
  public List<ApiKey> apiKeysOf(String userId) {
    return apiAccess.keys().stream().filter(k -> k.userId().equals(userId))
        .sorted(java.util.Comparator.comparing(ApiKey::createdAt).thenComparing(ApiKey::id)).toList();
  }

  /** The cluster's key for signing API tokens; empty until the first server made one. */
  public Optional<TokenSigningKey> tokenSigningKey() {
    return apiAccess.signingKey();
  }

  ApiAccess apiAccess() {
    return apiAccess;
  }

  ClusterState withApiAccess(ApiAccess access) {
    return new ClusterState(appliedIndex, users, keys, registrations, workers, vms, vmNames, vmIps, vmsByWorker, snapshots,
        acmeChallenges, proxies, exposures, zoneCertificates, access);
  }

  // Indexes are functions of vms, so the records alone decide equality.
  @Override
  public boolean equals(Object other) {
    return other instanceof ClusterState that
        && appliedIndex == that.appliedIndex
        && users.equals(that.users)
        && keys.equals(that.keys)
        && registrations.equals(that.registrations)
        && workers.equals(that.workers)
        && vms.equals(that.vms)
        && snapshots.equals(that.snapshots)
        && acmeChallenges.equals(that.acmeChallenges)
        && proxies.equals(that.proxies)
        && exposures.equals(that.exposures)
        && zoneCertificates.equals(that.zoneCertificates)
        && apiAccess.equals(that.apiAccess);
  }

  @Override
  public int hashCode() {
    return Objects.hash(appliedIndex, users, keys, registrations, workers, vms, snapshots, acmeChallenges, proxies, exposures, zoneCertificates, apiAccess);
  }

  @Override
  public String toString() {
    return "ClusterState{index=" + appliedIndex + ", users=" + users.size() + ", keys=" + keys.size()
        + ", registrations=" + registrations.size() + ", workers=" + workers.size() + ", vms=" + vms.size()
        + ", acmeChallenges=" + acmeChallenges.size() + "}";
  }
}
