package dev.boxd.api.grpc;

import dev.boxd.api.auth.TokenVerifier;
import dev.boxd.api.v1.BoxdApiGrpc;
import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.verbs.Operations;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.util.concurrent.TimeUnit;

/** The API's services on an in-process channel, over the given operations, for user {@code u-1} with token {@code good}. */
final class InProcessApi implements AutoCloseable {
  static final String USER = "u-1";
  static final String GOOD_TOKEN = "good";
  /** Accepts {@code good} as user u-1 and nothing else, as the real verifier says no. */
  static final TokenVerifier TOKENS = token -> {
    if (token.equals(GOOD_TOKEN)) {
      return USER;
    }
    throw new BoxdException(ErrorCode.UNAUTHENTICATED, "the token has expired: get a new one");
  };

  final Server server;
  final ManagedChannel channel;

  InProcessApi(Operations ops) throws IOException {
    this(ops, Tokenless.NONE);
  }

  InProcessApi(Operations ops, Tokenless tokenless) throws IOException {
    String name = InProcessServerBuilder.generateName();
    var builder = InProcessServerBuilder.forName(name);
    ApiServices.of(user -> {
      if (!user.equals(USER)) {
        throw new AssertionError("operations asked for " + user);
      }
      return ops;
    }, TOKENS, tokenless).forEach(builder::addService);
    server = builder.build().start();
    channel = InProcessChannelBuilder.forName(name).build();
  }

  static Metadata bearer(String token) {
    Metadata headers = new Metadata();
    headers.put(AuthInterceptor.AUTHORIZATION, "Bearer " + token);
    return headers;
  }

  BoxdApiGrpc.BoxdApiBlockingStub blocking() {
    return BoxdApiGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(bearer(GOOD_TOKEN)))
        .withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  BoxdApiGrpc.BoxdApiStub async() {
    return BoxdApiGrpc.newStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(bearer(GOOD_TOKEN)));
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow();
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
  }
}
