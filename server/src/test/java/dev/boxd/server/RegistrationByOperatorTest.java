package dev.boxd.server;

import static dev.boxd.testkit.server.LiveServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.server.Registrations.Curl;
import dev.boxd.server.Registrations.Shown;
import dev.boxd.testkit.server.LiveServer;
import dev.boxd.testkit.server.SshUser;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Sign-up by the operator's approval (no OpenID issuer): the URL an unknown key is shown opens a
 * page on the edge naming the command that links it; the operator runs it; the key gets in; a
 * code used once is a clear error on the page and in {@code boxd admin approve}. No VM is made.
 */
class RegistrationByOperatorTest {
  @RegisterExtension
  static final LiveServer live = new LiveServer("--warm-pool", "0");
  static Path work;
  static Path caFile;

  @BeforeAll
  static void setUp() throws Exception {
    work = Files.createTempDirectory("boxd-register-test-");
    caFile = Registrations.caFile(live.server(), work);
  }

  @AfterAll
  static void cleanUp() throws Exception {
    Files.deleteIfExists(caFile);
    Files.deleteIfExists(work);
  }

  @Test
  void thePageNamesTheCommandAndTheApprovedKeyGetsIn() throws Exception {
    SshUser stranger = live.stranger("erin");
    Shown shown = Registrations.connectUnknown(stranger);
    assertThat(shown.url()).isEqualTo("https://localhost:" + live.server().httpsPort + "/register?code=" + shown.code());

    Curl page = Registrations.curl(caFile, shown.url());
    assertThat(page.status()).as(page.out() + page.err()).isEqualTo(200);
    assertThat(page.out()).contains(shown.fingerprint()).contains("boxd admin approve " + shown.code());

    String approved = live.server().admin("approve", shown.code(), "--user", "erin");
    assertThat(approved).contains("key " + shown.fingerprint() + " linked to user erin");
    assertThat(json(stranger.run("list", "--json"))).isEmpty();
    assertThat(stranger.run("whoami").out()).contains("erin");

    String again = live.server().admin("approve", shown.code());
    assertThat(again).contains("no pending registration with code \"" + shown.code() + "\"").contains("already used")
        .contains("connects with ssh again");
    Curl used = Registrations.curl(caFile, shown.url());
    assertThat(used.status()).isEqualTo(404);
    assertThat(used.out()).contains("Unknown or already used code").contains("Connect again with ssh")
        .contains("ssh -p " + live.server().sshPort + " 127.0.0.1");
  }

  @Test
  void aPageWithoutAPendingCodeSaysWhatToDo() throws Exception {
    String base = "https://localhost:" + live.server().httpsPort;
    Curl unknown = Registrations.curl(caFile, base + "/register?code=NOSUCH23");
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(unknown.out()).contains("NOSUCH23").contains("Nothing was linked");
    Curl none = Registrations.curl(caFile, base + "/register");
    assertThat(none.status()).isEqualTo(400);
    assertThat(none.out()).contains("No registration code");
    Curl posted = Registrations.curl(caFile, "-X", "POST", base + "/register?code=NOSUCH23");
    assertThat(posted.status()).isEqualTo(405);
    Curl plain = Registrations.curl(caFile, "http://localhost:" + live.server().httpPort + "/register?code=X");
    assertThat(plain.status()).as("plain HTTP redirects to the page").isEqualTo(308);
    assertThat(plain.header("location")).isEqualTo(base + "/register?code=X");
  }
}
