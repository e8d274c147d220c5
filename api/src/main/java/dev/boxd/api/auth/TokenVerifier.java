package dev.boxd.api.auth;

import dev.boxd.core.BoxdException;

/** Checks a bearer token (a JWT from the token exchange) against the local replica. */
public interface TokenVerifier {

  /**
   * The user the token was issued to. Throws a {@link BoxdException} with code
   * {@code UNAUTHENTICATED} and a message safe to show (expired, revoked key, bad signature,
   * malformed) when the token does not let its bearer in.
   */
  String userIdOf(String token);
}
