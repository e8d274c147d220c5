package dev.boxd.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.core.BoxdException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** boxd server's sign-up flags: a sign-up that cannot work fails the start, saying which flag and what to do. */
class RegistrationOptionsTest {
  @TempDir
  Path dir;

  @Test
  void withoutAnIssuerTheOperatorApproves() throws Exception {
    assertThat(RegistrationOptions.issuer(null, null, null, false)).isEmpty();
    assertThatThrownBy(() -> RegistrationOptions.issuer(null, "boxd", null, false)).isInstanceOf(BoxdException.class)
        .hasMessageContaining("need --oidc-issuer");
  }

  @Test
  void anIssuerNeedsItsClientTheEdgeAndHttps() throws Exception {
    Path secret = Files.writeString(dir.resolve("secret"), "s3cret\n");
    assertThat(RegistrationOptions.issuer("https://accounts.example.com", "boxd", secret, false)).hasValueSatisfying(
        issuer -> assertThat(issuer.issuer()).isEqualTo("https://accounts.example.com"));
    assertThat(RegistrationOptions.issuer("http://127.0.0.1:8080/default", "boxd", secret, false)).as("on this host").isPresent();
    assertThatThrownBy(() -> RegistrationOptions.issuer("http://accounts.example.com", "boxd", secret, false))
        .hasMessageContaining("expected an https:// URL");
    assertThatThrownBy(() -> RegistrationOptions.issuer("https://accounts.example.com", null, secret, false))
        .hasMessageContaining("--oidc-client-id=ID");
    assertThatThrownBy(() -> RegistrationOptions.issuer("https://accounts.example.com", "boxd", dir.resolve("none"), false))
        .hasMessageContaining("no such file");
    Path empty = Files.writeString(dir.resolve("empty"), "\n");
    assertThatThrownBy(() -> RegistrationOptions.issuer("https://accounts.example.com", "boxd", empty, false))
        .hasMessageContaining("the client secret alone");
    assertThatThrownBy(() -> RegistrationOptions.issuer("https://accounts.example.com", "boxd", secret, true))
        .hasMessageContaining("drop --no-edge");
  }

  @Test
  void theReconnectCommandNamesTheFrontDoor() {
    assertThat(RegistrationOptions.sshCommand("127.0.0.1", 2222, "localhost")).isEqualTo("ssh -p 2222 127.0.0.1");
    assertThat(RegistrationOptions.sshCommand("0.0.0.0", 22, "boxd.example.com")).isEqualTo("ssh boxd.example.com");
  }
}
