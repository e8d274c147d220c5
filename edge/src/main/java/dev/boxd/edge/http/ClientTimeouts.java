package dev.boxd.edge.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The clocks of an HTTP/1.1 client connection between requests: one with no request for the idle
 * timeout is closed; a request head begun but not complete within the header timeout gets
 * {@code 408} and the connection closes (a slow client holds nothing for long). Sits in front of
 * the HTTP codec, where it sees the bytes.
 */
final class ClientTimeouts extends ChannelDuplexHandler {
  private static final byte[] REQUEST_TIMEOUT = ("HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\nContent-Length: 54\r\n"
      + "Connection: close\r\n\r\n408 Request Timeout\n\nthe request head came too slowly\n").getBytes(StandardCharsets.US_ASCII);

  private final Duration header;
  private final Duration idle;
  private ChannelHandlerContext ctx;
  private ScheduledFuture<?> timer;
  private boolean awaitingHead = true;
  private boolean headStarted;

  ClientTimeouts(Duration header, Duration idle) {
    this.header = header;
    this.idle = idle;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    arm(idle);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    cancel();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (awaitingHead && !headStarted && msg instanceof ByteBuf bytes && bytes.isReadable()) {
      headStarted = true;
      arm(header);
    }
    ctx.fireChannelRead(msg);
  }

  /** The whole head arrived: the exchange's own pace from here. */
  void headReceived() {
    awaitingHead = false;
    cancel();
  }

  /** A response ended on a kept-alive connection: the next request may take its time, up to the idle timeout. */
  void awaitNextRequest() {
    awaitingHead = true;
    headStarted = false;
    arm(idle);
  }

  private void arm(Duration after) {
    cancel();
    timer = ctx.executor().schedule(this::expired, after.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void cancel() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  private void expired() {
    if (!awaitingHead || !ctx.channel().isActive()) {
      return;
    }
    if (headStarted) {
      ctx.writeAndFlush(Unpooled.wrappedBuffer(REQUEST_TIMEOUT)).addListener(ChannelFutureListener.CLOSE);
    } else {
      ctx.close();
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    cancel();
    ctx.fireChannelInactive();
  }
}
