package dev.boxd.core.state;

import static dev.boxd.core.Names.quote;
import static dev.boxd.core.state.Fsm.ok;
import static dev.boxd.core.state.Fsm.reject;

import dev.boxd.core.ErrorCode;
import dev.boxd.core.Names;
import dev.boxd.core.state.Command.ClearAcmeChallenge;
import dev.boxd.core.state.Command.SetAcmeChallenge;
import java.util.List;

/** TXT records of ACME DNS-01 challenges, written by whoever orders certificates and served by the dns role. */
final class AcmeCommands {
  private static final int MAX_NAME_LENGTH = 253;

  private AcmeCommands() {}

  /** Sets (replaces) the values at a name, after dropping every challenge expired at {@code at}. */
  static Applied set(ClusterState s, SetAcmeChallenge c) {
    String problem = invalidName(c.name());
    if (problem == null) {
      problem = invalidValues(c.values());
    }
    if (problem == null && !c.expiresAt().isAfter(c.at())) {
      problem = "challenge " + quote(c.name()) + " expires at " + c.expiresAt() + ", not after " + c.at();
    }
    if (problem != null) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, problem);
    }
    ClusterState pruned = s.withoutAcmeChallenges(
        s.acmeChallenges().stream().filter(old -> old.expiredAt(c.at())).map(AcmeChallenge::name).toList());
    if (pruned.acmeChallenge(c.name()).isEmpty() && pruned.acmeChallenges().size() >= AcmeChallenge.MAX_CHALLENGES) {
      return reject(s, ErrorCode.RESOURCE_EXHAUSTED, AcmeChallenge.MAX_CHALLENGES
          + " ACME challenges are pending; clear finished ones before setting " + quote(c.name()));
    }
    return ok(pruned.withAcmeChallenge(new AcmeChallenge(c.name(), c.values(), c.expiresAt())));
  }

  /** Removes the challenge at a name; one already gone is no error (a clean-up may run twice). */
  static Applied clear(ClusterState s, ClearAcmeChallenge c) {
    return ok(s.withoutAcmeChallenges(List.of(c.name())));
  }

  /** Keeps a zone's certificate, replacing the one before. */
  static Applied setCertificate(ClusterState s, Command.SetZoneCertificate c) {
    for (String label : c.zone().split("\\.", -1)) {
      if (!Names.isValid(label)) {
        return reject(s, ErrorCode.INVALID_ARGUMENT, "invalid zone " + quote(c.zone()) + ": expected labels of a-z, 0-9 and '-'");
      }
    }
    for (String pem : List.of(c.chainPem(), c.keyPem())) {
      if (!pem.startsWith("-----BEGIN ") || pem.length() > ZoneCertificate.MAX_PEM_LENGTH) {
        return reject(s, ErrorCode.INVALID_ARGUMENT, "the certificate of zone " + quote(c.zone()) + " is not PEM of at most "
            + ZoneCertificate.MAX_PEM_LENGTH + " characters");
      }
    }
    return ok(s.withZoneCertificate(new ZoneCertificate(c.zone(), c.chainPem(), c.keyPem(), c.notAfter())));
  }

  private static String invalidName(String name) {
    String expected = ": expected " + AcmeChallenge.LABEL + ".DOMAIN in lower case, DOMAIN being labels of a-z, 0-9 and '-'";
    if (name.length() > MAX_NAME_LENGTH || !name.startsWith(AcmeChallenge.LABEL + ".")) {
      return "invalid ACME challenge name " + quote(name) + expected;
    }
    for (String label : name.substring(AcmeChallenge.LABEL.length() + 1).split("\\.", -1)) {
      if (!Names.isValid(label)) {
        return "invalid ACME challenge name " + quote(name) + expected;
      }
    }
    return null;
  }

  private static String invalidValues(List<String> values) {
    if (values.isEmpty() || values.size() > AcmeChallenge.MAX_VALUES) {
      return values.size() + " ACME challenge values given: expected 1 to " + AcmeChallenge.MAX_VALUES;
    }
    for (String value : values) {
      boolean printable = value.chars().allMatch(ch -> ch > 0x20 && ch < 0x7f);
      if (value.isEmpty() || value.length() > AcmeChallenge.MAX_VALUE_LENGTH || !printable) {
        return "invalid ACME challenge value " + quote(value) + ": expected 1 to " + AcmeChallenge.MAX_VALUE_LENGTH
            + " printable ASCII characters without spaces";
      }
    }
    return null;
  }
}
