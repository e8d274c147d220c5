package dev.boxd.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.verbs.testing.FakeOperations;
import java.net.InetAddress;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What one address and one account's addresses may hold, and what is given back. */
class ConnectionLimitsTest {
  static final InetAddress A1 = address("10.0.0.2");
  static final InetAddress A2 = address("10.0.0.3");
  static final InetAddress B1 = address("10.0.0.4");
  static final InetAddress NOBODY = address("10.0.0.9");
  static final InetAddress ISOLATED = address("10.0.0.10");

  private final Map<InetAddress, String> owners = Map.of(A1, "alice", A2, "alice", B1, "bob");
  private final ConnectionLimits limits = new ConnectionLimits(source -> {
    if (source.equals(ISOLATED)) {
      throw new BoxdException(ErrorCode.PERMISSION_DENIED, "isolated");
    }
    return Optional.ofNullable(owners.get(source)).map(owner -> new AddressCallers.Caller(owner, FakeOperations.builder().build()));
  }, 2, 3);

  static InetAddress address(String text) {
    try {
      return InetAddress.getByName(text);
    } catch (java.net.UnknownHostException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void oneAddressHoldsAtMostItsShareAndARefusalHoldsNothing() {
    var first = limits.admit(A1);
    assertThat(limits.admit(A1).refusal()).isEmpty();
    var third = limits.admit(A1);
    assertThat(third.refusal()).hasValueSatisfying(why -> assertThat(why).contains("10.0.0.2 has 2 connections open"));
    assertThat(limits.openFrom(A1)).isEqualTo(2);

    first.release().run();
    first.release().run(); // twice gives back once
    assertThat(limits.openFrom(A1)).isEqualTo(1);
    assertThat(limits.admit(A1).refusal()).isEmpty();
  }

  @Test
  void oneAccountsAddressesHoldAtMostItsShareTogetherAndOthersAreNotCounted() {
    limits.admit(A1);
    limits.admit(A1);
    var fromA2 = limits.admit(A2);
    assertThat(fromA2.refusal()).isEmpty();
    var over = limits.admit(A2);
    assertThat(over.refusal()).hasValueSatisfying(why -> assertThat(why).contains("the VMs of user alice have 3 connections open"));
    assertThat(limits.openFrom(A2)).as("a refusal by account gives the address's count back").isEqualTo(1);
    assertThat(limits.admit(B1).refusal()).as("another account").isEmpty();

    fromA2.release().run();
    assertThat(limits.admit(A2).refusal()).isEmpty();
  }

  @Test
  void addressesOfNobodyOrOfARefusedCallerAreCountedByAddressOnly() {
    assertThat(limits.admit(NOBODY).refusal()).isEmpty();
    assertThat(limits.admit(NOBODY).refusal()).isEmpty();
    assertThat(limits.admit(NOBODY).refusal()).isPresent();
    assertThat(limits.admit(ISOLATED).refusal()).isEmpty();
    assertThat(limits.admit(ISOLATED).refusal()).isEmpty();
    assertThat(limits.admit(ISOLATED).refusal()).isPresent();
  }
}
