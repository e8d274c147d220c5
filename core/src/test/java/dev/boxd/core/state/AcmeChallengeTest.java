package dev.boxd.core.state;

import static dev.boxd.core.state.Fixtures.T0;
import static dev.boxd.core.state.Fixtures.given;
import static dev.boxd.core.state.Fixtures.next;
import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.ErrorCode;
import dev.boxd.core.state.Command.ClearAcmeChallenge;
import dev.boxd.core.state.Command.SetAcmeChallenge;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class AcmeChallengeTest {
  private static final String APP = "_acme-challenge.app.localhost";
  private static final String APEX = "_acme-challenge.localhost";

  private static SetAcmeChallenge set(String name, List<String> values, long atSecs, long expiresSecs) {
    return new SetAcmeChallenge(name, values, T0.plusSeconds(atSecs), T0.plusSeconds(expiresSecs));
  }

  @Test
  void aChallengeIsHeldUntilClearedAndASecondSetReplacesItsValues() {
    ClusterState s = given(set(APP, List.of("one"), 0, 600), set(APEX, List.of("apex"), 0, 600));
    assertThat(s.acmeChallenge(APP)).contains(new AcmeChallenge(APP, List.of("one"), T0.plusSeconds(600)));

    s = given(set(APP, List.of("one"), 0, 600), set(APP, List.of("two", "three"), 10, 900));
    assertThat(s.acmeChallenges()).containsExactly(new AcmeChallenge(APP, List.of("two", "three"), T0.plusSeconds(900)));

    Applied cleared = next(s, new ClearAcmeChallenge(APP));
    assertThat(cleared.result().isOk()).isTrue();
    assertThat(cleared.state().acmeChallenges()).isEmpty();
    assertThat(next(cleared.state(), new ClearAcmeChallenge(APP)).result().isOk()).as("clearing twice is no error").isTrue();
  }

  @Test
  void expiredChallengesGoAtTheNextSet() {
    ClusterState s = given(set(APP, List.of("old"), 0, 60));
    assertThat(s.acmeChallenge(APP).orElseThrow().expiredAt(T0.plusSeconds(60))).isTrue();
    assertThat(s.acmeChallenge(APP).orElseThrow().expiredAt(T0.plusSeconds(59))).isFalse();

    ClusterState after = next(s, set(APEX, List.of("new"), 60, 600)).state();
    assertThat(after.acmeChallenges()).extracting(AcmeChallenge::name).containsExactly(APEX);
  }

  @Test
  void badNamesValuesAndTimesAreRejectedNamingWhatIsWrong() {
    ClusterState s = ClusterState.empty();
    assertRejected(next(s, set("app.localhost", List.of("v"), 0, 60)), ErrorCode.INVALID_ARGUMENT,
        "invalid ACME challenge name \"app.localhost\": expected _acme-challenge.DOMAIN");
    assertRejected(next(s, set("_acme-challenge.App.localhost", List.of("v"), 0, 60)), ErrorCode.INVALID_ARGUMENT,
        "invalid ACME challenge name");
    assertRejected(next(s, set("_acme-challenge..localhost", List.of("v"), 0, 60)), ErrorCode.INVALID_ARGUMENT,
        "invalid ACME challenge name");
    assertRejected(next(s, set("_acme-challenge.", List.of("v"), 0, 60)), ErrorCode.INVALID_ARGUMENT, "invalid ACME challenge name");
    assertRejected(next(s, set(APP, List.of(), 0, 60)), ErrorCode.INVALID_ARGUMENT, "0 ACME challenge values given: expected 1 to 8");
    assertRejected(next(s, set(APP, Collections.nCopies(9, "v"), 0, 60)), ErrorCode.INVALID_ARGUMENT, "9 ACME challenge values");
    assertRejected(next(s, set(APP, List.of("has space"), 0, 60)), ErrorCode.INVALID_ARGUMENT,
        "invalid ACME challenge value \"has space\"");
    assertRejected(next(s, set(APP, List.of("x".repeat(256)), 0, 60)), ErrorCode.INVALID_ARGUMENT, "1 to 255 printable ASCII");
    assertRejected(next(s, set(APP, List.of("v"), 60, 60)), ErrorCode.INVALID_ARGUMENT, "expires at");
  }

  @Test
  void atMostSoManyArePendingButReplacingOneIsAlwaysAllowed() {
    ClusterState s = ClusterState.empty();
    for (int i = 0; i < AcmeChallenge.MAX_CHALLENGES; i++) {
      s = next(s, set("_acme-challenge.n" + i + ".localhost", List.of("v"), 0, 600)).state();
    }
    assertThat(s.acmeChallenges()).hasSize(AcmeChallenge.MAX_CHALLENGES);
    assertRejected(next(s, set(APP, List.of("v"), 0, 600)), ErrorCode.RESOURCE_EXHAUSTED, "200 ACME challenges are pending");
    assertThat(next(s, set("_acme-challenge.n0.localhost", List.of("w"), 0, 600)).result().isOk()).isTrue();
    assertThat(next(s, set(APP, List.of("v"), 600, 1200)).result().isOk()).as("once the others expired").isTrue();
  }

  private static void assertRejected(Applied applied, ErrorCode code, String message) {
    assertThat(applied.result()).isInstanceOfSatisfying(Result.Rejected.class, r -> {
      assertThat(r.code()).isEqualTo(code);
      assertThat(r.message()).contains(message);
    });
  }

  @Test
  void aZoneCertificateIsKeptAndReplacedByTheNext() {
    var first = new Command.SetZoneCertificate("localhost", "-----BEGIN CERTIFICATE-----1", "-----BEGIN PRIVATE KEY-----1",
        T0.plusSeconds(90 * 86400));
    var renewed = new Command.SetZoneCertificate("localhost", "-----BEGIN CERTIFICATE-----2", "-----BEGIN PRIVATE KEY-----2",
        T0.plusSeconds(150 * 86400));
    ClusterState s = given(first);
    assertThat(s.zoneCertificate("localhost").orElseThrow().notAfter()).isEqualTo(T0.plusSeconds(90 * 86400));
    s = given(first, renewed);
    assertThat(s.zoneCertificates()).containsExactly(new ZoneCertificate("localhost", "-----BEGIN CERTIFICATE-----2",
        "-----BEGIN PRIVATE KEY-----2", T0.plusSeconds(150 * 86400)));
    assertThat(s.zoneCertificate("boxd.test")).isEmpty();
    assertThat(s.zoneCertificates().iterator().next().toString()).doesNotContain("PRIVATE");
    assertThat(renewed.toString()).doesNotContain("PRIVATE");
  }

  @Test
  void aZoneCertificateThatIsNotPemOrOfNoZoneIsRefused() {
    Applied badZone = next(ClusterState.empty(), new Command.SetZoneCertificate("Bad_Zone", "-----BEGIN C", "-----BEGIN K", T0));
    assertThat(badZone.result()).isInstanceOfSatisfying(Result.Rejected.class, r -> {
      assertThat(r.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
      assertThat(r.message()).contains("invalid zone \"Bad_Zone\"");
    });
    Applied notPem = next(ClusterState.empty(), new Command.SetZoneCertificate("localhost", "garbage", "-----BEGIN K", T0));
    assertThat(notPem.result()).isInstanceOfSatisfying(Result.Rejected.class, r -> assertThat(r.message()).contains("is not PEM"));
    String huge = "-----BEGIN " + "x".repeat(ZoneCertificate.MAX_PEM_LENGTH);
    assertThat(next(ClusterState.empty(), new Command.SetZoneCertificate("localhost", huge, "-----BEGIN K", T0)).result().isOk()).isFalse();
  }
}
