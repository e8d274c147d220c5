package dev.boxd.api.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Signatures made by OpenSSH's own ssh-keygen, as {@code boxd auth login} makes them. */
class DeviceKeyProofTest {
  private static final Instant NOW = Instant.ofEpochSecond(1_800_000_000L);
  private static Path dir;
  private static String mine;
  private static String other;

  @BeforeAll
  static void keys() throws Exception {
    dir = Files.createTempDirectory("boxd-proof-test-");
    mine = keygen("mine", "ed25519");
    other = keygen("other", "ed25519");
  }

  @AfterAll
  static void cleanUp() throws Exception {
    try (var files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  @Test
  void aSignatureOfTheKeyAndTheTimeByThatKeyIsProof() throws Exception {
    long at = NOW.getEpochSecond();
    String signature = sign("mine", DeviceKeyProof.NAMESPACE, DeviceKeyProof.message(mine, at));
    assertThatCode(() -> DeviceKeyProof.check(mine, signature, at, NOW)).doesNotThrowAnyException();
    assertThatCode(() -> DeviceKeyProof.check(mine + "\n", signature, at, NOW.plus(Duration.ofMinutes(4)))).doesNotThrowAnyException();
  }

  @Test
  void anythingElseIsRefusedSayingWhy() throws Exception {
    long at = NOW.getEpochSecond();
    String byOther = sign("other", DeviceKeyProof.NAMESPACE, DeviceKeyProof.message(mine, at));
    assertRefused(mine, byOther, at, NOW, ErrorCode.PERMISSION_DENIED, "another key");
    String otherNamespace = sign("mine", "file", DeviceKeyProof.message(mine, at));
    assertRefused(mine, otherNamespace, at, NOW, ErrorCode.PERMISSION_DENIED, "\"file\"");
    String good = sign("mine", DeviceKeyProof.NAMESPACE, DeviceKeyProof.message(mine, at));
    assertRefused(mine, good, at + 1, NOW, ErrorCode.PERMISSION_DENIED, "does not match");
    assertRefused(mine, good, at, NOW.plus(Duration.ofMinutes(6)), ErrorCode.INVALID_ARGUMENT, "check this device's clock");
    assertRefused(mine, "", at, NOW, ErrorCode.INVALID_ARGUMENT, "no proof that this device holds the key");
    assertRefused(mine, "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----", at, NOW, ErrorCode.INVALID_ARGUMENT, "malformed");
    assertRefused("not a key", good, at, NOW, ErrorCode.INVALID_ARGUMENT, "not an SSH public key");
  }

  private static void assertRefused(String key, String signature, long at, Instant now, ErrorCode code, String says) {
    var refused = catchThrowableOfType(BoxdException.class, () -> DeviceKeyProof.check(key, signature, at, now));
    assertThat(refused).as("refused").isNotNull();
    assertThat(refused.code()).isEqualTo(code);
    assertThat(refused.getMessage()).contains(says);
  }

  private static String keygen(String name, String type) throws Exception {
    run(null, "ssh-keygen", "-q", "-t", type, "-N", "", "-C", name, "-f", dir.resolve(name).toString());
    return Files.readString(dir.resolve(name + ".pub")).strip();
  }

  private static String sign(String key, String namespace, byte[] message) throws Exception {
    return run(message, "ssh-keygen", "-q", "-Y", "sign", "-f", dir.resolve(key).toString(), "-n", namespace);
  }

  private static String run(byte[] stdin, String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    try (var in = p.getOutputStream()) {
      if (stdin != null) {
        in.write(stdin);
      }
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as("%s", String.join(" ", command)).isZero();
    return out;
  }
}
