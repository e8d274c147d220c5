package dev.boxd.core.state.codec;

import dev.boxd.core.state.AcmeChallenge;
import dev.boxd.core.state.ZoneCertificate;
import dev.boxd.core.state.DesiredPower;
import dev.boxd.core.state.Exposure;
import dev.boxd.core.state.Proxy;
import dev.boxd.core.state.Quota;
import dev.boxd.core.state.Registration;
import dev.boxd.core.state.SshKey;
import dev.boxd.core.state.User;
import dev.boxd.core.state.Snapshot;
import dev.boxd.core.state.Vm;
import dev.boxd.core.state.VmObserved;
import dev.boxd.core.state.VmStatus;
import dev.boxd.core.state.Worker;

/**
 * Encodings of the state's records and enums, shared by commands and snapshots. Enum values have
 * explicit numbers, never ordinals, so reordering an enum cannot change what old bytes mean; new
 * values take new numbers.
 */
final class RecordWire {
  private RecordWire() {}

  static void desired(WireWriter out, DesiredPower value) {
    out.u8(switch (value) {
      case RUNNING -> 1;
      case STANDBY -> 2;
      case STOPPED -> 3;
      case DESTROYED -> 4;
      case HIBERNATED -> 5;
    });
  }

  static DesiredPower desired(WireReader in) {
    int code = in.u8();
    return switch (code) {
      case 1 -> DesiredPower.RUNNING;
      case 2 -> DesiredPower.STANDBY;
      case 3 -> DesiredPower.STOPPED;
      case 4 -> DesiredPower.DESTROYED;
      case 5 -> DesiredPower.HIBERNATED;
      default -> throw in.corrupt("unknown desired power " + code);
    };
  }

  static void status(WireWriter out, VmStatus value) {
    out.u8(switch (value) {
      case CREATING -> 1;
      case BOOTING -> 2;
      case RUNNING -> 3;
      case STANDBY -> 4;
      case HIBERNATED -> 5;
      case STOPPED -> 6;
      case FAILED -> 7;
      case DESTROYING -> 8;
    });
  }

  static VmStatus status(WireReader in) {
    int code = in.u8();
    return switch (code) {
      case 1 -> VmStatus.CREATING;
      case 2 -> VmStatus.BOOTING;
      case 3 -> VmStatus.RUNNING;
      case 4 -> VmStatus.STANDBY;
      case 5 -> VmStatus.HIBERNATED;
      case 6 -> VmStatus.STOPPED;
      case 7 -> VmStatus.FAILED;
      case 8 -> VmStatus.DESTROYING;
      default -> throw in.corrupt("unknown VM status " + code);
    };
  }

  static void observed(WireWriter out, VmObserved value) {
    status(out, value.status());
    out.i64(value.pid()).string(value.detail()).instant(value.at()).i64(value.rebootSeqSeen());
  }

  static VmObserved observed(WireReader in) {
    return new VmObserved(status(in), in.i64(), in.string(), in.instant(), in.i64());
  }

  static void user(WireWriter out, User value) {
    quota(out.string(value.id()).string(value.name()).instant(value.createdAt()), value.quota());
  }

  /** A user as snapshot format {@code version} wrote it (before 5, a VM count only: {@link Quota#ofVms}). */
  static User user(WireReader in, int version) {
    return new User(in.string(), in.string(), in.instant(), version >= 5 ? quota(in) : Quota.ofVms(in.i32()));
  }

  static WireWriter quota(WireWriter out, Quota value) {
    return out.i32(value.maxVms()).i32(value.vmVcpus()).i64(value.vmMemoryMib()).i64(value.vmDiskGb())
        .i64(value.totalVcpus()).i64(value.totalMemoryMib()).i64(value.totalDiskGb());
  }

  static Quota quota(WireReader in) {
    return new Quota(in.i32(), in.i32(), in.i64(), in.i64(), in.i64(), in.i64(), in.i64());
  }

  static void key(WireWriter out, SshKey value) {
    out.string(value.fingerprint()).string(value.userId()).string(value.publicKey()).instant(value.addedAt());
  }

  static SshKey key(WireReader in) {
    return new SshKey(in.string(), in.string(), in.string(), in.instant());
  }

  static void registration(WireWriter out, Registration value) {
    out.string(value.code()).string(value.fingerprint()).string(value.publicKey()).instant(value.expiresAt()).string(value.source());
  }

  /** Before snapshot version 4 a registration had no source. */
  static Registration registration(WireReader in, int version) {
    String code = in.string();
    String fingerprint = in.string();
    String publicKey = in.string();
    java.time.Instant expiresAt = in.instant();
    return new Registration(code, fingerprint, publicKey, expiresAt, version >= 4 ? in.string() : "");
  }

  static void worker(WireWriter out, Worker value) {
    out.string(value.id()).string(value.address()).i32(value.vcpus()).i64(value.memoryMib()).instant(value.registeredAt());
  }

  static Worker worker(WireReader in) {
    return new Worker(in.string(), in.string(), in.i32(), in.i64(), in.instant());
  }

  static void vm(WireWriter out, Vm value) {
    out.string(value.id()).string(value.ownerId()).string(value.name())
        .i32(value.vcpus()).i64(value.memoryMib()).i64(value.diskGb())
        .ipv4(value.ip()).ipv4(value.publicIp()).string(value.workerId()).instant(value.createdAt());
    desired(out, value.desired());
    out.i64(value.rebootSeq());
    observed(out, value.observed());
    out.string(value.forkedFrom());
    out.i32(value.autoSuspendSecs());
    out.string(value.fromSnapshot());
    out.i32(value.sshPort());
    out.string(value.image());
    out.bool(value.isolated());
  }

  static WireWriter protocol(WireWriter out, Exposure.Protocol value) {
    return out.u8(switch (value) {
      case TCP -> 1;
      case UDP -> 2;
    });
  }

  static Exposure.Protocol protocol(WireReader in) {
    int code = in.u8();
    return switch (code) {
      case 1 -> Exposure.Protocol.TCP;
      case 2 -> Exposure.Protocol.UDP;
      default -> throw in.corrupt("unknown protocol " + code);
    };
  }

  static void proxy(WireWriter out, Proxy value) {
    out.string(value.vmId()).string(value.name()).i32(value.port());
  }

  static Proxy proxy(WireReader in) {
    return new Proxy(in.string(), in.string(), in.i32());
  }

  static void exposure(WireWriter out, Exposure value) {
    protocol(out.string(value.vmId()), value.protocol()).i32(value.vmPort()).i32(value.publicPort());
  }

  static Exposure exposure(WireReader in) {
    return new Exposure(in.string(), protocol(in), in.i32(), in.i32());
  }

  static void snapshot(WireWriter out, Snapshot value) {
    out.string(value.id()).string(value.ownerId()).string(value.name()).string(value.sourceVmId()).string(value.sourceVmName())
        .string(value.workerId()).i32(value.vcpus()).i64(value.memoryMib()).i64(value.diskGb()).instant(value.createdAt());
  }

  /** The fields a snapshot is asked for with; as read, it is still {@link Snapshot.Status#SAVING}. */
  static Snapshot snapshot(WireReader in) {
    return Snapshot.saving(in.string(), in.string(), in.string(), in.string(), in.string(), in.string(), in.i32(), in.i64(), in.i64(),
        in.instant());
  }

  /** A snapshot in a state snapshot: its fields, then (from format 6) its status and size, (from 12) whether its VM was isolated. */
  static void snapshotInState(WireWriter out, Snapshot value) {
    snapshot(out, value);
    out.string(value.status().name()).i64(value.bytes());
    out.bool(value.isolated());
  }

  /** Format 3 to 5 held saved snapshots only, without their size; 11 and older, none of an isolated VM. */
  static Snapshot snapshotInState(WireReader in, int version) {
    Snapshot base = snapshot(in);
    Snapshot.Status status = version >= 6 ? snapshotStatus(in) : Snapshot.Status.SAVED;
    long bytes = version >= 6 ? in.i64() : 0;
    boolean isolated = version >= SnapshotCodec.ISOLATION_VERSION && in.bool();
    return new Snapshot(base.id(), base.ownerId(), base.name(), base.sourceVmId(), base.sourceVmName(), base.workerId(), base.vcpus(),
        base.memoryMib(), base.diskGb(), base.createdAt(), status, bytes, isolated);
  }

  private static Snapshot.Status snapshotStatus(WireReader in) {
    String name = in.string();
    try {
      return Snapshot.Status.valueOf(name);
    } catch (IllegalArgumentException e) {
      throw in.corrupt("unknown snapshot status " + name);
    }
  }

  /** A list of strings: count (i32), then each string. */
  static WireWriter strings(WireWriter out, java.util.List<String> values) {
    out.i32(values.size());
    values.forEach(out::string);
    return out;
  }

  static java.util.List<String> strings(WireReader in) {
    int count = in.i32();
    if (count < 0) {
      throw in.corrupt("negative string count " + count);
    }
    java.util.List<String> values = new java.util.ArrayList<>(Math.min(count, 64));
    for (int i = 0; i < count; i++) {
      values.add(in.string());
    }
    return values;
  }

  static void acmeChallenge(WireWriter out, AcmeChallenge value) {
    strings(out.string(value.name()), value.values()).instant(value.expiresAt());
  }

  static AcmeChallenge acmeChallenge(WireReader in) {
    return new AcmeChallenge(in.string(), strings(in), in.instant());
  }

  static void zoneCertificate(WireWriter out, ZoneCertificate value) {
    out.string(value.zone()).string(value.chainPem()).string(value.keyPem()).instant(value.notAfter());
  }

  static ZoneCertificate zoneCertificate(WireReader in) {
    return new ZoneCertificate(in.string(), in.string(), in.string(), in.instant());
  }

  /**
   * A VM as snapshot format {@code version} wrote it (1 had no forks, 2 no auto-suspend or
   * snapshots, 6 no SSH port, 7 no image, 11 and older no isolation: none was isolated).
   */
  static Vm vm(WireReader in, int version) {
    return new Vm(in.string(), in.string(), in.string(), in.i32(), in.i64(), in.i64(), in.ipv4(), in.ipv4(),
        in.string(), in.instant(), desired(in), in.i64(), observed(in), version >= 2 ? in.string() : "",
        version >= 3 ? in.i32() : Vm.DEFAULT_AUTO_SUSPEND_SECS, version >= 3 ? in.string() : "", version >= 7 ? in.i32() : 0,
        version >= 8 ? in.string() : "", version >= SnapshotCodec.ISOLATION_VERSION && in.bool());
  }
}
