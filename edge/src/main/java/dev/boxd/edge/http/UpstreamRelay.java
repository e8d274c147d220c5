package dev.boxd.edge.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;

/** The last handler of a connection to a VM: hands what the VM sends to the exchange using the connection. */
final class UpstreamRelay extends ChannelInboundHandlerAdapter {
  private ProxyExchange owner;

  void attach(ProxyExchange exchange) {
    owner = exchange;
  }

  void detach() {
    owner = null;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (owner != null && msg instanceof HttpObject http) {
      owner.fromUpstream(http);
    } else {
      ReferenceCountUtil.release(msg); // a kept connection has nothing to say; it is closed below if it does
      if (owner == null) {
        ctx.close();
      }
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (owner != null) {
      owner.upstreamReadComplete();
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (owner != null) {
      owner.updateReads();
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
    if (event instanceof IdleStateEvent && owner == null) {
      ctx.close(); // kept too long unused
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (owner != null) {
      ProxyExchange exchange = owner;
      owner = null;
      exchange.upstreamClosed();
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
