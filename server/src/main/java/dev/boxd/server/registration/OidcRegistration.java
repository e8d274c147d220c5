package dev.boxd.server.registration;

import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import dev.boxd.core.state.Command;
import dev.boxd.core.state.Registration;
import dev.boxd.core.state.Result;
import dev.boxd.core.state.StateStore;
import dev.boxd.edge.http.ZonePages;
import dev.boxd.edge.http.ZonePages.Request;
import dev.boxd.edge.http.ZonePages.Response;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registration through an OpenID Connect issuer: {@code /register?code=CODE} checks the code and
 * sends the browser to the issuer; {@code /register/callback} takes the issuer's answer, proves
 * who signed in and links the code's key to that subject's account with the same
 * {@link Command.ApproveRegistration} the operator's {@code boxd admin approve} writes.
 *
 * <p>The PKCE verifier and nonce stay on the server ({@link SignInFlows}); the browser carries
 * only {@code state}, in the URL and in a Secure, HttpOnly, SameSite=Lax cookie set by the first
 * page. The callback wants both to agree, so an answer from the issuer is taken only in the
 * browser that began the sign-in (a link with someone else's {@code state} does nothing).
 */
public final class OidcRegistration {
  private static final Logger log = LoggerFactory.getLogger(OidcRegistration.class);
  static final String COOKIE = "boxd_register";

  private final StateStore store;
  private final Clock clock;
  private final RegistrationSite site;
  private final OidcIssuer issuer;
  private final SignInFlows flows = new SignInFlows();

  public OidcRegistration(StateStore store, Clock clock, RegistrationSite site, OidcIssuer issuer) {
    this.store = store;
    this.clock = clock;
    this.site = site;
    this.issuer = issuer;
  }

  /** {@code /register}. */
  public ZonePages start() {
    return this::begin;
  }

  /** {@code /register/callback}. */
  public ZonePages callback() {
    return this::finish;
  }

  private Response begin(Request request) {
    if (!Pages.isGet(request.method())) {
      return Pages.methodNotAllowed(request.method());
    }
    Instant now = clock.instant();
    PendingCode pending = PendingCode.of(store.read(), Pages.query(request.query()).getOrDefault("code", ""), now, site);
    if (!pending.pending()) {
      return pending.refusal();
    }
    Registration registration = pending.registration().orElseThrow();
    var begun = flows.begin(registration.code(), now);
    if (begun.isEmpty()) {
      return Pages.page(503, "Too many sign-ins in progress",
          "More than " + SignInFlows.MAX_IN_PROGRESS + " sign-ins are under way. Open this link again in a few minutes.");
    }
    SignInFlows.Flow flow = begun.get().flow();
    java.net.URI authorize;
    try {
      authorize = issuer.authorizationUrl(site.callbackUri(), begun.get().state(), flow.nonce(), flow.verifier());
    } catch (OidcIssuer.Refused e) {
      log.warn("registration {}: {}", registration.code(), e.getMessage());
      return Pages.page(502, "The sign-in service cannot be reached", e.getMessage() + ". Nothing was linked.",
          "Try the link again later, or ask the operator: boxd admin approve " + registration.code());
    }
    String cookie = COOKIE + "=" + begun.get().state().getValue() + "; Path=" + RegistrationSite.REGISTER_PATH
        + "; Max-Age=" + SignInFlows.LIFETIME.toSeconds() + "; Secure; HttpOnly; SameSite=Lax";
    return new Response(303, "text/plain; charset=utf-8", ("sign in at " + authorize + "\n").getBytes(StandardCharsets.UTF_8),
        Map.of("location", authorize.toString(), "set-cookie", cookie, "cache-control", "no-store"));
  }

  private Response finish(Request request) {
    if (!Pages.isGet(request.method())) {
      return Pages.methodNotAllowed(request.method());
    }
    Map<String, String> answer = Pages.query(request.query());
    String state = answer.getOrDefault("state", "");
    Instant now = clock.instant();
    Optional<SignInFlows.Flow> taken = state.isEmpty() ? Optional.empty() : flows.take(state, now);
    if (taken.isEmpty()) {
      return Pages.page(400, "Unknown sign-in",
          "This answer from the sign-in service does not match a sign-in in progress: its state is missing, wrong, already used,"
              + " or older than " + SignInFlows.LIFETIME.toMinutes() + " minutes. Nothing was linked.",
          "Open the registration link the SSH front door gave you again, or connect with ssh for a new one: " + site.sshCommand());
    }
    SignInFlows.Flow flow = taken.get();
    if (!Pages.cookie(request.headers().get("cookie"), COOKIE).equals(state)) {
      return Pages.page(400, "Sign-in began elsewhere",
          "This answer from the sign-in service belongs to a sign-in that did not begin in this browser. Nothing was linked.",
          "Open the registration link again in the browser you sign in with: " + site.registerUrl(flow.registrationCode()));
    }
    if (answer.containsKey("error")) {
      return withCookieCleared(Pages.page(400, "Sign-in refused",
          "The sign-in service " + issuer.issuer() + " answered: " + answer.get("error")
              + (answer.containsKey("error_description") ? " (" + answer.get("error_description") + ")" : "") + ". Nothing was linked.",
          "Try again: " + site.registerUrl(flow.registrationCode())));
    }
    String authorizationCode = answer.getOrDefault("code", "");
    if (authorizationCode.isEmpty()) {
      return withCookieCleared(Pages.page(400, "No authorization code",
          "The sign-in service sent the browser back without a code. Nothing was linked.",
          "Try again: " + site.registerUrl(flow.registrationCode())));
    }
    PendingCode pending = PendingCode.of(store.read(), flow.registrationCode(), now, site);
    if (!pending.pending()) {
      return withCookieCleared(pending.refusal());
    }
    return withCookieCleared(link(pending.registration().orElseThrow(), authorizationCode, flow.verifier(), flow));
  }

  private Response link(Registration registration, String authorizationCode, CodeVerifier verifier, SignInFlows.Flow flow) {
    OidcIssuer.SignedIn who;
    try {
      who = issuer.signIn(authorizationCode, site.callbackUri(), verifier, flow.nonce());
    } catch (OidcIssuer.Refused e) {
      log.warn("registration {}: {}", registration.code(), e.getMessage());
      return Pages.page(400, "Sign-in not accepted", e.getMessage() + ". Nothing was linked.",
          "Try again: " + site.registerUrl(registration.code()));
    }
    String userId = OidcAccounts.userId(who.issuer(), who.subject());
    String name = OidcAccounts.userName(store.read(), userId, who.suggestedName());
    Result result = store.propose(new Command.ApproveRegistration(registration.code(), userId, name, clock.instant()));
    if (result instanceof Result.Rejected rejected) {
      return Pages.page(rejected.code().httpStatus(), "Not linked", rejected.message() + ". Nothing was linked.",
          "Connect with ssh for a new code: " + site.sshCommand());
    }
    String linkedName = store.read().user(userId).map(dev.boxd.core.state.User::name).orElse(name);
    log.info("key {} linked to user {} ({}) signed in as {} at {}", registration.fingerprint(), linkedName, userId, who.subject(),
        who.issuer());
    return Pages.page(200, "Key linked",
        "key " + registration.fingerprint() + " linked to user " + linkedName + "; reconnect: " + site.sshCommand());
  }

  private static Response withCookieCleared(Response page) {
    var headers = new java.util.HashMap<>(page.headers());
    headers.put("set-cookie", COOKIE + "=; Path=" + RegistrationSite.REGISTER_PATH + "; Max-Age=0; Secure; HttpOnly; SameSite=Lax");
    return new Response(page.status(), page.contentType(), page.body(), headers);
  }
}
