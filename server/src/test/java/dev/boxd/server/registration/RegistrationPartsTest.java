package dev.boxd.server.registration;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.state.Command;
import dev.boxd.edge.http.ZonePages;
import dev.boxd.testkit.state.InMemoryStateStore;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The pure parts of registration: account ids and names, flows in progress, query and cookie parsing, the operator's page. */
class RegistrationPartsTest {
  static final Instant NOW = Instant.parse("2026-12-07T12:00:00Z");
  static final RegistrationSite SITE = RegistrationSite.of("boxd.example", 8443, "ssh -p 2222 boxd.example");

  @Test
  void oneSubjectOfOneIssuerIsOneAccount() {
    String id = OidcAccounts.userId("https://issuer.example", "alice");
    assertThat(id).isEqualTo(OidcAccounts.userId("https://issuer.example", "alice")).matches("o[0-9a-f]{32}");
    assertThat(OidcAccounts.userId("https://other.example", "alice")).isNotEqualTo(id);
    assertThat(OidcAccounts.userId("https://issuer.example", "bob")).isNotEqualTo(id);
    assertThat(OidcAccounts.userId("https://issuer.example/a", "lice")).as("parts do not run into each other")
        .isNotEqualTo(OidcAccounts.userId("https://issuer.example/al", "ice"));
  }

  @Test
  void aNewAccountIsNamedAfterTheSubjectUnlessAnotherHasThatName() {
    var store = new InMemoryStateStore();
    assertThat(OidcAccounts.userName(store.read(), "o1", "Ada Lovelace")).isEqualTo("ada-lovelace");
    assertThat(OidcAccounts.userName(store.read(), "o1", "--")).isEqualTo("user");
    assertThat(OidcAccounts.userName(store.read(), "o1", "x".repeat(100))).hasSize(40);
    store.propose(new Command.CreateUser("u1", "ada", NOW, 10)).orThrow();
    String other = OidcAccounts.userName(store.read(), "o0123456789abcdef", "ada");
    assertThat(other).isEqualTo("ada-01234567");
    store.propose(new Command.CreateUser("o0123456789abcdef", "ada-01234567", NOW, 10)).orThrow();
    assertThat(OidcAccounts.userName(store.read(), "o0123456789abcdef", "renamed")).as("an account keeps its name")
        .isEqualTo("ada-01234567");
  }

  @Test
  void aStateIsTakenOnceAndNotAfterItsLifetime() {
    var flows = new SignInFlows();
    var begun = flows.begin("CODE2345", NOW).orElseThrow();
    assertThat(begun.state().getValue()).hasSizeGreaterThan(40);
    assertThat(flows.take("forged", NOW)).isEmpty();
    assertThat(flows.take(begun.state().getValue(), NOW)).hasValueSatisfying(f -> assertThat(f.registrationCode()).isEqualTo("CODE2345"));
    assertThat(flows.take(begun.state().getValue(), NOW)).as("taken once").isEmpty();
    var late = flows.begin("CODE2345", NOW).orElseThrow();
    assertThat(flows.take(late.state().getValue(), NOW.plus(SignInFlows.LIFETIME))).isEmpty();
  }

  @Test
  void signInsInProgressAreCappedAndExpiredOnesMakeRoom() {
    var flows = new SignInFlows();
    for (int i = 0; i < SignInFlows.MAX_IN_PROGRESS; i++) {
      assertThat(flows.begin("C" + i, NOW)).isPresent();
    }
    assertThat(flows.begin("ONEMORE", NOW)).isEmpty();
    assertThat(flows.begin("ONEMORE", NOW.plus(SignInFlows.LIFETIME))).isPresent();
  }

  @Test
  void queriesAndCookiesAreDecoded() {
    assertThat(Pages.query("code=AB%2BC&state=x&code=second&flag&bad=%zz"))
        .containsEntry("code", "AB+C").containsEntry("state", "x").containsEntry("flag", "").containsEntry("bad", "");
    assertThat(Pages.cookie("a=1; boxd_register=xyz; b=2", "boxd_register")).isEqualTo("xyz");
    assertThat(Pages.cookie("xboxd_register=1", "boxd_register")).isEmpty();
    assertThat(Pages.cookie(null, "boxd_register")).isEmpty();
    assertThat(Pages.escape("<script>\"&'")).isEqualTo("&lt;script&gt;&quot;&amp;&#39;");
  }

  @Test
  void theOperatorsPageNamesTheKeyAndTheCommandOrSaysWhyNot() throws Exception {
    var store = new InMemoryStateStore();
    store.propose(new Command.OpenRegistrationFrom("ABCD2345", "SHA256:key", "ssh-ed25519 AAAA", "10.0.0.1", NOW, NOW.plusSeconds(3600)))
        .orThrow();
    var page = new OperatorApproval(store, Clock.fixed(NOW, ZoneOffset.UTC), SITE);
    ZonePages.Response waiting = page.handle(get("/register?code=abcd2345"));
    assertThat(waiting.status()).isEqualTo(200);
    assertThat(text(waiting)).contains("SHA256:key").contains("boxd admin approve ABCD2345").contains("ssh -p 2222 boxd.example");

    var later = new OperatorApproval(store, Clock.fixed(NOW.plusSeconds(3600), ZoneOffset.UTC), SITE);
    ZonePages.Response expired = later.handle(get("/register?code=ABCD2345"));
    assertThat(expired.status()).isEqualTo(410);
    assertThat(text(expired)).contains("expired").contains("Connect again with ssh");

    ZonePages.Response injected = page.handle(get("/register?code=%3Cb%3E"));
    assertThat(injected.status()).isEqualTo(404);
    assertThat(text(injected)).contains("&lt;b&gt;").doesNotContain("<b>");
  }

  @Test
  void theSiteIsTheZoneWithItsPortUnless443() {
    assertThat(SITE.registerUrl("C")).isEqualTo("https://boxd.example:8443/register?code=C");
    assertThat(RegistrationSite.of("boxd.example", 443, "ssh boxd.example").callbackUri().toString())
        .isEqualTo("https://boxd.example/register/callback");
  }

  private static ZonePages.Request get(String target) {
    return new ZonePages.Request("GET", target, Map.of(), null, "127.0.0.1");
  }

  private static String text(ZonePages.Response response) {
    return new String(response.body(), StandardCharsets.UTF_8);
  }
}
