package dev.boxd.api.grpc;

import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.Map;

/**
 * Requests that are not the message their method takes (bytes no generated client sends) are
 * refused with INVALID_ARGUMENT naming the message, instead of gRPC's own answer, UNKNOWN
 * "Application error processing RPC". The service is served on raw bytes; each request is parsed
 * here first, and handed on only if it parses (the service parses it again: requests are small,
 * and file chunks at most {@link ApiServer#MAX_MESSAGE_BYTES}).
 */
final class RequestCheck implements ServerInterceptor {
  private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw Status.INTERNAL.withDescription("cannot read the request").withCause(e).asRuntimeException();
      }
    }
  };

  private final Map<String, MethodDescriptor<?, ?>> methods = new HashMap<>();

  private RequestCheck(ServerServiceDefinition service) {
    for (ServerMethodDefinition<?, ?> method : service.getMethods()) {
      methods.put(method.getMethodDescriptor().getFullMethodName(), method.getMethodDescriptor());
    }
  }

  /** {@code service}, its requests checked before it sees them. */
  static ServerServiceDefinition around(ServerServiceDefinition service) {
    return ServerInterceptors.intercept(ServerInterceptors.useMarshalledMessages(service, BYTES), new RequestCheck(service));
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    MethodDescriptor<?, ?> method = methods.get(call.getMethodDescriptor().getFullMethodName());
    return new SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
      private boolean refused;

      @Override
      public void onMessage(Q message) {
        if (refused) {
          return;
        }
        String problem = problemOf(method, (byte[]) message);
        if (problem != null) {
          refused = true;
          call.close(Status.INVALID_ARGUMENT.withDescription(problem), new Metadata());
          return;
        }
        super.onMessage(message);
      }

      @Override
      public void onHalfClose() {
        if (!refused) {
          super.onHalfClose();
        }
      }
    };
  }

  private static String problemOf(MethodDescriptor<?, ?> method, byte[] request) {
    try {
      method.parseRequest(new ByteArrayInputStream(request));
      return null;
    } catch (RuntimeException e) {
      String type = method.getRequestMarshaller() instanceof MethodDescriptor.PrototypeMarshaller<?> proto
          && proto.getMessagePrototype() instanceof com.google.protobuf.Message message
          ? message.getDescriptorForType().getFullName() : "request of " + method.getFullMethodName();
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      return "the request is not a valid " + type + " (" + cause.getMessage() + "); send the message the boxd.api.v1 proto defines";
    }
  }
}
