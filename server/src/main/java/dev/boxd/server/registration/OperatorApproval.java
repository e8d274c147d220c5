package dev.boxd.server.registration;

import dev.boxd.core.state.Registration;
import dev.boxd.core.state.StateStore;
import dev.boxd.edge.http.ZonePages;
import java.time.Clock;

/**
 * {@code /register} when the operator approves keys (no OpenID issuer configured): the page says
 * which key waits and the command that links it; it links nothing itself.
 */
public final class OperatorApproval implements ZonePages {
  private final StateStore store;
  private final Clock clock;
  private final RegistrationSite site;

  public OperatorApproval(StateStore store, Clock clock, RegistrationSite site) {
    this.store = store;
    this.clock = clock;
    this.site = site;
  }

  @Override
  public Response handle(Request request) {
    if (!Pages.isGet(request.method())) {
      return Pages.methodNotAllowed(request.method());
    }
    String code = Pages.query(request.query()).getOrDefault("code", "");
    PendingCode pending = PendingCode.of(store.read(), code, clock.instant(), site);
    if (!pending.pending()) {
      return pending.refusal();
    }
    Registration registration = pending.registration().orElseThrow();
    return Pages.page(200, "Waiting for the operator",
        "Key " + registration.fingerprint() + " waits to be linked to a boxd account (registration code " + registration.code() + ").",
        "The operator of this boxd links it by running: boxd admin approve " + registration.code()
            + "   (or: boxd admin approve " + registration.code() + " --user NAME, to add it to an existing account).",
        "The code expires at " + registration.expiresAt() + ". Once it is approved, reconnect: " + site.sshCommand());
  }
}
