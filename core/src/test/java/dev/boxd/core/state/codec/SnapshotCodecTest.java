package dev.boxd.core.state.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.core.net.Ipv4;
import dev.boxd.core.state.Applied;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.Command;
import dev.boxd.core.state.DesiredPower;
import dev.boxd.core.state.Fsm;
import dev.boxd.core.state.Snapshot;
import dev.boxd.core.state.Vm;
import dev.boxd.core.state.VmObserved;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class SnapshotCodecTest {
  private static final HexFormat HEX = HexFormat.of();
  private static final Instant AT = Samples.AT;

  /** A snapshot written by the first release; it must keep loading. Never edit, only add. */
  private static final String GOLDEN_V1 =
      "424f5844534e4150000100000000000000050000000100000002753100000005616c69636500000000695735a5000000"
          + "060000000a00000001000000095348413235363a66670000000275310000000373736800000000695735a50000000600"
          + "00000100000001630000000a5348413235363a6e65770000000373736800000000695739290000000600000001000000"
          + "0277310000000668313a37303000000004000000000000200000000000695735a5000000060000000100000003766d31"
          + "0000000275310000000361707000000002000000000000040000000000000000640a4d0005cb00710700000002773100"
          + "000000695735a5000000060100000000000000000100000000000000000000000000000000695735a500000006000000"
          + "0000000000";
  // Version 3 adds autoSuspendSecs (30 here) and fromSnapshot (empty) to each VM, and a snapshots section (none).
  private static final String GOLDEN_V3 =
      "424f5844534e4150000300000000000000050000000100000002753100000005616c69636500000000695735a5000000"
          + "060000000a00000001000000095348413235363a66670000000275310000000373736800000000695735a50000000600"
          + "00000100000001630000000a5348413235363a6e65770000000373736800000000695739290000000600000001000000"
          + "0277310000000668313a37303000000004000000000000200000000000695735a5000000060000000100000003766d31"
          + "0000000275310000000361707000000002000000000000040000000000000000640a4d0005cb00710700000002773100"
          + "000000695735a5000000060100000000000000000100000000000000000000000000000000695735a500000006000000"
          + "0000000000000000000000001e0000000000000000";
  // Version 4 adds the source address (empty here) to each registration.
  private static final String GOLDEN_V4 =
      "424f5844534e4150000400000000000000050000000100000002753100000005616c69636500000000695735a5000000"
          + "060000000a00000001000000095348413235363a66670000000275310000000373736800000000695735a50000000600"
          + "00000100000001630000000a5348413235363a6e65770000000373736800000000695739290000000600000000000000"
          + "010000000277310000000668313a37303000000004000000000000200000000000695735a50000000600000001000000"
          + "03766d310000000275310000000361707000000002000000000000040000000000000000640a4d0005cb007107000000"
          + "02773100000000695735a5000000060100000000000000000100000000000000000000000000000000695735a5000000"
          + "060000000000000000000000000000001e0000000000000000";
  // Version 5 writes each user's whole quota (here the standard one) instead of a VM count.
  private static final String GOLDEN_V5 =
      "424f5844534e4150000500000000000000050000000100000002753100000005616c69636500000000695735a5000000"
          + "060000000a00000002000000000000200000000000000000640000000000000014000000000001400000000000000003"
          + "e800000001000000095348413235363a66670000000275310000000373736800000000695735a5000000060000000100"
          + "000001630000000a5348413235363a6e6577000000037373680000000069573929000000060000000000000001000000"
          + "0277310000000668313a37303000000004000000000000200000000000695735a5000000060000000100000003766d31"
          + "0000000275310000000361707000000002000000000000040000000000000000640a4d0005cb00710700000002773100"
          + "000000695735a5000000060100000000000000000100000000000000000000000000000000695735a500000006000000"
          + "0000000000000000000000001e0000000000000000";
  // Version 6 adds each snapshot's status and size (there are none here: the bytes differ only in the version).
  private static final String GOLDEN_V6 = GOLDEN_V5.replaceFirst("^424f5844534e41500005", "424f5844534e41500006");
  // Version 7 adds each VM's SSH port (0 here: none) after fromSnapshot, and sections of routes and forwards (none here).
  private static final String GOLDEN_V7 = GOLDEN_V6.replaceFirst("^424f5844534e41500006", "424f5844534e41500007")
      .replaceFirst("0000001e0000000000000000$", "0000001e" + "00000000" + "00000000" + "00000000" + "00000000" + "00000000");
  // Version 8 adds each VM's image name (empty here: the default image) after its SSH port.
  private static final String GOLDEN_V8 = GOLDEN_V7.replaceFirst("^424f5844534e41500007", "424f5844534e41500008")
      .replaceFirst("0000001e(00000000){5}$", "0000001e" + "00000000".repeat(6));
  // Version 9 adds ACME challenges (none here: an empty section at the end).
  private static final String GOLDEN_V9 = GOLDEN_V8.replaceFirst("^424f5844534e41500008", "424f5844534e41500009") + "00000000";
  // Version 10 adds zone certificates (none here: an empty section at the end).
  private static final String GOLDEN_V10 = GOLDEN_V9.replaceFirst("^424f5844534e41500009", "424f5844534e4150000a") + "00000000";
  // Version 11 adds API keys and the token signing key (none here: two empty sections at the end).
  private static final String GOLDEN_V11 = GOLDEN_V10.replaceFirst("^424f5844534e4150000a", "424f5844534e4150000b") + "00000000" + "00000000";
  // Version 12 adds whether each VM (false here: 00 after its image name) and each snapshot is isolated.
  private static final String GOLDEN_V12 = GOLDEN_V11.replaceFirst("^424f5844534e4150000b", "424f5844534e4150000c")
      .replaceFirst("0000001e(00000000){10}$", "0000001e" + "00000000".repeat(3) + "00" + "00000000".repeat(7));
  // Version 2 adds forkedFrom (empty here) at the end of each VM.
  private static final String GOLDEN_V2 =
      "424f5844534e4150000200000000000000050000000100000002753100000005616c69636500000000695735a5000000"
          + "060000000a00000001000000095348413235363a66670000000275310000000373736800000000695735a50000000600"
          + "00000100000001630000000a5348413235363a6e65770000000373736800000000695739290000000600000001000000"
          + "0277310000000668313a37303000000004000000000000200000000000695735a5000000060000000100000003766d31"
          + "0000000275310000000361707000000002000000000000040000000000000000640a4d0005cb00710700000002773100"
          + "000000695735a5000000060100000000000000000100000000000000000000000000000000695735a500000006000000"
          + "000000000000000000";

  @Test
  void roundTripsAStateWithEveryKindOfRecord() {
    ClusterState state = sample();

    assertThat(SnapshotCodec.decode(SnapshotCodec.encode(state))).isEqualTo(state);
  }

  @Test
  void theEncodingIsStable() {
    assertThat(HEX.formatHex(SnapshotCodec.encode(sample()))).isEqualTo(GOLDEN_V12);
    assertThat(SnapshotCodec.decode(HEX.parseHex(GOLDEN_V12))).isEqualTo(sample());
  }

  @Test
  void theTenthFormatStillLoadsWithNothingIsolated() {
    ClusterState loaded = SnapshotCodec.decode(HEX.parseHex(GOLDEN_V10));
    assertThat(loaded).isEqualTo(sample());
    assertThat(loaded.vm("vm1").orElseThrow().isolated()).isFalse();
  }

  @Test
  void anIsolatedVmAndItsSnapshotStayIsolated() {
    ClusterState state = Fsm.apply(sample(), 6, new Command.CreateVm("vm2", "u1", "box", 1, 512, 10, Ipv4.parse("10.77.0.6"),
        Ipv4.parse("203.0.113.8"), "w1", AT, "", true)).state();
    state = Fsm.apply(state, 7, new Command.SaveSnapshot(Snapshot.saving("s1", "u1", "base", "vm2", "box", "w1", 1, 512, 10, AT)))
        .state();
    byte[] bytes = SnapshotCodec.encode(state);
    ClusterState loaded = SnapshotCodec.decode(bytes);
    assertThat(loaded).isEqualTo(state);
    assertThat(loaded.vm("vm2").orElseThrow().isolated()).isTrue();
    assertThat(loaded.vm("vm1").orElseThrow().isolated()).isFalse();
    assertThat(loaded.snapshot("s1").orElseThrow().isolated()).isTrue();
    // the snapshot's record ends with its status, size and the flag; then empty routes, forwards, challenges, certificates, keys
    assertThat(HEX.formatHex(bytes)).endsWith(HEX.formatHex("SAVING".getBytes(StandardCharsets.US_ASCII)) + "0000000000000000" + "01"
        + "00000000".repeat(6));
  }

  @Test
  void theEleventhFormatStillLoadsWithNothingIsolated() {
    assertThat(SnapshotCodec.decode(HEX.parseHex(GOLDEN_V11))).isEqualTo(sample());
  }

  @Test
  void theTenthFormatStillLoadsWithoutApiKeys() {
    ClusterState loaded = SnapshotCodec.decode(HEX.parseHex(GOLDEN_V10));
    assertThat(loaded).isEqualTo(sample());
    assertThat(loaded.apiKeys()).isEmpty();
    assertThat(loaded.tokenSigningKey()).isEmpty();
  }

  @Test
  void apiKeysAndTheTokenSigningKeyAreKept() {
    byte[] secret = new byte[32];
    secret[0] = 7;
    ClusterState state = Fsm.apply(sample(), 6, new Command.CreateApiKey("key_a", "u1", "ci", "ab".repeat(32), AT,
        java.util.Optional.of(AT.plusSeconds(60)))).state();
    state = Fsm.apply(state, 7, new Command.CreateApiKey("key_b", "u1", "laptop", "cd".repeat(32), AT, java.util.Optional.empty())).state();
    state = Fsm.apply(state, 8, new Command.RevokeApiKey("key_b", "u1", AT.plusSeconds(5))).state();
    state = Fsm.apply(state, 9, new Command.SetTokenSigningKey(new dev.boxd.core.state.TokenSigningKey("sk1", secret), AT)).state();
    byte[] bytes = SnapshotCodec.encode(state);
    assertThat(HEX.formatHex(bytes)).endsWith("00000002"
        + "000000056b65795f61" + "000000027531" + "000000026369" + "00000040" + HEX.formatHex(("ab".repeat(32)).getBytes())
        + "00000000695735a500000006" + "01" + "00000000695735e100000006" + "00"
        + "000000056b65795f62" + "000000027531" + "000000066c6170746f70" + "00000040" + HEX.formatHex(("cd".repeat(32)).getBytes())
        + "00000000695735a500000006" + "00" + "01" + "00000000695735aa00000006"
        + "00000001" + "00000003736b31" + "00000020" + "07" + "00".repeat(31));
    ClusterState loaded = SnapshotCodec.decode(bytes);
    assertThat(loaded).isEqualTo(state);
    assertThat(loaded.apiKeyByHash("ab".repeat(32)).orElseThrow().id()).isEqualTo("key_a");
    assertThat(loaded.apiKey("key_b").orElseThrow().isRevoked()).isTrue();
    assertThat(loaded.tokenSigningKey().orElseThrow().secret()).isEqualTo(secret);
  }

  @Test
  void theNinthFormatStillLoadsWithoutZoneCertificates() {
    assertThat(SnapshotCodec.decode(HEX.parseHex(GOLDEN_V9))).isEqualTo(sample());
  }

  @Test
  void zoneCertificatesAreKept() {
    ClusterState state = Fsm.apply(sample(), 6, new Command.SetZoneCertificate("localhost", "-----BEGIN C-----", "-----BEGIN K-----",
        AT)).state();
    ClusterState loaded = SnapshotCodec.decode(SnapshotCodec.encode(state));
    assertThat(loaded).isEqualTo(state);
    assertThat(loaded.zoneCertificate("localhost").orElseThrow().keyPem()).isEqualTo("-----BEGIN K-----");
  }

  @Test
  void theSeventhAndEighthFormatsStillLoad() {
    assertThat(SnapshotCodec.decode(HEX.parseHex(GOLDEN_V7))).as("version 7 had no image names").isEqualTo(sample());
    assertThat(SnapshotCodec.decode(HEX.parseHex(GOLDEN_V8))).as("version 8 had no ACME challenges").isEqualTo(sample());
  }

  @Test
  void acmeChallengesAreKept() {
    ClusterState state = Fsm.apply(sample(), 6, new Command.SetAcmeChallenge("_acme-challenge.app.localhost", List.of("abc", "d"), AT,
        AT.plusSeconds(600))).state();
    state = Fsm.apply(state, 7, new Command.SetAcmeChallenge("_acme-challenge.localhost", List.of("apex"), AT, AT.plusSeconds(60)))
        .state();
    byte[] bytes = SnapshotCodec.encode(state);
    assertThat(HEX.formatHex(bytes)).endsWith("00000002"
        + "0000001d5f61636d652d6368616c6c656e67652e6170702e6c6f63616c686f7374" + "00000002" + "00000003616263" + "0000000164"
        + "00000000695737fd00000006"
        + "000000195f61636d652d6368616c6c656e67652e6c6f63616c686f7374" + "00000001" + "0000000461706578"
        + "00000000695735e100000006" + "00000000" + "00000000" + "00000000");
    ClusterState loaded = SnapshotCodec.decode(bytes);
    assertThat(loaded).isEqualTo(state);
    assertThat(loaded.acmeChallenge("_acme-challenge.localhost").orElseThrow().values()).containsExactly("apex");
  }

  @Test
  void theSixthFormatStillLoadsWithoutSshPortsRoutesOrForwards() {
    ClusterState loaded = SnapshotCodec.decode(HEX.parseHex(GOLDEN_V6));
    assertThat(loaded).isEqualTo(sample());
    assertThat(loaded.vm("vm1").orElseThrow().hasSshPort()).isFalse();
    assertThat(loaded.proxiesOf("vm1")).extracting(p -> p.name() + ":" + p.port()).containsExactly("default:8000");
    assertThat(loaded.exposures()).isEmpty();
  }

  @Test
  void theSixthFormatStillLoadsItsVmsAsOfTheDefaultImage() {
    ClusterState loaded = SnapshotCodec.decode(HEX.parseHex(GOLDEN_V6));
    assertThat(loaded).isEqualTo(sample());
    assertThat(loaded.vm("vm1").orElseThrow().image()).isEmpty();
  }

  @Test
  void aVmKeepsTheNameOfItsImage() {
    ClusterState state = Fsm.apply(sample(), 6, new Command.CreateVm("vm2", "u1", "imported", 1, 512, 10, Ipv4.parse("10.77.0.6"),
        Ipv4.parse("203.0.113.8"), "w1", AT, "deb-import")).state();
    ClusterState loaded = SnapshotCodec.decode(SnapshotCodec.encode(state));
    assertThat(loaded).isEqualTo(state);
    assertThat(loaded.vm("vm2").orElseThrow().image()).isEqualTo("deb-import");
  }

  @Test
  void theFifthFormatStillLoads() {
    assertThat(SnapshotCodec.decode(HEX.parseHex(GOLDEN_V5))).isEqualTo(sample());
  }

  @Test
  void aSnapshotKeepsItsStatusAndSizeAndOlderFormatsHeldSavedOnesOnly() {
    ClusterState state = sample();
    state = Fsm.apply(state, 6, new Command.SaveSnapshot(Snapshot.saving("s1", "u1", "base", "vm1", "app", "w1", 2, 1024, 100, AT)))
        .state();
    state = Fsm.apply(state, 7, new Command.SnapshotSaved("s1", "w1", 4096)).state();
    state = Fsm.apply(state, 8, new Command.SaveSnapshot(Snapshot.saving("s2", "u1", "next", "vm1", "app", "w1", 2, 1024, 100, AT)))
        .state();
    assertThat(state.snapshots()).hasSize(2);
    ClusterState loaded = SnapshotCodec.decode(SnapshotCodec.encode(state));
    assertThat(loaded).isEqualTo(state);
    assertThat(loaded.snapshot("s1").orElseThrow().bytes()).isEqualTo(4096);
    assertThat(loaded.snapshot("s2").orElseThrow().status()).isEqualTo(Snapshot.Status.SAVING);

    WireWriter v5 = new WireWriter();
    RecordWire.snapshot(v5, state.snapshot("s1").orElseThrow());
    Snapshot old = RecordWire.snapshotInState(new WireReader(v5.toBytes(), "test"), 5);
    assertThat(old.isSaved()).isTrue();
    assertThat(old.bytes()).isZero();
  }

  @Test
  void theThirdFormatStillLoads() {
    assertThat(SnapshotCodec.decode(HEX.parseHex(GOLDEN_V3))).as("version 3 had no registration source and a VM count: the quota for that many VMs")
        .isEqualTo(sample());
  }

  @Test
  void theFourthFormatStillLoads() {
    assertThat(SnapshotCodec.decode(HEX.parseHex(GOLDEN_V4))).as("version 4 had a VM count: the quota for that many VMs")
        .isEqualTo(sample());
  }

  @Test
  void aRegistrationKeepsItsSource() {
    ClusterState state = Fsm.apply(ClusterState.empty(), 1,
        new Command.OpenRegistrationFrom("C0DE", "SHA256:k", "ssh", "192.0.2.7", AT, AT.plusSeconds(3600))).state();
    ClusterState loaded = SnapshotCodec.decode(SnapshotCodec.encode(state));
    assertThat(loaded).isEqualTo(state);
    assertThat(loaded.registration("C0DE").orElseThrow().source()).isEqualTo("192.0.2.7");
  }

  @Test
  void theSecondFormatStillLoads() {
    assertThat(SnapshotCodec.decode(HEX.parseHex(GOLDEN_V2))).as("version 2 had no auto-suspend: the default")
        .isEqualTo(sample());
  }

  @Test
  void theFirstFormatStillLoads() {
    ClusterState loaded = SnapshotCodec.decode(HEX.parseHex(GOLDEN_V1));
    assertThat(loaded).as("version 1 had no forks: forkedFrom reads as empty").isEqualTo(sample());
    assertThat(loaded.vmByName("u1", "app")).isPresent();
  }

  @Test
  void foreignOrContradictoryBytesAreCorrupt() {
    assertThatThrownBy(() -> SnapshotCodec.decode(HEX.parseHex("00112233")))
        .isInstanceOf(CorruptDataException.class).hasMessageContaining("truncated");
    assertThatThrownBy(() -> SnapshotCodec.decode("NOTASNAPSHOT".getBytes()))
        .isInstanceOf(CorruptDataException.class).hasMessageContaining("no BOXDSNAP header");
    assertThatThrownBy(() -> SnapshotCodec.decode(HEX.parseHex("424f5844534e4150000d")))
        .isInstanceOf(CorruptDataException.class).hasMessageContaining("snapshot format version 13 is not known to this boxd (knows 1 to 12)");

    Vm vm = sample().vm("vm1").orElseThrow();
    Vm twin = new Vm("vm2", vm.ownerId(), "other", 1, 1, 1, vm.ip(), vm.publicIp(), vm.workerId(), AT,
        DesiredPower.RUNNING, 0, VmObserved.initial(AT), "", 30, "");
    WireWriter out = new WireWriter().raw("BOXDSNAP".getBytes(StandardCharsets.US_ASCII)).u16(SnapshotCodec.VERSION).i64(9)
        .i32(0).i32(0).i32(0).i32(0).i32(2);
    RecordWire.vm(out, vm);
    RecordWire.vm(out, twin);
    out.i32(0).i32(0).i32(0).i32(0).i32(0); // no snapshots, routes, forwards, ACME challenges or zone certificates
    out.i32(0).i32(0); // no API keys, no token signing key
    assertThatThrownBy(() -> SnapshotCodec.decode(out.toBytes()))
        .isInstanceOf(CorruptDataException.class)
        .hasMessageContaining("corrupt snapshot at index 9")
        .hasMessageContaining("two VMs with address 10.77.0.5");
  }

  static ClusterState sample() {
    ClusterState state = ClusterState.empty();
    List<Command> commands = List.of(
        new Command.CreateUser("u1", "alice", AT, 10),
        new Command.AddKey("u1", "SHA256:fg", "ssh", AT),
        new Command.OpenRegistration("c", "SHA256:new", "ssh", AT.plusSeconds(900)),
        new Command.RegisterWorker("w1", "h1:700", 4, 8192, AT),
        new Command.CreateVm("vm1", "u1", "app", 2, 1024, 100, Ipv4.parse("10.77.0.5"), Ipv4.parse("203.0.113.7"), "w1", AT));
    for (Command command : commands) {
      Applied applied = Fsm.apply(state, state.appliedIndex() + 1, command);
      assertThat(applied.result().isOk()).as("%s", command).isTrue();
      state = applied.state();
    }
    assertThat(state.users()).hasSize(1);
    assertThat(state.keys()).hasSize(1);
    assertThat(state.registrations()).hasSize(1);
    assertThat(state.workers()).hasSize(1);
    assertThat(state.vms()).hasSize(1);
    return state;
  }
}
