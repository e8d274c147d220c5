package dev.boxd.core.state;

import static dev.boxd.core.state.Fixtures.T0;
import static dev.boxd.core.state.Fixtures.given;
import static dev.boxd.core.state.Fixtures.next;
import static dev.boxd.core.state.Fixtures.user;
import static dev.boxd.core.state.FsmTest.assertRejected;
import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.ErrorCode;
import dev.boxd.core.state.Command.AddKey;
import dev.boxd.core.state.Command.ApproveRegistration;
import dev.boxd.core.state.Command.OpenRegistration;
import dev.boxd.core.state.Command.RemoveKey;
import dev.boxd.core.state.Command.SetUserQuota;
import org.junit.jupiter.api.Test;

class IdentityTest {
  private static final String KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests alice@laptop";

  @Test
  void approvingARegistrationCreatesTheAccountAndLinksTheKey() {
    ClusterState s = given(new OpenRegistration("code1", "SHA256:abc", KEY, T0.plusSeconds(600)));
    Applied approved = next(s, new ApproveRegistration("code1", "u1", "alice", T0.plusSeconds(10)));

    assertThat(approved.result().isOk()).isTrue();
    ClusterState after = approved.state();
    assertThat(after.userByKey("SHA256:abc")).contains(new User("u1", "alice", T0.plusSeconds(10), Quota.STANDARD));
    assertThat(after.keysOf("u1")).containsExactly(new SshKey("SHA256:abc", "u1", KEY, T0.plusSeconds(10)));
    assertThat(after.registrations()).isEmpty();
  }

  @Test
  void approvingForAnExistingAccountAddsAKey() {
    ClusterState s = given(user("u1"), new AddKey("u1", "SHA256:one", KEY, T0),
        new OpenRegistration("code1", "SHA256:two", KEY, T0.plusSeconds(600)));
    ClusterState after = next(s, new ApproveRegistration("code1", "u1", "ignored", T0.plusSeconds(10))).state();

    assertThat(after.user("u1").orElseThrow().name()).isEqualTo("name-u1");
    assertThat(after.keysOf("u1")).extracting(SshKey::fingerprint).containsExactly("SHA256:one", "SHA256:two");
  }

  @Test
  void anExpiredOrUnknownCodeIsRejected() {
    ClusterState s = given(new OpenRegistration("code1", "SHA256:abc", KEY, T0.plusSeconds(600)));

    assertRejected(next(s, new ApproveRegistration("code1", "u1", "alice", T0.plusSeconds(600))),
        ErrorCode.FAILED_PRECONDITION, "registration code \"code1\" expired at 2026-01-02T03:14:05.123456789Z");
    assertRejected(next(s, new ApproveRegistration("nope", "u1", "alice", T0)), ErrorCode.NOT_FOUND,
        "no registration with code \"nope\"");
    assertRejected(next(s, new ApproveRegistration("code1", "u1", "Not A Name", T0)), ErrorCode.INVALID_ARGUMENT,
        "invalid user name \"Not A Name\"");
  }

  @Test
  void aNewRegistrationOfAKeyReplacesItsOldOneAndApprovalPrunesExpiredOnes() {
    ClusterState s = given(
        new OpenRegistration("old", "SHA256:abc", KEY, T0.plusSeconds(600)),
        new OpenRegistration("new", "SHA256:abc", KEY, T0.plusSeconds(900)),
        new OpenRegistration("stale", "SHA256:other", KEY, T0.plusSeconds(5)));
    assertThat(s.registrations()).extracting(Registration::code).containsExactly("new", "stale");
    assertThat(s.registrationOfKey("SHA256:abc").orElseThrow().code()).isEqualTo("new");

    ClusterState after = next(s, new ApproveRegistration("new", "u1", "alice", T0.plusSeconds(60))).state();
    assertThat(after.registrations()).isEmpty();
  }

  @Test
  void registrationsExpireAtTheProposersTimeAndAreCappedPerAddressAndInAll() {
    ClusterState s = ClusterState.empty();
    for (int i = 0; i < Registration.MAX_PENDING_PER_SOURCE; i++) {
      s = next(s, from("c" + i, "SHA256:k" + i, "192.0.2.1", T0)).state();
    }
    assertThat(s.registrations()).hasSize(Registration.MAX_PENDING_PER_SOURCE);

    Applied overShare = next(s, from("x", "SHA256:x", "192.0.2.1", T0.plusSeconds(1)));
    assertRejected(overShare, ErrorCode.RESOURCE_EXHAUSTED, "too many pending registrations from 192.0.2.1 ("
        + Registration.MAX_PENDING_PER_SOURCE + ", the most one address may have)");
    assertThat(overShare.state().registrations()).as("a rejection keeps nothing").hasSize(Registration.MAX_PENDING_PER_SOURCE);
    assertThat(next(s, from("y", "SHA256:y", "192.0.2.2", T0.plusSeconds(1))).result().isOk()).as("another address").isTrue();
    assertThat(next(s, from("z", "SHA256:k0", "192.0.2.1", T0.plusSeconds(1))).result().isOk())
        .as("a key that has one replaces it").isTrue();

    // An hour on, every one of them has expired: the next registration drops them all.
    ClusterState later = next(s, from("late", "SHA256:late", "192.0.2.1", T0.plus(LIFETIME))).state();
    assertThat(later.registrations()).extracting(Registration::code).containsExactly("late");
  }

  @Test
  void theWholeClusterKeepsAtMostMaxPendingRegistrations() {
    ClusterState s = ClusterState.empty();
    for (int i = 0; i < Registration.MAX_PENDING; i++) {
      s = next(s, from("c" + i, "SHA256:k" + i, "198.51.100." + (i % 250) + "/" + i, T0)).state();
    }
    assertRejected(next(s, from("one-more", "SHA256:more", "203.0.113.1", T0)), ErrorCode.RESOURCE_EXHAUSTED,
        "too many pending registrations (" + Registration.MAX_PENDING + ", the most this cluster keeps); try again later");
    ClusterState approved = next(s, new ApproveRegistration("c7", "u1", "alice", T0.plusSeconds(5))).state();
    assertThat(next(approved, from("one-more", "SHA256:more", "203.0.113.1", T0.plusSeconds(6))).result().isOk())
        .as("an approval makes room").isTrue();
  }

  private static final java.time.Duration LIFETIME = java.time.Duration.ofHours(1);

  private static Command.OpenRegistrationFrom from(String code, String fingerprint, String source, java.time.Instant at) {
    return new Command.OpenRegistrationFrom(code, fingerprint, KEY, source, at, at.plus(LIFETIME));
  }

  @Test
  void aKeyLinksToOneAccount() {
    ClusterState s = given(user("u1"), user("u2"), new AddKey("u1", "SHA256:abc", KEY, T0));

    assertRejected(next(s, new AddKey("u2", "SHA256:abc", KEY, T0)), ErrorCode.ALREADY_EXISTS,
        "key \"SHA256:abc\" is already linked to an account");
    assertRejected(next(s, new AddKey("u1", "SHA256:abc", KEY, T0)), ErrorCode.ALREADY_EXISTS, "already linked to this account");
    assertRejected(next(s, new OpenRegistration("c", "SHA256:abc", KEY, T0.plusSeconds(60))), ErrorCode.ALREADY_EXISTS,
        "already linked");
    assertRejected(next(s, new AddKey("u9", "SHA256:new", KEY, T0)), ErrorCode.NOT_FOUND, "no user with id \"u9\"");

    ClusterState removed = next(s, new RemoveKey("SHA256:abc")).state();
    assertThat(removed.userByKey("SHA256:abc")).isEmpty();
    assertRejected(next(removed, new RemoveKey("SHA256:abc")), ErrorCode.NOT_FOUND, "no key \"SHA256:abc\"");
  }

  @Test
  void usersAndQuotas() {
    ClusterState s = given(user("u1"));

    assertRejected(next(s, user("u1")), ErrorCode.ALREADY_EXISTS, "a user with id \"u1\" already exists");
    assertRejected(next(s, new SetUserQuota("u1", -1)), ErrorCode.INVALID_ARGUMENT, "invalid quota -1");
    assertRejected(next(s, new SetUserQuota("u9", 3)), ErrorCode.NOT_FOUND, "no user with id \"u9\"");
    assertThat(next(s, new SetUserQuota("u1", 3)).state().user("u1").orElseThrow().maxVms()).isEqualTo(3);
  }
}
