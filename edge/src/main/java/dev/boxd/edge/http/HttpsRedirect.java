package dev.boxd.edge.http;

import dev.boxd.edge.route.EdgeName;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import java.util.Optional;

/** Plain HTTP: every request for a name the edge serves is sent to the same URL over HTTPS (308 keeps the method and body). */
final class HttpsRedirect extends ChannelInboundHandlerAdapter {
  private final String zone;
  private final int httpsPort;

  HttpsRedirect(String zone, int httpsPort) {
    this.zone = zone;
    this.httpsPort = httpsPort;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    try {
      if (msg instanceof HttpRequest request) {
        ctx.writeAndFlush(answer(ctx, request)).addListener(ChannelFutureListener.CLOSE);
      }
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  private FullHttpResponse answer(ChannelHandlerContext ctx, HttpRequest request) {
    if (request.decoderResult().isFailure()) {
      return Messages.page(ctx.alloc(), HttpResponseStatus.BAD_REQUEST, "malformed HTTP request", false);
    }
    String host = request.headers().get(HttpHeaderNames.HOST);
    Optional<EdgeName> name = EdgeName.parse(host, zone);
    boolean toZone = EdgeName.isZone(host, zone);
    if (name.isEmpty() && !toZone) {
      return Messages.page(ctx.alloc(), HttpResponseStatus.NOT_FOUND, (host == null ? "a request without a host" : host)
          + " is not a name served here: VMs are at https://NAME." + zone, false);
    }
    String location = "https://" + (toZone ? zone : name.get().under(zone)) + (httpsPort == 443 ? "" : ":" + httpsPort) + Messages.originForm(request.uri());
    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.PERMANENT_REDIRECT);
    response.headers().set(HttpHeaderNames.LOCATION, location).set(HttpHeaderNames.CONTENT_LENGTH, 0)
        .set(HttpHeaderNames.CONNECTION, "close");
    return response;
  }
}
