package dev.boxd.api.auth;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.verbs.Operations;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * A device's login ({@code boxd auth login}): the device sends a fresh SSH public key, signed to
 * prove it holds the private half ({@link DeviceKeyProof}), which opens
 * a registration like any unknown key at the SSH front door; the user links it (signing in at the
 * registration page, or by the operator's {@code boxd admin approve CODE}); the device, polling
 * with the secret token it was given, then gets an API key made for it in that account.
 *
 * <p>Poll tokens stay in this node's memory, as the sign-ins in progress do: a restart forgets
 * them and the device starts again. They live as long as the registration (plus a minute, so a
 * key linked in its last seconds is still picked up), at most {@link #MAX_IN_PROGRESS} at once,
 * and are taken by the poll that answers with the key: the key's secret is shown once.
 */
public final class DeviceLogins {
  public static final int INTERVAL_SECS = 2;
  static final int MAX_IN_PROGRESS = 1000;
  static final Duration GRACE = Duration.ofMinutes(1);
  static final String DEFAULT_DEVICE = "cli";
  static final String KEY_NAME_PREFIX = "device-";
  /** Room in a 63-character label for the prefix and a suffix such as {@code -100}. */
  private static final int MAX_DEVICE_CHARS = 63 - KEY_NAME_PREFIX.length() - 4;
  static final String NO_LOGIN = "no login in progress for this token: run `boxd auth login` again";
  private static final SecureRandom RANDOM = new SecureRandom();

  /** What the device is told: where the user links the key, the code, its secret poll token. */
  public record Started(String url, String code, String pollToken, Instant expiresAt, int intervalSecs) {
    @Override
    public String toString() {
      return "Started[url=" + url + ", code=" + code + ", expiresAt=" + expiresAt + "]"; // never the poll token
    }
  }

  /** A poll's answer: not linked yet, or linked with the API key made for the device. */
  public record Polled(boolean linked, String apiKey, String userId, String apiKeyId) {
    static final Polled NOT_YET = new Polled(false, "", "", "");

    @Override
    public String toString() {
      return "Polled[linked=" + linked + ", userId=" + userId + ", apiKeyId=" + apiKeyId + "]"; // never the secret
    }
  }

  /** What a device sends to start: its key, its name, and its proof of holding the key ({@link DeviceKeyProof}). */
  public record Request(String publicKey, String deviceName, String keySignature, long signedAt) {
    @Override
    public String toString() {
      return "Request[deviceName=" + deviceName + ", signedAt=" + signedAt + "]";
    }
  }

  /** Refuses a request whose sender does not prove it holds the key (throws, saying why). */
  @FunctionalInterface
  interface Proof {
    void check(Request request, Instant now);
  }

  private static final Proof SIGNED = (request, now) -> DeviceKeyProof.check(request.publicKey(), request.keySignature(), request.signedAt(), now);

  private record Pending(String fingerprint, String keyName, Instant expiresAt) {}

  private final KeyRegistrations registrations;
  private final Function<String, Operations> operations;
  private final Clock clock;
  private final RateLimit limit;
  private final Proof proof;
  private final Map<String, Pending> byToken = new HashMap<>();

  /** @param operations the operations of a user, through which the device's API key is made as {@code api-key create} makes one */
  public DeviceLogins(KeyRegistrations registrations, Function<String, Operations> operations, Clock clock) {
    this(registrations, operations, clock, new RateLimit(TokenExchange.PER_SECOND, TokenExchange.BURST, TokenExchange.MAX_SOURCES, clock),
        SIGNED);
  }

  DeviceLogins(KeyRegistrations registrations, Function<String, Operations> operations, Clock clock, RateLimit limit, Proof proof) {
    this.registrations = registrations;
    this.operations = operations;
    this.clock = clock;
    this.limit = limit;
    this.proof = proof;
  }

  public Started start(Request request, String source) {
    take(source);
    // Before anything is opened: a key the sender does not hold is never offered for linking.
    proof.check(request, clock.instant());
    String publicKey = request.publicKey();
    String keyName = keyName(request.deviceName());
    synchronized (this) {
      // Checked before the registration is opened too, so a full table adds nothing to the log.
      roomFor(clock.instant());
    }
    KeyRegistrations.Opened opened = registrations.open(publicKey, source);
    String token = newToken();
    synchronized (this) {
      roomFor(clock.instant());
      byToken.put(token, new Pending(opened.fingerprint(), keyName, opened.expiresAt()));
    }
    return new Started(opened.url(), opened.code(), token, opened.expiresAt(), INTERVAL_SECS);
  }

  public Polled poll(String pollToken, String source) {
    take(source);
    Instant now = clock.instant();
    Pending pending;
    String userId;
    synchronized (this) {
      pending = byToken.get(pollToken);
      if (pending == null) {
        throw BoxdException.notFound(NO_LOGIN);
      }
      Optional<String> user = registrations.userOf(pending.fingerprint());
      if (user.isEmpty() || !now.isBefore(pending.expiresAt().plus(GRACE))) {
        if (now.isBefore(pending.expiresAt())) {
          return Polled.NOT_YET;
        }
        byToken.remove(pollToken);
        throw BoxdException.notFound(NO_LOGIN);
      }
      userId = user.get();
      byToken.remove(pollToken); // taken here: two polls at once cannot both make a key
    }
    try {
      Operations.NewApiKey made = makeKey(operations.apply(userId), pending.keyName(), now);
      return new Polled(true, made.secret(), userId, made.key().id());
    } catch (RuntimeException e) {
      synchronized (this) {
        byToken.putIfAbsent(pollToken, pending); // the device may poll again once the cause is gone (too many keys, say)
      }
      throw e;
    }
  }

  /** {@code device-NAME}: the device's name as a DNS label (anything else becomes '-'), {@code cli} when there is none. */
  static String keyName(String deviceName) {
    String label = (deviceName == null ? "" : deviceName).toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-");
    if (label.length() > MAX_DEVICE_CHARS) {
      label = label.substring(0, MAX_DEVICE_CHARS);
    }
    label = label.replaceAll("^-+|-+$", "");
    return KEY_NAME_PREFIX + (label.isEmpty() ? DEFAULT_DEVICE : label);
  }

  /**
   * The device's key, named {@code base} or, when the account has a usable key of that name,
   * {@code base-2}, {@code base-3}…: a device logging in again gets a key of its own beside the
   * old one, which its owner may revoke. A name taken between the list and the create is tried again.
   */
  private static Operations.NewApiKey makeKey(Operations ops, String base, Instant now) {
    for (int attempt = 0; ; attempt++) {
      Set<String> taken = ops.apiKeys().stream().filter(k -> usable(k, now)).map(Operations.ApiKeyView::name).collect(Collectors.toSet());
      String name = base;
      for (int n = 2; taken.contains(name); n++) {
        name = base + "-" + n;
      }
      try {
        return ops.createApiKey(Optional.of(name), Optional.empty());
      } catch (BoxdException e) {
        if (e.code() != ErrorCode.ALREADY_EXISTS || attempt >= 2) {
          throw e;
        }
      }
    }
  }

  private static boolean usable(Operations.ApiKeyView key, Instant now) {
    return key.revokedAt().isEmpty() && key.expiresAt().map(at -> now.isBefore(Instant.parse(at))).orElse(true);
  }

  private void take(String source) {
    OptionalLong retryAfter = limit.take(source);
    if (retryAfter.isPresent()) {
      throw new BoxdException(ErrorCode.RESOURCE_EXHAUSTED, "too many device login requests from " + source + ": try again in "
          + retryAfter.getAsLong() + " s");
    }
  }

  private void roomFor(Instant now) {
    byToken.values().removeIf(p -> !now.isBefore(p.expiresAt().plus(GRACE)));
    if (byToken.size() >= MAX_IN_PROGRESS) {
      throw new BoxdException(ErrorCode.RESOURCE_EXHAUSTED, "too many device logins in progress on this server (" + MAX_IN_PROGRESS
          + "): try again in a few minutes, or ask the operator to add your key");
    }
  }

  private static String newToken() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  synchronized int inProgress() {
    return byToken.size();
  }
}
