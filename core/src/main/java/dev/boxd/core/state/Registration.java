package dev.boxd.core.state;

import java.time.Instant;
import java.util.Objects;

/**
 * An unknown key waiting to be linked: the first connection with it, from {@code source} (the
 * client's IP address; empty for registrations recorded before sources were), got a URL carrying
 * {@code code}; approving the code before {@code expiresAt} links the key to an account.
 *
 * <p>Anyone with any key can open one, so their number is capped: {@link #MAX_PENDING} in all and
 * {@link #MAX_PENDING_PER_SOURCE} from one address. The caps are part of the state machine (a log
 * replays the same way only under the same caps): change them only with a new command.
 */
public record Registration(String code, String fingerprint, String publicKey, Instant expiresAt, String source) {
  /** Pending registrations the state holds at most. */
  public static final int MAX_PENDING = 500;
  /** Pending registrations one client address may have at a time. */
  public static final int MAX_PENDING_PER_SOURCE = 20;

  public Registration {
    Objects.requireNonNull(code, "code");
    Objects.requireNonNull(fingerprint, "fingerprint");
    Objects.requireNonNull(publicKey, "publicKey");
    Objects.requireNonNull(expiresAt, "expiresAt");
    Objects.requireNonNull(source, "source");
  }

  /** A registration of unknown source (recorded by {@link Command.OpenRegistration}, or in a snapshot before version 4). */
  public Registration(String code, String fingerprint, String publicKey, Instant expiresAt) {
    this(code, fingerprint, publicKey, expiresAt, "");
  }

  /** Expired at {@code at}: the deadline itself is already too late. */
  public boolean expiredAt(Instant at) {
    return !at.isBefore(expiresAt);
  }
}
