package dev.boxd.server;

import static dev.boxd.testkit.server.LiveServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.server.Registrations.Curl;
import dev.boxd.server.Registrations.Shown;
import dev.boxd.testkit.server.LiveServer;
import dev.boxd.testkit.server.SshUser;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Sign-up through OpenID Connect against a real OpenID provider (mock-oauth2-server, in this JVM,
 * whose login redirects straight back), driven by headless Chromium from the exact URL the SSH
 * front door printed: the key is linked to the signed-in subject's account and gets in; a second
 * key of the same subject joins that account; a used code, a tampered state, a callback in
 * another browser and an ID token for another client or sign-in link nothing. No VM is made.
 */
class RegistrationByOidcTest {
  static final String ISSUER_ID = "boxd-test";
  static final String CLIENT_ID = "boxd";
  static MockOAuth2Server issuer;
  static Path work;

  @RegisterExtension
  static final LiveServer live = new LiveServer("--warm-pool", "0").beforeStart(server -> {
    issuer = new MockOAuth2Server();
    issuer.start(InetAddress.getByName("127.0.0.1"), 0);
    work = Files.createTempDirectory("boxd-oidc-test-");
    Path secret = Files.writeString(work.resolve("client-secret"), "s3cret\n");
    // 127.0.0.1, not localhost: the edge's pages send HSTS for localhost, which would make the
    // browser try the issuer's plain-HTTP port over TLS; browsers keep no HSTS for an IP address.
    String url = "http://127.0.0.1:" + issuer.baseUrl().port() + "/" + ISSUER_ID;
    return List.of("--oidc-issuer", url, "--oidc-client-id", CLIENT_ID, "--oidc-client-secret-file", secret.toString());
  });
  static Path caFile;
  static Chromium browser;

  @BeforeAll
  static void setUp() throws Exception {
    caFile = Registrations.caFile(live.server(), work);
    browser = Chromium.trusting(Files.readString(caFile));
  }

  @AfterAll
  static void cleanUp() throws Exception {
    if (browser != null) {
      browser.close();
    }
    if (issuer != null) {
      issuer.shutdown();
    }
    try (var files = Files.walk(work)) {
      for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** The next sign-in at the issuer is {@code subject}'s, its ID token with {@code claims} over the issuer's own. */
  static void nextSignIn(String subject, Map<String, Object> claims) {
    issuer.enqueueCallback(new DefaultOAuth2TokenCallback(ISSUER_ID, subject, "JWT", List.of(CLIENT_ID), claims, 3600));
  }

  static void nextSignIn(String subject, String username) {
    nextSignIn(subject, Map.of("preferred_username", username));
  }

  @Test
  void signingInLinksTheKeyAndASecondKeyJoinsTheSameAccount() throws Exception {
    SshUser first = live.stranger("fay-laptop");
    Shown shown = Registrations.connectUnknown(first);
    assertThat(shown.url()).isEqualTo("https://localhost:" + live.server().httpsPort + "/register?code=" + shown.code());

    nextSignIn("fay-subject", "Fay");
    String page = browser.dumpDom(shown.url());
    assertThat(page).contains("key " + shown.fingerprint() + " linked to user fay; reconnect: ssh -p " + live.server().sshPort);
    assertThat(json(first.run("list", "--json"))).isEmpty();
    String firstAccount = first.run("whoami").out();
    assertThat(firstAccount).contains("fay");

    SshUser second = live.stranger("fay-desktop");
    Shown again = Registrations.connectUnknown(second);
    nextSignIn("fay-subject", "Fay");
    assertThat(browser.dumpDom(again.url())).contains("key " + again.fingerprint() + " linked to user fay;");
    assertThat(json(second.run("list", "--json"))).isEmpty();
    String secondAccount = second.run("whoami", "--json").out();
    assertThat(secondAccount).as("one account, both keys").contains(shown.fingerprint()).contains(again.fingerprint());

    String reused = browser.dumpDom(shown.url());
    assertThat(reused).contains("Unknown or already used code").contains("Nothing was linked");
  }

  @Test
  void anotherSubjectGetsAnAccountOfItsOwn() throws Exception {
    live.user("kim"); // an account the operator made
    SshUser gus = live.stranger("gus");
    Shown shown = Registrations.connectUnknown(gus);
    nextSignIn("gus-subject", "Kim"); // the name that account has
    String page = browser.dumpDom(shown.url());
    assertThat(page).contains("key " + shown.fingerprint() + " linked to user kim-");
    String whoami = gus.run("whoami", "--json").out();
    assertThat(whoami).contains(shown.fingerprint()).contains("\"kim-");
  }

  @Test
  void anIdTokenForAnotherClientOrSignInLinksNothing() throws Exception {
    SshUser stranger = live.stranger("hal");
    Shown shown = Registrations.connectUnknown(stranger);
    nextSignIn("hal-subject", Map.of("preferred_username", "hal", "aud", "another-client"));
    assertThat(browser.dumpDom(shown.url())).contains("Sign-in not accepted").contains("ID token").contains("audience")
        .contains("Nothing was linked");
    nextSignIn("hal-subject", Map.of("preferred_username", "hal", "nonce", "of-another-sign-in"));
    assertThat(browser.dumpDom(shown.url())).contains("Sign-in not accepted").contains("ID token").contains("nonce")
        .contains("Nothing was linked");
    assertThat(Registrations.connectUnknown(stranger).code()).as("still unknown, same pending code").isEqualTo(shown.code());
  }

  @Test
  void aTamperedStateOrAnotherBrowserLinksNothing() throws Exception {
    SshUser stranger = live.stranger("ivy");
    Shown shown = Registrations.connectUnknown(stranger);
    Curl begin = Registrations.curl(caFile, shown.url());
    assertThat(begin.status()).as(begin.out()).isEqualTo(303);
    String location = begin.header("location");
    assertThat(location).startsWith("http://127.0.0.1:" + issuer.baseUrl().port() + "/" + ISSUER_ID + "/authorize?")
        .contains("code_challenge_method=S256").contains("nonce=").contains("state=");
    String cookie = begin.header("set-cookie");
    assertThat(cookie).contains("Secure").contains("HttpOnly").contains("SameSite=Lax");
    String state = cookie.substring(cookie.indexOf('=') + 1, cookie.indexOf(';'));

    // The issuer's answer, as its login would send the browser back. No token is asked for
    // below, so no sign-in is queued at the issuer (the next test's would be taken by it).
    Curl atIssuer = Registrations.curl(caFile, location);
    String callback = atIssuer.header("location");
    assertThat(callback).as(atIssuer.out()).startsWith("https://localhost:" + live.server().httpsPort + "/register/callback?")
        .contains("state=" + state);

    Curl tampered = Registrations.curl(caFile, "-H", "cookie: boxd_register=" + state + "x", callback.replace(state, state + "x"));
    assertThat(tampered.status()).isEqualTo(400);
    assertThat(tampered.out()).contains("Unknown sign-in").contains("Nothing was linked");

    Curl elsewhere = Registrations.curl(caFile, callback); // the right state, but no cookie: not the browser that began
    assertThat(elsewhere.status()).isEqualTo(400);
    assertThat(elsewhere.out()).contains("did not begin in this browser");

    Curl replayed = Registrations.curl(caFile, "-H", "cookie: boxd_register=" + state, callback);
    assertThat(replayed.status()).as("a state is taken once").isEqualTo(400);
    assertThat(Registrations.connectUnknown(stranger).code()).as("nothing linked").isEqualTo(shown.code());

    Curl refused = Registrations.curl(caFile, "https://localhost:" + live.server().httpsPort + "/register/callback?error=access_denied");
    assertThat(refused.status()).isEqualTo(400);
  }
}
