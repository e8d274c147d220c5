package dev.boxd.edge.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;

/** The last handler of a connection to a VM: hands what the VM sends to the exchange using the connection. */
final class UpstreamRelay extends ChannelInboundHandlerAdapter {
  private final int stallPeriods;
  private ProxyExchange owner;
  private int silentPeriods;

  /** @param stallPeriods silent idle periods in a row after which the exchange under way has stalled */
  UpstreamRelay(int stallPeriods) {
    this.stallPeriods = stallPeriods;
  }

  void attach(ProxyExchange exchange) {
    owner = exchange;
    silentPeriods = 0;
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
    if (event instanceof IdleStateEvent idle) {
      if (owner == null) {
        ctx.close(); // kept too long unused
        return;
      }
      silentPeriods = idle.isFirst() ? 1 : silentPeriods + 1;
      if (silentPeriods >= stallPeriods) {
        ProxyExchange stalled = owner;
        owner = null;
        stalled.upstreamStalled();
        ctx.close();
      }
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
