package dev.boxd.core.state.codec;

import dev.boxd.core.net.Ipv4;
import dev.boxd.core.state.Command;
import dev.boxd.core.state.DesiredPower;
import dev.boxd.core.state.VmObserved;
import dev.boxd.core.state.VmStatus;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/** One sample entry of every command, with the bytes it was first released as. */
final class Samples {
  static final Instant AT = Instant.parse("2026-01-02T03:04:05.000000006Z");

  private Samples() {}

  /** Command class -> (sample, golden hex). Append for a new command; never edit an existing row. */
  static Map<Class<?>, Map.Entry<Command, String>> golden() {
    Map<Class<?>, Map.Entry<Command, String>> rows = new LinkedHashMap<>();
    row(rows, new Command.CreateUser("u1", "alice", AT, 10),
        "01000100000002753100000005616c69636500000000695735a5000000060000000a");
    row(rows, new Command.AddKey("u1", "SHA256:fp", "ssh-ed25519 AAAA a@b", AT),
        "010002000000027531000000095348413235363a6670000000147373682d6564323535313920414141412061406200000000695735a500000006");
    row(rows, new Command.RemoveKey("SHA256:fp"),
        "010003000000095348413235363a6670");
    row(rows, new Command.OpenRegistration("c0de", "SHA256:fp", "ssh-ed25519 AAAA a@b", AT),
        "0100040000000463306465000000095348413235363a6670000000147373682d6564323535313920414141412061406200000000695735a500000006");
    row(rows, new Command.ApproveRegistration("c0de", "u1", "alice", AT),
        "010005000000046330646500000002753100000005616c69636500000000695735a500000006");
    row(rows, new Command.RegisterWorker("w1", "10.0.0.1:7000", 4, 8192, AT),
        "0100060000000277310000000d31302e302e302e313a3730303000000004000000000000200000000000695735a500000006");
    row(rows, new Command.CreateVm("vm1", "u1", "app", 2, 1024, 100, Ipv4.parse("10.77.0.5"),
        Ipv4.parse("203.0.113.7"), "w1", AT),
        "01000700000003766d310000000275310000000361707000000002000000000000040000000000000000640a4d0005cb00710700000002773100000000695735a500000006");
    row(rows, new Command.SetDesiredPower("vm1", DesiredPower.STANDBY),
        "01000800000003766d3102");
    row(rows, new Command.Reboot("vm1"),
        "01000900000003766d31");
    row(rows, new Command.DestroyVm("vm1"),
        "01000a00000003766d31");
    row(rows, new Command.ReportObserved("vm1", "w1", new VmObserved(VmStatus.RUNNING, 4242, "ok", AT, 1)),
        "01000b00000003766d31000000027731030000000000001092000000026f6b00000000695735a5000000060000000000000001");
    row(rows, new Command.RemoveVm("vm1", "w1"),
        "01000c00000003766d31000000027731");
    row(rows, new Command.SetUserQuota("u1", 20),
        "01000d00000002753100000014");
    row(rows, new Command.SetAutoSuspend("vm1", 45), "01000f00000003766d310000002d");
    row(rows, new Command.IdleSleep("vm1", "w1", DesiredPower.HIBERNATED), "01001000000003766d3100000002773105");
    row(rows, new Command.TrafficWake("vm1", "w1"), "01001100000003766d31000000027731");
    row(rows, new Command.AddSnapshot(dev.boxd.core.state.Snapshot.saving("s1", "u1", "base", "vm1", "app", "w1", 2, 1024, 100, AT)),
        "010012000000027331000000027531000000046261736500000003766d3100000003617070000000027731000000020000000000000400000000000000006400000000695735a500000006");
    row(rows, new Command.SaveSnapshot(dev.boxd.core.state.Snapshot.saving("s1", "u1", "base", "vm1", "app", "w1", 2, 1024, 100, AT)),
        "010016000000027331000000027531000000046261736500000003766d3100000003617070000000027731000000020000000000000400000000000000006400000000695735a500000006");
    row(rows, new Command.SnapshotSaved("s1", "w1", 4096), "0100170000000273310000000277310000000000001000");
    row(rows, new Command.RemoveSnapshot("s1"), "010013000000027331");
    row(rows, new Command.CreateFromSnapshot("vm3", "s1", "copy", Ipv4.parse("10.77.0.7"), Ipv4.parse("203.0.113.9"), AT),
        "01001400000003766d3300000002733100000004636f70790a4d0007cb00710900000000695735a500000006");
    row(rows, new Command.ForkVm("vm2", "vm1", "app-fork", Ipv4.parse("10.77.0.6"), Ipv4.parse("203.0.113.8"), AT),
        "01000e00000003766d3200000003766d31000000086170702d666f726b0a4d0006cb00710800000000695735a500000006");
    row(rows, new Command.OpenRegistrationFrom("c0de", "SHA256:fp", "ssh-ed25519 AAAA a@b", "192.0.2.1", AT, AT.plusSeconds(3600)),
        "0100150000000463306465000000095348413235363a6670000000147373682d65643235353139204141414120614062000000093139322e302e322e3100000000695735a50000000600000000695743b500000006");
    row(rows, new Command.SetQuota("u1", new dev.boxd.core.state.Quota(12, 4, 16384, 200, 24, 98304, 1200)),
        "0100190000000275310000000c00000004000000000000400000000000000000c80000000000000018000000000001800000000000000004b0");
    row(rows, new Command.SetAcmeChallenge("_acme-challenge.app.localhost", java.util.List.of("abc", "d"), AT, AT.plusSeconds(600)),
        "0100220000001d5f61636d652d6368616c6c656e67652e6170702e6c6f63616c686f73740000000200000003616263000000016400000000695735a5"
            + "0000000600000000695737fd00000006");
    row(rows, new Command.ClearAcmeChallenge("_acme-challenge.app.localhost"), "0100230000001d5f61636d652d6368616c6c656e67652e6170702e6c6f63616c686f7374");
    row(rows, new Command.SetZoneCertificate("localhost", "-----BEGIN C-----", "-----BEGIN K-----", AT),
        "010024000000096c6f63616c686f7374000000112d2d2d2d2d424547494e20432d2d2d2d2d000000112d2d2d2d2d424547494e204b2d2d2d2d2d00000000695735a500000006");
    row(rows, new Command.AddProxy("vm1", "web", 3000), "01001a00000003766d3100000003776562" + "00000bb8");
    row(rows, new Command.SetProxyPort("vm1", "default", 8080), "01001b00000003766d310000000764656661756c7400001f90");
    row(rows, new Command.RemoveProxy("vm1", "web"), "01001c00000003766d3100000003776562");
    row(rows, new Command.Expose("vm1", dev.boxd.core.state.Exposure.Protocol.UDP, 5000, 40001),
        "01001d00000003766d31020000138800009c41");
    row(rows, new Command.Unexpose("vm1", dev.boxd.core.state.Exposure.Protocol.TCP, 5000), "01001e00000003766d310100001388");
    row(rows, new Command.SetSshPort("vm1", 10022), "01001f00000003766d3100002726");
    row(rows, new Command.CreateApiKey("key_1", "u1", "ci", "ab".repeat(32), AT, java.util.Optional.of(AT.plusSeconds(60))),
        "010025000000056b65795f31000000027531000000026369" + "00000040" + "6162".repeat(32)
            + "00000000695735a500000006" + "01" + "00000000695735e100000006");
    row(rows, new Command.RevokeApiKey("key_1", "u1", AT), "010026000000056b65795f3100000002753100000000695735a500000006");
    row(rows, new Command.SetTokenSigningKey(new dev.boxd.core.state.TokenSigningKey("sk1", new byte[32]), AT), 
        "01002700000003736b31" + "00000020" + "00".repeat(32) + "00000000695735a500000006");
    return rows;
  }

  private static void row(Map<Class<?>, Map.Entry<Command, String>> rows, Command command, String hex) {
    rows.put(command.getClass(), Map.entry(command, hex));
  }
}
