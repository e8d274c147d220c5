package dev.boxd.edge.tls;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.Future;
import java.util.Locale;
import java.util.Optional;

/**
 * Reads the TLS ClientHello, picks the context for its server name and hands over to TLS. A name
 * the edge does not serve (or none) ends the handshake with a fatal {@code unrecognized_name}
 * alert, so a client sees why instead of a certificate for some other name.
 */
public final class EdgeSniHandler extends SniHandler {
  /** The server name the connection's TLS was set up for (lower case), on the connection's channel. */
  public static final AttributeKey<String> SERVER_NAME = AttributeKey.valueOf("boxd.sni");
  // A TLS record: alert (21), version TLS 1.2 as records carry it, length 2, fatal (2), unrecognized_name (112).
  private static final byte[] UNRECOGNIZED_NAME = {21, 3, 3, 0, 2, 2, 112};
  private static final int MAX_CLIENT_HELLO = 16 * 1024;

  private final TlsContexts contexts;

  public EdgeSniHandler(TlsContexts contexts, long handshakeTimeoutMillis) {
    super(name -> null, MAX_CLIENT_HELLO, handshakeTimeoutMillis);
    this.contexts = contexts;
  }

  @Override
  protected Future<SslContext> lookup(ChannelHandlerContext ctx, String hostname) {
    Optional<SslContext> context = contexts.forName(hostname);
    if (context.isEmpty()) {
      ctx.writeAndFlush(Unpooled.wrappedBuffer(UNRECOGNIZED_NAME)).addListener(ChannelFutureListener.CLOSE);
      return ctx.executor().newFailedFuture(new UnknownServerName(hostname));
    }
    ctx.channel().attr(SERVER_NAME).set(hostname.toLowerCase(Locale.ROOT));
    return ctx.executor().newSucceededFuture(context.get());
  }

  /** A ClientHello for a name the edge does not serve (expected: logged quietly, the alert already sent). */
  public static final class UnknownServerName extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UnknownServerName(String name) {
      super("TLS for a name not served here: " + (name == null ? "(no server name)" : name), null, false, false);
    }
  }
}
