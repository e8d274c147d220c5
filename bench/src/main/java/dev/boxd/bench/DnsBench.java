package dev.boxd.bench;

import dev.boxd.core.net.Ipv4;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.DesiredPower;
import dev.boxd.core.state.Quota;
import dev.boxd.core.state.User;
import dev.boxd.core.state.Vm;
import dev.boxd.core.state.VmObserved;
import dev.boxd.core.state.VmStatus;
import dev.boxd.core.state.Worker;
import dev.boxd.dns.DnsRole;
import dev.boxd.dns.ZoneConfig;
import dev.boxd.testkit.state.InMemoryStateStore;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * The dns role over a replica holding {@code COUNT} running VMs ({@code vm00000} … on 127.77.x.y,
 * 100 per account), for {@code bench/dns.sh}: the same path as {@code boxd server}'s dns role
 * (replica, index, listener), with the state restored as a snapshot would be instead of replayed
 * from a log. Writes the same names as an nsd zone file and a dnsperf query file, prints
 * "serving" and runs until killed.
 *
 * <p>Usage: {@code DnsBench PORT COUNT ZONEFILE QUERYFILE}
 */
public final class DnsBench {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    int count = Integer.parseInt(args[1]);
    ClusterState state = state(count);
    writeZoneFile(Path.of(args[2]), state);
    writeQueries(Path.of(args[3]), state);
    try (var store = new InMemoryStateStore(state);
        var role = DnsRole.start(store, ZoneConfig.of("localhost", "127.0.0.1"), new InetSocketAddress("127.0.0.1", port))) {
      System.out.println("serving " + count + " VM names on " + role.address());
      System.out.flush();
      new CountDownLatch(1).await();
    }
  }

  static ClusterState state(int count) {
    List<User> users = new ArrayList<>();
    List<Vm> vms = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String owner = "u" + (i / 100);
      if (i % 100 == 0) {
        users.add(new User(owner, "user" + (i / 100), T0, Quota.ofVms(100)));
      }
      Ipv4 publicIp = Ipv4.parse("127.77.0.0").plus(i + 2);
      vms.add(new Vm("vm" + i, owner, name(i), 1, 512, 10, Ipv4.parse("10.0.0.0").plus(i + 2), publicIp, "w1", T0,
          DesiredPower.RUNNING, 0, new VmObserved(VmStatus.RUNNING, 0, "", T0, 0), "", 30, ""));
    }
    Worker worker = new Worker("w1", "127.0.0.1:7000", 64, 1 << 22, T0);
    return ClusterState.restore(count + 1L, users, List.of(), List.of(), List.of(worker), vms, List.of());
  }

  private static String name(int i) {
    return String.format("vm%05d", i);
  }

  // The anchor's zone: the records boxd's index holds for the same state.
  private static void writeZoneFile(Path file, ClusterState state) throws IOException {
    StringBuilder zone = new StringBuilder("$ORIGIN localhost.\n$TTL 60\n")
        .append("@ 60 IN SOA ns1.localhost. hostmaster.localhost. ").append(state.appliedIndex())
        .append(" 3600 600 1209600 60\n@ 3600 IN NS ns1.localhost.\nns1 3600 IN A 127.0.0.1\n");
    for (Vm vm : state.vms()) {
      zone.append(vm.name()).append(" IN A ").append(vm.publicIp()).append('\n')
          .append("*.").append(vm.name()).append(" IN A ").append(vm.publicIp()).append('\n');
    }
    Files.writeString(file, zone, StandardCharsets.US_ASCII);
  }

  // Every name once, in a shuffled but fixed order: mostly NAME, every fourth SUB.NAME, every tenth a name that is not there.
  private static void writeQueries(Path file, ClusterState state) throws IOException {
    List<String> names = state.vms().stream().map(Vm::name).toList();
    StringBuilder queries = new StringBuilder();
    java.util.Random random = new java.util.Random(42);
    for (int i = 0; i < names.size(); i++) {
      String name = names.get(random.nextInt(names.size()));
      String qname = i % 10 == 9 ? "missing" + i : i % 4 == 3 ? "www." + name : name;
      queries.append(qname).append(".localhost A\n");
    }
    Files.writeString(file, queries, StandardCharsets.US_ASCII);
  }
}
