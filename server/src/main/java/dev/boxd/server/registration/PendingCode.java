package dev.boxd.server.registration;

import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.Registration;
import dev.boxd.edge.http.ZonePages.Response;
import java.time.Instant;
import java.util.Optional;

/**
 * A registration code as a page finds it in the replica: pending, or a page saying why not and
 * what to do. A used code and an unknown one look the same, since linking removes the
 * registration.
 */
record PendingCode(Optional<Registration> registration, Response refusal) {

  static PendingCode of(ClusterState state, String code, Instant now, RegistrationSite site) {
    if (code.isEmpty()) {
      return refused(Pages.page(400, "No registration code",
          "This page needs the code the SSH front door gave you: " + site.registerUrl("CODE") + ".",
          "Connect with ssh to get one: " + site.sshCommand()));
    }
    Registration registration = state.registration(code.toUpperCase(java.util.Locale.ROOT)).orElse(null);
    if (registration == null) {
      return refused(Pages.page(404, "Unknown or already used code",
          "The registration code " + code + " is not pending: it was already used, it expired, or it never existed. Nothing was linked.",
          "Connect again with ssh to get a new code: " + site.sshCommand()));
    }
    if (registration.expiredAt(now)) {
      return refused(Pages.page(410, "Expired code",
          "The registration code " + registration.code() + " expired at " + registration.expiresAt() + ". Nothing was linked.",
          "Connect again with ssh to get a new code: " + site.sshCommand()));
    }
    return new PendingCode(Optional.of(registration), null);
  }

  private static PendingCode refused(Response page) {
    return new PendingCode(Optional.empty(), page);
  }

  boolean pending() {
    return registration.isPresent();
  }
}
