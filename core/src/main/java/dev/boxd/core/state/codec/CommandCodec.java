package dev.boxd.core.state.codec;

import dev.boxd.core.state.Command;
import dev.boxd.core.state.Command.AddKey;
import dev.boxd.core.state.Command.ApproveRegistration;
import dev.boxd.core.state.Command.CreateUser;
import dev.boxd.core.state.Command.CreateVm;
import dev.boxd.core.state.Command.DestroyVm;
import dev.boxd.core.state.Command.ForkVm;
import dev.boxd.core.state.Command.IdleSleep;
import dev.boxd.core.state.Command.SetAutoSuspend;
import dev.boxd.core.state.Command.TrafficWake;
import dev.boxd.core.state.Command.OpenRegistration;
import dev.boxd.core.state.Command.Reboot;
import dev.boxd.core.state.Command.RegisterWorker;
import dev.boxd.core.state.Command.RemoveKey;
import dev.boxd.core.state.Command.RemoveVm;
import dev.boxd.core.state.Command.ReportObserved;
import dev.boxd.core.state.Command.SetDesiredPower;
import dev.boxd.core.state.Command.SetUserQuota;

/**
 * The bytes of a log entry: format version (u8, now 1), command tag (u16), then the command's
 * fields in declaration order. The log is kept for good, so an encoding never changes once
 * released: tags are append-only, a changed command gets a new tag (the old one stays decodable),
 * and {@code CommandCodecTest} holds golden bytes of every tag.
 */
public final class CommandCodec {
  static final int VERSION = 1;

  private CommandCodec() {}

  public static byte[] encode(Command command) {
    WireWriter out = new WireWriter().u8(VERSION);
    switch (command) {
      case CreateUser c -> out.u16(1).string(c.userId()).string(c.name()).instant(c.at()).i32(c.maxVms());
      case AddKey c -> out.u16(2).string(c.userId()).string(c.fingerprint()).string(c.publicKey()).instant(c.at());
      case RemoveKey c -> out.u16(3).string(c.fingerprint());
      case OpenRegistration c ->
          out.u16(4).string(c.code()).string(c.fingerprint()).string(c.publicKey()).instant(c.expiresAt());
      case ApproveRegistration c ->
          out.u16(5).string(c.code()).string(c.userId()).string(c.userName()).instant(c.at());
      case RegisterWorker c ->
          out.u16(6).string(c.workerId()).string(c.address()).i32(c.vcpus()).i64(c.memoryMib()).instant(c.at());
      // a VM of the default image keeps tag 7's bytes; one of a named image is tag 32, the same and its name
      case CreateVm c when c.image().isEmpty() && !c.isolated() -> out.u16(7).string(c.vmId()).string(c.ownerId()).string(c.name())
          .i32(c.vcpus()).i64(c.memoryMib()).i64(c.diskGb()).ipv4(c.ip()).ipv4(c.publicIp())
          .string(c.workerId()).instant(c.at());
      // an isolated VM (of any image) is tag 40: tag 32's fields, then the flag (u8 1)
      case CreateVm c when c.isolated() -> out.u16(40).string(c.vmId()).string(c.ownerId()).string(c.name())
          .i32(c.vcpus()).i64(c.memoryMib()).i64(c.diskGb()).ipv4(c.ip()).ipv4(c.publicIp())
          .string(c.workerId()).instant(c.at()).string(c.image()).bool(c.isolated());
      case CreateVm c -> out.u16(32).string(c.vmId()).string(c.ownerId()).string(c.name())
          .i32(c.vcpus()).i64(c.memoryMib()).i64(c.diskGb()).ipv4(c.ip()).ipv4(c.publicIp())
          .string(c.workerId()).instant(c.at()).string(c.image());
      case SetDesiredPower c -> RecordWire.desired(out.u16(8).string(c.vmId()), c.desired());
      case Reboot c -> out.u16(9).string(c.vmId());
      case DestroyVm c -> out.u16(10).string(c.vmId());
      case ReportObserved c -> RecordWire.observed(out.u16(11).string(c.vmId()).string(c.workerId()), c.observed());
      case RemoveVm c -> out.u16(12).string(c.vmId()).string(c.workerId());
      case SetUserQuota c -> out.u16(13).string(c.userId()).i32(c.maxVms());
      case Command.SetQuota c -> RecordWire.quota(out.u16(25).string(c.userId()), c.quota());
      case SetAutoSuspend c -> out.u16(15).string(c.vmId()).i32(c.seconds());
      case IdleSleep c -> RecordWire.desired(out.u16(16).string(c.vmId()).string(c.workerId()), c.power());
      case TrafficWake c -> out.u16(17).string(c.vmId()).string(c.workerId());
      case Command.AddSnapshot c -> {
        out.u16(18);
        RecordWire.snapshot(out, c.snapshot());
      }
      case Command.RemoveSnapshot c -> out.u16(19).string(c.snapshotId());
      case Command.SaveSnapshot c -> {
        out.u16(22);
        RecordWire.snapshot(out, c.snapshot());
      }
      case Command.SnapshotSaved c -> out.u16(23).string(c.snapshotId()).string(c.workerId()).i64(c.bytes());
      case Command.CreateFromSnapshot c -> out.u16(20).string(c.vmId()).string(c.snapshotId()).string(c.name()).ipv4(c.ip())
          .ipv4(c.publicIp()).instant(c.at());
      case Command.OpenRegistrationFrom c -> out.u16(21).string(c.code()).string(c.fingerprint()).string(c.publicKey())
          .string(c.source()).instant(c.at()).instant(c.expiresAt());
      case ForkVm c -> out.u16(14).string(c.vmId()).string(c.sourceVmId()).string(c.name()).ipv4(c.ip()).ipv4(c.publicIp())
          .instant(c.at());
      case Command.SetAcmeChallenge c -> RecordWire.strings(out.u16(34).string(c.name()), c.values()).instant(c.at()).instant(c.expiresAt());
      case Command.ClearAcmeChallenge c -> out.u16(35).string(c.name());
      case Command.SetZoneCertificate c -> out.u16(36).string(c.zone()).string(c.chainPem()).string(c.keyPem()).instant(c.notAfter());
      case Command.AddProxy c -> out.u16(26).string(c.vmId()).string(c.name()).i32(c.port());
      case Command.SetProxyPort c -> out.u16(27).string(c.vmId()).string(c.name()).i32(c.port());
      case Command.RemoveProxy c -> out.u16(28).string(c.vmId()).string(c.name());
      case Command.Expose c -> RecordWire.protocol(out.u16(29).string(c.vmId()), c.protocol()).i32(c.vmPort()).i32(c.publicPort());
      case Command.Unexpose c -> RecordWire.protocol(out.u16(30).string(c.vmId()), c.protocol()).i32(c.vmPort());
      case Command.SetSshPort c -> out.u16(31).string(c.vmId()).i32(c.port());
      case Command.CreateApiKey c -> ApiKeyWire.optionalInstant(out.u16(37).string(c.keyId()).string(c.userId()).string(c.name())
          .string(c.secretSha256()).instant(c.at()), c.expiresAt());
      case Command.RevokeApiKey c -> out.u16(38).string(c.keyId()).string(c.userId()).instant(c.at());
      case Command.SetTokenSigningKey c -> ApiKeyWire.signingKey(out.u16(39), c.key()).instant(c.at());
    }
    return out.toBytes();
  }

  public static Command decode(byte[] bytes) {
    WireReader in = new WireReader(bytes, "log entry");
    int version = in.u8();
    if (version != VERSION) {
      throw in.corrupt("command format version " + version + " is not known to this boxd (knows " + VERSION + ")");
    }
    int tag = in.u16();
    Command command = switch (tag) {
      case 1 -> new CreateUser(in.string(), in.string(), in.instant(), in.i32());
      case 2 -> new AddKey(in.string(), in.string(), in.string(), in.instant());
      case 3 -> new RemoveKey(in.string());
      case 4 -> new OpenRegistration(in.string(), in.string(), in.string(), in.instant());
      case 5 -> new ApproveRegistration(in.string(), in.string(), in.string(), in.instant());
      case 6 -> new RegisterWorker(in.string(), in.string(), in.i32(), in.i64(), in.instant());
      case 7 -> new CreateVm(in.string(), in.string(), in.string(), in.i32(), in.i64(), in.i64(), in.ipv4(),
          in.ipv4(), in.string(), in.instant());
      case 32 -> new CreateVm(in.string(), in.string(), in.string(), in.i32(), in.i64(), in.i64(), in.ipv4(),
          in.ipv4(), in.string(), in.instant(), in.string());
      case 40 -> new CreateVm(in.string(), in.string(), in.string(), in.i32(), in.i64(), in.i64(), in.ipv4(),
          in.ipv4(), in.string(), in.instant(), in.string(), in.bool());
      case 8 -> new SetDesiredPower(in.string(), RecordWire.desired(in));
      case 9 -> new Reboot(in.string());
      case 10 -> new DestroyVm(in.string());
      case 11 -> new ReportObserved(in.string(), in.string(), RecordWire.observed(in));
      case 12 -> new RemoveVm(in.string(), in.string());
      case 13 -> new SetUserQuota(in.string(), in.i32());
      case 25 -> new Command.SetQuota(in.string(), RecordWire.quota(in));
      case 15 -> new SetAutoSuspend(in.string(), in.i32());
      case 16 -> new IdleSleep(in.string(), in.string(), RecordWire.desired(in));
      case 17 -> new TrafficWake(in.string(), in.string());
      case 18 -> new Command.AddSnapshot(RecordWire.snapshot(in));
      case 19 -> new Command.RemoveSnapshot(in.string());
      case 22 -> new Command.SaveSnapshot(RecordWire.snapshot(in));
      case 23 -> new Command.SnapshotSaved(in.string(), in.string(), in.i64());
      case 20 -> new Command.CreateFromSnapshot(in.string(), in.string(), in.string(), in.ipv4(), in.ipv4(), in.instant());
      case 21 -> new Command.OpenRegistrationFrom(in.string(), in.string(), in.string(), in.string(), in.instant(), in.instant());
      case 14 -> new ForkVm(in.string(), in.string(), in.string(), in.ipv4(), in.ipv4(), in.instant());
      case 34 -> new Command.SetAcmeChallenge(in.string(), RecordWire.strings(in), in.instant(), in.instant());
      case 35 -> new Command.ClearAcmeChallenge(in.string());
      case 36 -> new Command.SetZoneCertificate(in.string(), in.string(), in.string(), in.instant());
      case 26 -> new Command.AddProxy(in.string(), in.string(), in.i32());
      case 27 -> new Command.SetProxyPort(in.string(), in.string(), in.i32());
      case 28 -> new Command.RemoveProxy(in.string(), in.string());
      case 29 -> new Command.Expose(in.string(), RecordWire.protocol(in), in.i32(), in.i32());
      case 30 -> new Command.Unexpose(in.string(), RecordWire.protocol(in), in.i32());
      case 31 -> new Command.SetSshPort(in.string(), in.i32());
      case 37 -> new Command.CreateApiKey(in.string(), in.string(), in.string(), in.string(), in.instant(), ApiKeyWire.optionalInstant(in));
      case 38 -> new Command.RevokeApiKey(in.string(), in.string(), in.instant());
      case 39 -> new Command.SetTokenSigningKey(ApiKeyWire.signingKey(in), in.instant());
      default -> throw in.corrupt("unknown command tag " + tag + " (written by a newer boxd?)");
    };
    in.end();
    return command;
  }
}
