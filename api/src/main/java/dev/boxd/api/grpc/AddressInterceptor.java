package dev.boxd.api.grpc;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Lets a call in as the caller its connection comes from ({@link AddressCallers}), looked up per
 * call so that a VM destroyed since the connection opened is nobody's; no token is needed or
 * read. One account's callers together run at most {@code callsPerOwner} calls at once (each may
 * hold a thread, a process in a guest and a message's buffer), so one account's VMs cannot take
 * what the others need.
 */
final class AddressInterceptor implements ServerInterceptor {
  private final AddressCallers callers;
  private final int callsPerOwner;
  private final Map<String, AtomicInteger> callsByOwner = new ConcurrentHashMap<>();

  AddressInterceptor(AddressCallers callers, int callsPerOwner) {
    this.callers = callers;
    this.callsPerOwner = callsPerOwner;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    AddressCallers.Caller caller;
    try {
      caller = callerOf(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
    } catch (RuntimeException e) {
      call.close(ErrorStatus.of(e), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    AtomicInteger running = callsByOwner.computeIfAbsent(caller.ownerId(), owner -> new AtomicInteger());
    if (running.incrementAndGet() > callsPerOwner) {
      running.decrementAndGet();
      call.close(ErrorStatus.of(new BoxdException(ErrorCode.RESOURCE_EXHAUSTED, "the VMs of user " + caller.ownerId() + " run "
          + callsPerOwner + " calls at once, the most one user may; wait for some to end")), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    var ended = new AtomicBoolean();
    Runnable release = () -> {
      if (ended.compareAndSet(false, true)) {
        running.decrementAndGet();
      }
    };
    ServerCall.Listener<Q> listener;
    try {
      // The source too, for the calls that get a token: refused here (callers need none), with the reason.
      Context context = Context.current().withValues(BoxdApiService.CALLER, caller.operations(), AuthInterceptor.SOURCE,
          AuthInterceptor.sourceOf(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR)));
      listener = Contexts.interceptCall(context, call, headers, next);
    } catch (RuntimeException e) {
      release.run();
      throw e;
    }
    // Every call ends in exactly one of these two, however it ends (closed, cancelled, connection lost).
    return new SimpleForwardingServerCallListener<>(listener) {
      @Override
      public void onComplete() {
        try {
          super.onComplete();
        } finally {
          release.run();
        }
      }

      @Override
      public void onCancel() {
        try {
          super.onCancel();
        } finally {
          release.run();
        }
      }
    };
  }

  private AddressCallers.Caller callerOf(SocketAddress remote) {
    if (!(remote instanceof InetSocketAddress address) || address.getAddress() == null) {
      throw new BoxdException(ErrorCode.UNAUTHENTICATED, "this API knows callers by their IP address, and this connection has none ("
          + remote + ")");
    }
    return callers.at(address.getAddress()).orElseThrow(() -> new BoxdException(ErrorCode.UNAUTHENTICATED,
        address.getAddress().getHostAddress() + " is not the address of a VM of this cluster: this API serves the cluster's VMs,"
            + " each as its owner, with no token; from elsewhere use the API with a token"));
  }
}
