package dev.boxd.edge.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** After the TLS handshake: HTTP/2 or HTTP/1.1, as the client and the edge agreed by ALPN. */
final class ProtocolSwitch extends ApplicationProtocolNegotiationHandler {
  private static final Logger log = LoggerFactory.getLogger(ProtocolSwitch.class);
  private static final int MAX_CONCURRENT_STREAMS = 128;
  private final ProxyContext edge;

  ProtocolSwitch(ProxyContext edge) {
    super(ApplicationProtocolNames.HTTP_1_1);
    this.edge = edge;
  }

  @Override
  protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
    ChannelPipeline pipeline = ctx.pipeline();
    EdgeConfig config = edge.config();
    if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
      Http2FrameCodec codec = Http2FrameCodecBuilder.forServer()
          .initialSettings(Http2Settings.defaultSettings().maxHeaderListSize(config.maxHeaderBytes()).maxConcurrentStreams(MAX_CONCURRENT_STREAMS))
          .build();
      pipeline.addLast(new IdleStateHandler(0, 0, config.idleTimeout().toMillis(), TimeUnit.MILLISECONDS), codec, new Http2Idle(codec),
          new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
            @Override
            protected void initChannel(Http2StreamChannel stream) {
              stream.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(true), new HttpServerExpectContinueHandler(),
                  new ProxyExchange(edge, true, null));
            }
          }));
      return;
    }
    addHttp1(pipeline, edge);
  }

  /** HTTP/1.1 on a connection: the codec with its limits, the clocks, 100-continue answered here, the proxy. */
  static void addHttp1(ChannelPipeline pipeline, ProxyContext edge) {
    EdgeConfig config = edge.config();
    ClientTimeouts timeouts = new ClientTimeouts(config.headerTimeout(), config.idleTimeout());
    pipeline.addLast("timeouts", timeouts)
        .addLast("codec", new HttpServerCodec(new HttpDecoderConfig().setMaxInitialLineLength(8192)
            .setMaxHeaderSize(config.maxHeaderBytes()).setMaxChunkSize(64 * 1024)))
        .addLast("continue", new HttpServerExpectContinueHandler())
        .addLast("proxy", new ProxyExchange(edge, false, timeouts));
  }

  @Override
  protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("TLS handshake with {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
    ctx.close();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("connection from {} ended: {}", ctx.channel().remoteAddress(), cause.toString());
    ctx.close();
  }
}
