package dev.boxd.edge.http;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.timeout.IdleStateEvent;

/** Closes an HTTP/2 connection that had no traffic for the idle timeout and has no stream open. */
final class Http2Idle extends ChannelDuplexHandler {
  private final Http2FrameCodec codec;

  Http2Idle(Http2FrameCodec codec) {
    this.codec = codec;
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
    if (event instanceof IdleStateEvent && codec.connection().numActiveStreams() == 0) {
      ctx.close();
      return;
    }
    super.userEventTriggered(ctx, event);
  }
}
