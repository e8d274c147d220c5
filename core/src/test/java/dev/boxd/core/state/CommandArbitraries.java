package dev.boxd.core.state;

import dev.boxd.core.net.Ipv4;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Tuple;

/**
 * Generators of commands. {@link #colliding()} draws ids, names and addresses from tiny pools so
 * that random logs hit every rejection (name taken, address in use, quota, wrong worker);
 * {@link #anyValue()} draws from the whole value space, for codec round trips.
 */
final class CommandArbitraries {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  private CommandArbitraries() {}

  static Arbitrary<Command> colliding() {
    return commands(new Pools(
        Arbitraries.of("u1", "u2", "u3"),
        Arbitraries.of("app", "db", "web", "api", "x-1", "Not_A_Name"),
        Arbitraries.of("vm1", "vm2", "vm3", "vm4", "vm5", "vm6", "vm7", "vm8"),
        Arbitraries.of("w1", "w2"),
        Arbitraries.of("SHA256:k1", "SHA256:k2", "SHA256:k3"),
        Arbitraries.of("c1", "c2", "c3"),
        Arbitraries.integers().between(1, 6).map(i -> Ipv4.parse("10.77.0." + i)),
        Arbitraries.integers().between(1, 3).map(i -> Ipv4.parse("203.0.113." + i)),
        Arbitraries.longs().between(0, 1000).map(T0::plusSeconds),
        Arbitraries.integers().between(-1, 4),
        Arbitraries.integers().between(0, 4),
        Arbitraries.longs().between(0, 4096)));
  }

  /** A log over {@link #colliding()} commands that starts with two accounts and a worker. */
  static Arbitrary<List<Command>> collidingLogs(int maxSize) {
    List<Command> setup = List.of(
        new Command.CreateUser("u1", "alice", T0, 3),
        new Command.CreateUser("u2", "bob", T0, 3),
        new Command.RegisterWorker("w1", "10.0.0.1:7000", 4, 8192, T0));
    return colliding().list().ofMaxSize(maxSize).map(random -> {
      List<Command> log = new ArrayList<>(setup);
      log.addAll(random);
      return log;
    });
  }

  static Arbitrary<Command> anyValue() {
    Arbitrary<String> text = Arbitraries.strings()
        .withCharRange('\u0000', '\ud7ff').withCharRange('\ue000', '\ufffd').ofMaxLength(40);
    Arbitrary<Instant> instants = Combinators.combine(
            Arbitraries.longs().between(Instant.MIN.getEpochSecond(), Instant.MAX.getEpochSecond()),
            Arbitraries.integers().between(0, 999_999_999))
        .as(Instant::ofEpochSecond);
    Arbitrary<Ipv4> ips = Arbitraries.integers().map(Ipv4::new);
    return commands(new Pools(text, text, text, text, text, text, ips, ips, instants,
        Arbitraries.integers(), Arbitraries.integers(), Arbitraries.longs()));
  }

  private record Pools(
      Arbitrary<String> users,
      Arbitrary<String> names,
      Arbitrary<String> vms,
      Arbitrary<String> workers,
      Arbitrary<String> fingerprints,
      Arbitrary<String> codes,
      Arbitrary<Ipv4> ips,
      Arbitrary<Ipv4> publicIps,
      Arbitrary<Instant> times,
      Arbitrary<Integer> quotas,
      Arbitrary<Integer> small,
      Arbitrary<Long> sizes) {}

  @SuppressWarnings("unchecked")
  private static Arbitrary<Command> commands(Pools p) {
    Arbitrary<VmObserved> observed = Combinators.combine(
            Arbitraries.of(VmStatus.class), p.sizes(), p.names(), p.times(), p.sizes())
        .as(VmObserved::new);
    return Arbitraries.frequencyOf(
        Tuple.of(3, Combinators.combine(p.users(), p.names(), p.times(), p.quotas()).as(Command.CreateUser::new)),
        Tuple.of(2, Combinators.combine(p.users(), p.fingerprints(), p.names(), p.times()).as(Command.AddKey::new)),
        Tuple.of(1, p.fingerprints().map(Command.RemoveKey::new)),
        Tuple.of(2, Combinators.combine(p.codes(), p.fingerprints(), p.names(), p.times()).as(Command.OpenRegistration::new)),
        Tuple.of(2, Combinators.combine(p.codes(), p.fingerprints(), p.names(), Arbitraries.of("192.0.2.1", "192.0.2.2"), p.times())
            .as((code, fingerprint, key, source, at) -> new Command.OpenRegistrationFrom(code, fingerprint, key, source, at,
                at.plusSeconds(3600)))),
        Tuple.of(2, Combinators.combine(p.codes(), p.users(), p.names(), p.times()).as(Command.ApproveRegistration::new)),
        Tuple.of(2, Combinators.combine(p.workers(), p.names(), p.small(), p.sizes(), p.times()).as(Command.RegisterWorker::new)),
        Tuple.of(12, Combinators.combine(p.vms(), p.users(), p.names(), p.small(), p.sizes(), p.sizes(), p.ips(), p.publicIps())
            .flatAs((vm, owner, name, vcpus, mem, disk, ip, publicIp) -> Combinators.combine(p.workers(), p.times(),
                    Arbitraries.of(false, false, true))
                .as((worker, at, isolated) -> new Command.CreateVm(vm, owner, name, vcpus, mem, disk, ip, publicIp, worker, at, "",
                    isolated)))),
        Tuple.of(4, Combinators.combine(p.vms(), p.vms(), p.names(), p.ips(), p.publicIps(), p.times()).as(Command.ForkVm::new)),
        Tuple.of(2, Combinators.combine(p.vms(), Arbitraries.of(DesiredPower.class)).as(Command.SetDesiredPower::new)),
        Tuple.of(1, Combinators.combine(p.vms(), Arbitraries.integers().between(-1, 100)).as(Command.SetAutoSuspend::new)),
        Tuple.of(2, Combinators.combine(p.vms(), p.workers(), Arbitraries.of(DesiredPower.class)).as(Command.IdleSleep::new)),
        Tuple.of(2, Combinators.combine(p.vms(), p.workers()).as(Command.TrafficWake::new)),
        Tuple.of(3, Combinators.combine(p.vms(), p.users(), p.names(), p.vms(), p.workers(), p.times())
            .as((id, owner, name, source, worker, at) -> new Command.AddSnapshot(
                Snapshot.saving("s-" + id, owner, name, source, "src", worker, 1, 512, 10, at)))),
        Tuple.of(3, Combinators.combine(p.vms(), p.users(), p.names(), p.vms(), p.workers(), p.times())
            .as((id, owner, name, source, worker, at) -> new Command.SaveSnapshot(
                Snapshot.saving("s-" + id, owner, name, source, "src", worker, 1, 512, 10, at)))),
        Tuple.of(2, Combinators.combine(p.vms(), p.workers(), Arbitraries.longs().between(0, 1 << 30))
            .as((id, worker, bytes) -> new Command.SnapshotSaved("s-" + id, worker, bytes))),
        Tuple.of(1, p.vms().map(id -> new Command.RemoveSnapshot("s-" + id))),
        Tuple.of(3, Combinators.combine(p.vms(), p.vms(), p.names(), p.ips(), p.publicIps(), p.times())
            .as((vm, snap, name, ip, publicIp, at) -> new Command.CreateFromSnapshot(vm, "s-" + snap, name, ip, publicIp, at))),
        Tuple.of(1, p.vms().map(Command.Reboot::new)),
        Tuple.of(4, p.vms().map(Command.DestroyVm::new)),
        Tuple.of(2, Combinators.combine(p.vms(), p.workers(), observed).as(Command.ReportObserved::new)),
        Tuple.of(4, Combinators.combine(p.vms(), p.workers()).as(Command.RemoveVm::new)),
        Tuple.of(1, Combinators.combine(p.users(), p.quotas()).as(Command.SetUserQuota::new)),
        Tuple.of(3, Combinators.combine(p.vms(), Arbitraries.of("web", "api", "default", "Bad"), Arbitraries.of(0, 80, 3000, 65536))
            .as(Command.AddProxy::new)),
        Tuple.of(2, Combinators.combine(p.vms(), Arbitraries.of("web", "api", "default"), Arbitraries.of(0, 80, 3000))
            .as(Command.SetProxyPort::new)),
        Tuple.of(1, Combinators.combine(p.vms(), Arbitraries.of("web", "api", "default")).as(Command.RemoveProxy::new)),
        Tuple.of(3, Combinators.combine(p.vms(), Arbitraries.of(Exposure.Protocol.class), Arbitraries.of(22, 80, 5000, 7000),
            Arbitraries.of(40000, 40001, 40002, 39999)).as(Command.Expose::new)),
        Tuple.of(1, Combinators.combine(p.vms(), Arbitraries.of(Exposure.Protocol.class), Arbitraries.of(22, 80, 5000))
            .as(Command.Unexpose::new)),
        Tuple.of(2, Combinators.combine(p.vms(), Arbitraries.of(10000, 10001, 9999, 22)).as(Command.SetSshPort::new)),
        Tuple.of(1, Combinators.combine(p.users(), p.quotas(), p.small(), p.sizes(), p.sizes())
            .as((user, vms, vcpus, memory, disk) -> new Command.SetQuota(user, new Quota(vms, vcpus, memory, disk,
                (long) vcpus * 2, memory * 2, disk * 2)))),
        Tuple.of(2, Combinators.combine(p.names(), p.names().list().ofMaxSize(3), p.times(), p.times())
            .as((name, values, at, expiresAt) -> new Command.SetAcmeChallenge(AcmeChallenge.LABEL + "." + name + ".localhost", values,
                at, expiresAt))),
        Tuple.of(1, p.names().map(name -> new Command.ClearAcmeChallenge(AcmeChallenge.LABEL + "." + name + ".localhost"))),
        Tuple.of(1, Combinators.combine(Arbitraries.of("localhost", "boxd.test", "Bad_Zone"), Arbitraries.of("-----BEGIN CERTIFICATE-----", ""),
            p.times()).as((zone, pem, notAfter) -> new Command.SetZoneCertificate(zone, pem, "-----BEGIN PRIVATE KEY-----", notAfter))),
        Tuple.of(2, Combinators.combine(p.vms(), p.users(), p.names(), Arbitraries.of(ApiKey.hashOf("a"), ApiKey.hashOf("b"), "not-a-hash"),
            p.times(), Arbitraries.of(-1L, 0L, 60L)).as((id, user, name, hash, at, expiresIn) -> new Command.CreateApiKey("k-" + id, user,
                name, hash, at, expiresIn < 0 ? java.util.Optional.empty() : java.util.Optional.of(at.plusSeconds(expiresIn))))),
        Tuple.of(1, Combinators.combine(p.vms(), p.users(), p.times()).as((id, user, at) -> new Command.RevokeApiKey("k-" + id, user, at))),
        Tuple.of(1, Combinators.combine(p.names(), Arbitraries.of(16, 32), p.times())
            .as((id, length, at) -> new Command.SetTokenSigningKey(new TokenSigningKey(id, new byte[length]), at))));
  }
}
