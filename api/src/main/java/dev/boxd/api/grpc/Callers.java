package dev.boxd.api.grpc;

import dev.boxd.verbs.Operations;

/** The operations of an authenticated user: what every RPC maps onto (the server hands the control plane's). */
@FunctionalInterface
public interface Callers {
  /** The operations bound to {@code userId}, who acts only on its own VMs. */
  Operations forUser(String userId);
}
