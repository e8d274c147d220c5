package dev.boxd.core.state;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * TXT values the dns role serves at {@code name} for an ACME DNS-01 challenge (SPEC §6: wildcard
 * certificates are proven through our own DNS): {@code name} is the record's whole domain name,
 * lower case, without the final dot, e.g. {@code _acme-challenge.app.localhost}. Served until
 * {@code expiresAt}; the log drops it at the first {@link Command.SetAcmeChallenge} after that.
 *
 * <p>The limits are part of the state machine (a log replays the same way only under the same
 * limits): change them only with a new command.
 */
public record AcmeChallenge(String name, List<String> values, Instant expiresAt) {
  /** The label every challenge name starts with (RFC 8555 §8.4). */
  public static final String LABEL = "_acme-challenge";
  /** Challenges the state holds at most: a certificate order holds one or two names for minutes. */
  public static final int MAX_CHALLENGES = 200;
  /** TXT values at one name: a name and its wildcard share one, with a value each, plus room for retries. */
  public static final int MAX_VALUES = 8;
  /** One TXT character-string holds at most 255 bytes; an ACME value is 43. */
  public static final int MAX_VALUE_LENGTH = 255;

  public AcmeChallenge {
    Objects.requireNonNull(name, "name");
    values = List.copyOf(values);
    Objects.requireNonNull(expiresAt, "expiresAt");
  }

  /** Expired at {@code at}: the deadline itself is already too late. */
  public boolean expiredAt(Instant at) {
    return !at.isBefore(expiresAt);
  }
}
