package dev.boxd.edge.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

/**
 * Bytes one way between two connections once HTTP is done with them (after a {@code 101
 * Switching Protocols}: a WebSocket). Each side reads only while the other can take more.
 */
final class Splice extends ChannelInboundHandlerAdapter {
  private final Channel peer;

  Splice(Channel peer) {
    this.peer = peer;
  }

  /** Joins two connections on one event loop: from now on each side's bytes go to the other. */
  static void join(Channel a, Channel b) {
    a.pipeline().addLast("splice", new Splice(b));
    b.pipeline().addLast("splice", new Splice(a));
    a.config().setAutoRead(b.isWritable());
    b.config().setAutoRead(a.isWritable());
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof ByteBuf bytes) {
      peer.write(bytes, peer.voidPromise());
    } else {
      ReferenceCountUtil.release(msg); // the empty end of the 101's HTTP message
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    peer.flush();
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    peer.config().setAutoRead(ctx.channel().isWritable());
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
