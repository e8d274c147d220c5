package dev.boxd.dns;

import static dev.boxd.dns.ZoneFixture.T0;
import static dev.boxd.dns.ZoneFixture.vm;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.core.BoxdException;
import dev.boxd.core.state.Command;
import dev.boxd.testkit.state.InMemoryStateStore;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Name;

class ReplicaZoneTest {

  @Test
  void aNewVmResolvesAsSoonAsTheReplicaAppliedIt() {
    try (var store = new InMemoryStateStore(ZoneFixture.accounts()); var zone = ReplicaZone.follow(store, ZoneFixture.LOCALHOST)) {
      Name app = Name.fromConstantString("app.localhost.");
      assertThat(zone.get().find(app, T0)).isEqualTo(ZoneIndex.Node.NONE);

      store.apply(vm("vm1", "u1", "app", "127.77.0.2", T0));
      ZoneIndex index = zone.get();
      assertThat(index.find(app, T0)).isInstanceOfSatisfying(ZoneIndex.Node.Host.class,
          host -> assertThat(host.address().getHostAddress()).isEqualTo("127.77.0.2"));
      assertThat(index.soa().getSerial()).isEqualTo(store.read().appliedIndex());
      assertThat(zone.get()).as("no rebuild while the state stands still").isSameAs(index);

      store.apply(new Command.DestroyVm("vm1"));
      assertThat(zone.get().find(app, T0)).isEqualTo(ZoneIndex.Node.NONE);
    }
  }

  @Test
  void aLaterStateReusesTheMapsUnlessANameAnAddressOrAChallengeChanged() {
    var state = ZoneFixture.apply(ZoneFixture.accounts(), vm("vm1", "u1", "app", "127.77.0.2", T0));
    ZoneIndex first = ZoneIndex.of(ZoneFixture.LOCALHOST, state);
    Name app = Name.fromConstantString("app.localhost.");

    var reported = ZoneFixture.apply(state, new Command.ReportObserved("vm1", "w1",
        new dev.boxd.core.state.VmObserved(dev.boxd.core.state.VmStatus.RUNNING, 42, "", T0, 0)),
        new Command.SetDesiredPower("vm1", dev.boxd.core.state.DesiredPower.STANDBY));
    ZoneIndex second = first.next(reported);
    assertThat(second.sharesRecordsWith(first)).as("a worker's report and a pause change no record").isTrue();
    assertThat(second.soa().getSerial()).isEqualTo(reported.appliedIndex());
    assertThat(second.source()).isSameAs(reported);
    assertThat(second.find(app, T0)).isInstanceOf(ZoneIndex.Node.Host.class);

    var withDb = ZoneFixture.apply(reported, vm("vm2", "u1", "db", "127.77.0.3", T0));
    ZoneIndex third = second.next(withDb);
    assertThat(third.sharesRecordsWith(second)).isFalse();
    assertThat(third.find(Name.fromConstantString("db.localhost."), T0)).isInstanceOf(ZoneIndex.Node.Host.class);

    var destroyed = ZoneFixture.apply(withDb, new Command.DestroyVm("vm1"));
    assertThat(third.next(destroyed).find(app, T0)).isEqualTo(ZoneIndex.Node.NONE);

    var challenged = ZoneFixture.apply(withDb, new Command.SetAcmeChallenge("_acme-challenge.localhost", java.util.List.of("t"), T0,
        T0.plusSeconds(60)));
    assertThat(third.next(challenged).find(Name.fromConstantString("_acme-challenge.localhost."), T0))
        .isEqualTo(new ZoneIndex.Node.Challenge(java.util.List.of("t")));
    var replaced = ZoneFixture.apply(challenged, new Command.SetAcmeChallenge("_acme-challenge.localhost", java.util.List.of("u"), T0,
        T0.plusSeconds(60)));
    assertThat(third.next(challenged).next(replaced).find(Name.fromConstantString("_acme-challenge.localhost."), T0))
        .isEqualTo(new ZoneIndex.Node.Challenge(java.util.List.of("u")));
  }

  @Test
  void aBadZoneOrAddressIsRefusedNamingIt() {
    assertThatThrownBy(() -> ZoneConfig.of("bad_zone", "127.0.0.1")).isInstanceOf(BoxdException.class)
        .hasMessageContaining("invalid DNS zone \"bad_zone\": expected labels of a-z, 0-9 and '-'");
    assertThatThrownBy(() -> ZoneConfig.of("a..b", "127.0.0.1")).hasMessageContaining("invalid DNS zone \"a..b\"");
    assertThatThrownBy(() -> ZoneConfig.of("localhost", "::1")).hasMessageContaining("invalid IPv4 address \"::1\"");
    ZoneConfig config = ZoneConfig.of("Boxd.Example.com.", "192.0.2.1");
    assertThat(config.zoneText()).isEqualTo("boxd.example.com");
    assertThat(config.nameServerName().toString()).isEqualTo("ns1.boxd.example.com.");
  }

  @Test
  void theListenFlagTakesAnIpv4AddressAndAPort() {
    assertThat(DnsRole.listenAddress("127.0.0.1:5300")).isEqualTo(new java.net.InetSocketAddress("127.0.0.1", 5300));
    assertThat(DnsRole.listenAddress("0.0.0.0:53").getPort()).isEqualTo(53);
    for (String bad : java.util.List.of("127.0.0.1", ":53", "localhost:53", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:x", "[::1]:53")) {
      assertThatThrownBy(() -> DnsRole.listenAddress(bad)).as(bad).isInstanceOf(BoxdException.class)
          .hasMessageContaining("invalid --dns \"" + bad + "\": expected ADDR:PORT");
    }
  }

  @Test
  void theIndexOfABiggerZoneAnswersFromItsOwnZoneOnly() {
    var state = ZoneFixture.apply(ZoneFixture.accounts(), vm("vm1", "u1", "app", "127.77.0.2", T0),
        new Command.SetAcmeChallenge("_acme-challenge.app.localhost", java.util.List.of("t"), T0, T0.plusSeconds(60)));
    ZoneIndex index = ZoneIndex.of(ZoneConfig.of("boxd.example.com", "192.0.2.1"), state);
    Instant now = T0;
    assertThat(index.find(Name.fromConstantString("app.boxd.example.com."), now)).isInstanceOf(ZoneIndex.Node.Host.class);
    assertThat(index.find(Name.fromConstantString("app.localhost."), now)).isEqualTo(ZoneIndex.Node.OUT_OF_ZONE);
    assertThat(index.find(Name.fromConstantString("_acme-challenge.app.boxd.example.com."), now))
        .as("a challenge outside the zone is not served; inside it is a name under app").isInstanceOf(ZoneIndex.Node.Host.class);
  }
}
