package dev.boxd.server;

import static dev.boxd.testkit.server.LiveServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxd.testkit.server.LiveServer;
import dev.boxd.testkit.server.SshUser;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The dns role of a real {@code boxd server}, asked by the real {@code dig} over UDP and TCP: a
 * VM's name resolves as soon as {@code new} returns and stops when it is destroyed; the apex has
 * its SOA and NS; other zones are refused; an ACME challenge written through the server's admin
 * socket (into the log) is served as TXT.
 */
class DnsRoleTest {
  @RegisterExtension
  static final LiveServer live = LiveServer.shared();
  static SshUser alice;
  static Dig dig;

  @BeforeAll
  static void setUp() throws Exception {
    alice = live.user("dns-alice");
    dig = new Dig(live.server().dnsPort);
  }

  @Test
  void aVmResolvesAsSoonAsNewReturnsWithTtl60AndNoLongerOnceDestroyed() throws Exception {
    JsonNode web = json(alice.run("new", "--name=dns-web", "--json"));
    String ip = web.path("public_ip").asText();
    assertThat(ip).startsWith("127.77.");
    for (String transport : List.of("+notcp", "+tcp")) {
      for (String name : List.of("dns-web.localhost", "api.dns-web.localhost", "WWW.Dns-Web.LocalHost")) {
        Dig.Answer a = dig.ask(name, "A", transport);
        assertThat(a.status()).as("%s %s", name, transport).isEqualTo("NOERROR");
        assertThat(a.flags()).contains("qr", "aa").doesNotContain("ra");
        assertThat(a.answer()).as(a.output()).containsExactly(new Dig.Rr(name + ".", 60, "A", ip));
      }
      Dig.Answer aaaa = dig.ask("dns-web.localhost", "AAAA", transport);
      assertThat(aaaa.status()).isEqualTo("NOERROR");
      assertThat(aaaa.answer()).as("NODATA").isEmpty();
      assertThat(aaaa.authority()).extracting(Dig.Rr::type).containsExactly("SOA");
    }

    assertThat(alice.run("destroy", "-y", "dns-web").exit()).isZero();
    for (String transport : List.of("+notcp", "+tcp")) {
      Dig.Answer gone = dig.ask("dns-web.localhost", "A", transport);
      assertThat(gone.status()).as(gone.output()).isEqualTo("NXDOMAIN");
      assertThat(gone.authority()).singleElement().satisfies(soa -> {
        assertThat(soa.type()).isEqualTo("SOA");
        assertThat(soa.ttl()).isEqualTo(60);
      });
    }
  }

  @Test
  void theApexHasAnSoaAndAnNsWhoseAddressIsTheServers() throws Exception {
    for (String transport : List.of("+notcp", "+tcp")) {
      Dig.Answer soa = dig.ask("localhost", "SOA", transport);
      assertThat(soa.flags()).contains("aa");
      assertThat(soa.answer()).singleElement().satisfies(rr -> {
        assertThat(rr.type()).isEqualTo("SOA");
        assertThat(rr.data()).matches("ns1\\.localhost\\. hostmaster\\.localhost\\. \\d+ 3600 600 1209600 60");
      });
      Dig.Answer ns = dig.ask("localhost", "NS", transport);
      assertThat(ns.answer()).containsExactly(new Dig.Rr("localhost.", 3600, "NS", "ns1.localhost."));
      assertThat(ns.additional()).containsExactly(new Dig.Rr("ns1.localhost.", 3600, "A", "127.0.0.1"));
    }
  }

  @Test
  void theServersStartupHintSaysHowToAskIt() {
    assertThat(live.server().log()).contains("dig @127.0.0.1 -p " + live.server().dnsPort + " app.localhost");
  }

  @Test
  void otherZonesAreRefused() throws Exception {
    for (String transport : List.of("+notcp", "+tcp")) {
      Dig.Answer refused = dig.ask("example.com", "A", transport);
      assertThat(refused.status()).isEqualTo("REFUSED");
      assertThat(refused.flags()).doesNotContain("aa");
      assertThat(refused.answer()).isEmpty();
    }
  }

  @Test
  void anAcmeChallengeWrittenToTheLogIsServedAsTxtUntilCleared() throws Exception {
    String set = live.server().admin("set-acme-challenge", "_acme-challenge.LocalHost.", "token-a", "token-b", "--expires-in", "600");
    assertThat(set).contains("2 TXT value(s) at _acme-challenge.localhost");
    for (String transport : List.of("+notcp", "+tcp")) {
      Dig.Answer txt = dig.ask("_acme-challenge.localhost", "TXT", transport);
      assertThat(txt.status()).as(txt.output()).isEqualTo("NOERROR");
      assertThat(txt.answer()).extracting(Dig.Rr::data).containsExactlyInAnyOrder("\"token-a\"", "\"token-b\"");
      assertThat(txt.answer()).allSatisfy(rr -> assertThat(rr.ttl()).isEqualTo(60));
    }
    assertThat(live.server().admin("set-acme-challenge", "app.localhost", "x"))
        .as("the log names what is wrong").contains("invalid ACME challenge name \"app.localhost\"");

    live.server().admin("clear-acme-challenge", "_acme-challenge.localhost");
    assertThat(dig.ask("_acme-challenge.localhost", "TXT").status()).isEqualTo("NXDOMAIN");
  }
}
