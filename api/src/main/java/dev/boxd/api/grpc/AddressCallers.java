package dev.boxd.api.grpc;

import dev.boxd.verbs.Operations;
import java.net.InetAddress;
import java.util.Optional;

/**
 * Who a connection's source address is, for the API served without tokens on a network where
 * the address is the identity (inside a VM network whose rules drop spoofed sources): the
 * operations the caller at that address acts through, and whose account it acts for.
 */
@FunctionalInterface
public interface AddressCallers {
  /**
   * The caller at {@code source}; empty for an address that is nobody's (refused with
   * UNAUTHENTICATED naming it). Throws a {@link dev.boxd.core.BoxdException} for a caller that is
   * known and refused (PERMISSION_DENIED: the message says why), which the client is shown.
   */
  Optional<Caller> at(InetAddress source);

  /**
   * A caller: {@code ownerId}, the account it acts for (its limits are counted per account), and
   * {@code operations}, bound to that account.
   */
  record Caller(String ownerId, Operations operations) {}
}
