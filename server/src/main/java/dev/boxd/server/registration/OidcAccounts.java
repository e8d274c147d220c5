package dev.boxd.server.registration;

import dev.boxd.core.Names;
import dev.boxd.core.state.ClusterState;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * The boxd account of a subject signed in through OpenID Connect. Its id is derived from (issuer,
 * subject), so the same person signing in again, with another key, reaches the same account and
 * no mapping needs to be kept in the log. The id names nobody and grants nothing by itself: an
 * account is reached only with a key linked to it, and a key is linked to this id only after the
 * issuer's ID token for that subject has been validated.
 */
final class OidcAccounts {
  private OidcAccounts() {}

  /** {@code o} + 128 bits of SHA-256(issuer, subject): apart from the operator's random {@code u…} ids. */
  static String userId(String issuer, String subject) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update(issuer.getBytes(StandardCharsets.UTF_8));
      sha.update((byte) 0); // neither part may run into the other
      sha.update(subject.getBytes(StandardCharsets.UTF_8));
      return "o" + HexFormat.of().formatHex(sha.digest(), 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e); // every JDK has SHA-256
    }
  }

  /**
   * The name of the account {@code userId}: its own when it exists, else {@code suggested} made a
   * valid user name, with part of the id added when another account already has that name.
   */
  static String userName(ClusterState state, String userId, String suggested) {
    var existing = state.user(userId);
    if (existing.isPresent()) {
      return existing.get().name();
    }
    String base = label(suggested);
    if (!takenByAnother(state, base, userId)) {
      return base;
    }
    String base2 = trim(base, 63 - 9) + "-" + userId.substring(1, 9);
    return takenByAnother(state, base2, userId) ? "user-" + userId.substring(1, 17) : base2;
  }

  private static boolean takenByAnother(ClusterState state, String name, String userId) {
    return state.users().stream().anyMatch(u -> u.name().equals(name) && !u.id().equals(userId));
  }

  /** Lower case, a-z 0-9 and '-', at most 40 characters, not starting or ending with '-'. */
  static String label(String text) {
    String lowered = text.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-");
    String name = trim(lowered, 40);
    return Names.isValid(name) ? name : "user";
  }

  private static String trim(String name, int max) {
    String cut = name.length() > max ? name.substring(0, max) : name;
    return cut.replaceAll("^-+|-+$", "");
  }
}
