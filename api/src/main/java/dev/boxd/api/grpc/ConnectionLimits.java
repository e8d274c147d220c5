package dev.boxd.api.grpc;

import java.net.InetAddress;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How many connections the callers of {@link AddressApiServer} hold: at most {@code perAddress}
 * from one source address and {@code perOwner} from the addresses of one account. Each connection
 * is a socket, buffers and HTTP/2 state on the host, and the callers (VMs) are not trusted. An
 * address that is nobody's, or a refused caller, counts against its address only: its calls are
 * refused anyway, with the reason.
 */
final class ConnectionLimits {
  /** A connection let in, holding its counts until {@link #release()}; or refused, holding nothing. */
  record Admission(Optional<String> refusal, Runnable release) {
    static Admission refused(String why) {
      return new Admission(Optional.of(why), () -> {});
    }
  }

  private final AddressCallers callers;
  private final int perAddress;
  private final int perOwner;
  private final Map<InetAddress, AtomicInteger> byAddress = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> byOwner = new ConcurrentHashMap<>();

  ConnectionLimits(AddressCallers callers, int perAddress, int perOwner) {
    this.callers = callers;
    this.perAddress = perAddress;
    this.perOwner = perOwner;
  }

  Admission admit(InetAddress source) {
    AtomicInteger ofAddress = byAddress.computeIfAbsent(source, a -> new AtomicInteger());
    if (ofAddress.incrementAndGet() > perAddress) {
      ofAddress.decrementAndGet();
      return Admission.refused(source.getHostAddress() + " has " + perAddress + " connections open, the most one VM may have;"
          + " share a channel between calls, or wait for some to close");
    }
    Optional<String> owner = ownerOf(source);
    AtomicInteger ofOwner = owner.map(o -> byOwner.computeIfAbsent(o, x -> new AtomicInteger())).orElse(null);
    if (ofOwner != null && ofOwner.incrementAndGet() > perOwner) {
      ofOwner.decrementAndGet();
      ofAddress.decrementAndGet();
      return Admission.refused("the VMs of user " + owner.get() + " have " + perOwner + " connections open, the most one user may have;"
          + " share channels between calls, or wait for some to close");
    }
    var released = new AtomicBoolean();
    return new Admission(Optional.empty(), () -> {
      if (released.compareAndSet(false, true)) {
        ofAddress.decrementAndGet();
        if (ofOwner != null) {
          ofOwner.decrementAndGet();
        }
      }
    });
  }

  private Optional<String> ownerOf(InetAddress source) {
    try {
      return callers.at(source).map(AddressCallers.Caller::ownerId);
    } catch (RuntimeException e) {
      return Optional.empty(); // refused callers: every call says why
    }
  }

  /** Connections counted now from {@code source}: for tests. */
  int openFrom(InetAddress source) {
    AtomicInteger count = byAddress.get(source);
    return count == null ? 0 : count.get();
  }
}
