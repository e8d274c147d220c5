package dev.boxd.core.state;

import static dev.boxd.core.Names.quote;
import static dev.boxd.core.state.Fsm.ok;
import static dev.boxd.core.state.Fsm.reject;

import dev.boxd.core.ErrorCode;
import dev.boxd.core.Names;
import dev.boxd.core.state.Command.AddKey;
import dev.boxd.core.state.Command.ApproveRegistration;
import dev.boxd.core.state.Command.CreateUser;
import dev.boxd.core.state.Command.OpenRegistration;
import dev.boxd.core.state.Command.RemoveKey;
import dev.boxd.core.state.Command.SetUserQuota;
import java.util.ArrayList;
import java.util.List;

/** Accounts, their keys, pending registrations and quotas (SPEC §7). */
final class UserCommands {
  private UserCommands() {}

  static Applied createUser(ClusterState s, CreateUser c) {
    if (c.userId().isEmpty()) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, "a user id may not be empty");
    }
    if (s.user(c.userId()).isPresent()) {
      return reject(s, ErrorCode.ALREADY_EXISTS, "a user with id " + quote(c.userId()) + " already exists");
    }
    String invalid = invalidName(c.name());
    if (invalid != null) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, invalid);
    }
    if (c.maxVms() < 0) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, invalidQuota(c.maxVms()));
    }
    return ok(s.withUser(new User(c.userId(), c.name(), c.at(), Quota.ofVms(c.maxVms()))));
  }

  static Applied addKey(ClusterState s, AddKey c) {
    if (s.user(c.userId()).isEmpty()) {
      return reject(s, ErrorCode.NOT_FOUND, noUser(c.userId()));
    }
    String linked = alreadyLinked(s, c.fingerprint(), c.userId());
    if (linked != null) {
      return reject(s, ErrorCode.ALREADY_EXISTS, linked);
    }
    ClusterState linkedState = s.withKey(new SshKey(c.fingerprint(), c.userId(), c.publicKey(), c.at()));
    List<String> pending = s.registrationOfKey(c.fingerprint()).map(r -> List.of(r.code())).orElse(List.of());
    return ok(linkedState.withoutRegistrations(pending));
  }

  static Applied removeKey(ClusterState s, RemoveKey c) {
    if (s.key(c.fingerprint()).isEmpty()) {
      return reject(s, ErrorCode.NOT_FOUND, "no key " + quote(c.fingerprint()) + " is linked to an account");
    }
    return ok(s.withoutKey(c.fingerprint()));
  }

  static Applied openRegistration(ClusterState s, OpenRegistration c) {
    if (s.registration(c.code()).isPresent()) {
      return reject(s, ErrorCode.ALREADY_EXISTS, "registration code " + quote(c.code()) + " is already in use");
    }
    String linked = alreadyLinked(s, c.fingerprint(), null);
    if (linked != null) {
      return reject(s, ErrorCode.ALREADY_EXISTS, linked);
    }
    List<String> replaced = s.registrationOfKey(c.fingerprint()).map(r -> List.of(r.code())).orElse(List.of());
    return ok(s.withoutRegistrations(replaced)
        .withRegistration(new Registration(c.code(), c.fingerprint(), c.publicKey(), c.expiresAt())));
  }

  static Applied openRegistration(ClusterState s, Command.OpenRegistrationFrom c) {
    if (s.registration(c.code()).isPresent()) {
      return reject(s, ErrorCode.ALREADY_EXISTS, "registration code " + quote(c.code()) + " is already in use");
    }
    String linked = alreadyLinked(s, c.fingerprint(), null);
    if (linked != null) {
      return reject(s, ErrorCode.ALREADY_EXISTS, linked);
    }
    PendingRegistrations pending = PendingRegistrations.of(s, c.fingerprint(), c.source(), c.at());
    Result.Rejected refused = pending.refusal(c.source()).orElse(null);
    if (refused != null) {
      return new Applied(s, refused);
    }
    return ok(s.withoutRegistrations(pending.dropped())
        .withRegistration(new Registration(c.code(), c.fingerprint(), c.publicKey(), c.expiresAt(), c.source())));
  }

  static Applied approveRegistration(ClusterState s, ApproveRegistration c) {
    Registration registration = s.registration(c.code()).orElse(null);
    if (registration == null) {
      return reject(s, ErrorCode.NOT_FOUND, "no registration with code " + quote(c.code()));
    }
    if (registration.expiredAt(c.at())) {
      return reject(s, ErrorCode.FAILED_PRECONDITION,
          "registration code " + quote(c.code()) + " expired at " + registration.expiresAt() + "; connect again for a new one");
    }
    String linked = alreadyLinked(s, registration.fingerprint(), null);
    if (linked != null) {
      return reject(s, ErrorCode.ALREADY_EXISTS, linked);
    }
    ClusterState next = s;
    if (s.user(c.userId()).isEmpty()) {
      Applied created = createUser(s, new CreateUser(c.userId(), c.userName(), c.at(), ClusterState.DEFAULT_MAX_VMS));
      if (!created.result().isOk()) {
        return created;
      }
      next = created.state();
    }
    List<String> done = new ArrayList<>();
    for (Registration r : s.registrations()) {
      if (r.code().equals(c.code()) || r.expiredAt(c.at())) {
        done.add(r.code());
      }
    }
    return ok(next.withKey(new SshKey(registration.fingerprint(), c.userId(), registration.publicKey(), c.at()))
        .withoutRegistrations(done));
  }

  static Applied setQuota(ClusterState s, SetUserQuota c) {
    User user = s.user(c.userId()).orElse(null);
    if (user == null) {
      return reject(s, ErrorCode.NOT_FOUND, noUser(c.userId()));
    }
    if (c.maxVms() < 0) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, invalidQuota(c.maxVms()));
    }
    return ok(s.withUser(user.withQuota(user.quota().withMaxVms(c.maxVms()))));
  }

  static Applied setQuota(ClusterState s, Command.SetQuota c) {
    User user = s.user(c.userId()).orElse(null);
    if (user == null) {
      return reject(s, ErrorCode.NOT_FOUND, noUser(c.userId()));
    }
    String negative = c.quota().negative();
    if (negative != null) {
      return reject(s, ErrorCode.INVALID_ARGUMENT, "invalid quota (" + negative + "): expected 0 or more of each limit");
    }
    // Lowering a limit below what the account holds takes nothing away: it only refuses new VMs.
    return ok(s.withUser(user.withQuota(c.quota())));
  }

  static String noUser(String userId) {
    return "no user with id " + quote(userId);
  }

  private static String alreadyLinked(ClusterState s, String fingerprint, String userId) {
    return s.key(fingerprint)
        .map(key -> "key " + quote(fingerprint) + " is already linked to "
            + (key.userId().equals(userId) ? "this account" : "an account"))
        .orElse(null);
  }

  private static String invalidName(String name) {
    return Names.isValid(name)
        ? null
        : "invalid user name " + quote(name)
            + ": expected 1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit";
  }

  private static String invalidQuota(int maxVms) {
    return "invalid quota " + maxVms + ": expected 0 or more VMs";
  }
}
