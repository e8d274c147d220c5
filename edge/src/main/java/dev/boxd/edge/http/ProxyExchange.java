package dev.boxd.edge.http;

import dev.boxd.edge.route.EdgeName;
import dev.boxd.edge.route.Route;
import dev.boxd.edge.route.VmUnavailable;
import dev.boxd.edge.tls.EdgeSniHandler;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.Optional;

/**
 * One client's requests, one at a time, proxied to the VM their host names: an HTTP/1.1
 * connection, or one HTTP/2 stream (its frames turned into the same HTTP objects). The request
 * head picks the route; the body streams to the VM as it arrives and the response streams back,
 * each side reading only while the other can take more. A {@code 101} answer to a WebSocket
 * handshake turns the connection into a byte splice both ways.
 *
 * <p>Everything runs on the client connection's event loop, the VM connection's too.
 */
final class ProxyExchange extends ChannelInboundHandlerAdapter {
  // PAGE: reading a request to the zone itself; PAGE_ANSWERING: its page being made off the loop.
  private enum State { IDLE, CONNECTING, FORWARDING, CLOSING, SPLICED, PAGE, PAGE_ANSWERING }

  private static final int MAX_PIPELINED = 8;

  private final ProxyContext edge;
  private final boolean http2;
  private final ClientTimeouts timeouts; // HTTP/1.1 only: an HTTP/2 connection watches its own
  private final ArrayDeque<HttpObject> pending = new ArrayDeque<>();
  private ChannelHandlerContext ctx;
  private State state = State.IDLE;

  // The exchange under way.
  private HttpRequest request;
  private Route route;
  private Channel upstream;
  private boolean keepAlive;
  private boolean requestDone;
  private boolean responseStarted;
  private boolean interimResponse;
  private boolean upstreamKeepAlive;
  private boolean upstreamNeedsFlush;
  private ZonePageCall page;

  ProxyExchange(ProxyContext edge, boolean http2, ClientTimeouts timeouts) {
    this.edge = edge;
    this.http2 = http2;
    this.timeouts = timeouts;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof HttpObject http) || state == State.CLOSING) {
      ReferenceCountUtil.release(msg);
      return;
    }
    pending.add(http);
    drain();
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    flushUpstream();
  }

  private void drain() {
    while (!pending.isEmpty()) {
      HttpObject next = pending.peek();
      if (state == State.IDLE && next instanceof HttpRequest head) {
        pending.poll();
        start(head);
      } else if (state == State.IDLE) {
        ReferenceCountUtil.release(pending.poll()); // body of a request already answered
      } else if (state == State.FORWARDING && !requestDone && next instanceof HttpContent content) {
        pending.poll();
        toUpstream(content);
      } else if (state == State.PAGE && next instanceof HttpContent content) {
        pending.poll();
        toPage(content);
      } else if (state == State.CLOSING) {
        ReferenceCountUtil.release(pending.poll());
      } else {
        break;
      }
    }
    flushUpstream();
    updateReads();
  }

  private void start(HttpRequest head) {
    if (head.decoderResult().isFailure()) {
      ReferenceCountUtil.release(head);
      malformed(head.decoderResult().cause());
      return;
    }
    if (timeouts != null) {
      timeouts.headReceived();
    }
    request = head;
    keepAlive = http2 || HttpUtil.isKeepAlive(head);
    requestDone = false;
    responseStarted = false;
    interimResponse = false;
    if (http2 && !Messages.safeForHttp1(head.headers())) {
      answer(HttpResponseStatus.BAD_REQUEST, "a header value holds a line break or NUL");
      ReferenceCountUtil.release(head);
      return;
    }
    String host = head.headers().get(HttpHeaderNames.HOST);
    if (host == null) {
      answer(HttpResponseStatus.BAD_REQUEST, "the request names no host (Host header)");
      ReferenceCountUtil.release(head);
      return;
    }
    if (EdgeName.isZone(host, edge.config().zone())) {
      startPage(head);
      return;
    }
    Optional<EdgeName> name = EdgeName.parse(host, edge.config().zone());
    if (name.isEmpty()) {
      answer(HttpResponseStatus.NOT_FOUND, host + " is not a name served here: VMs are at NAME." + edge.config().zone());
      ReferenceCountUtil.release(head);
      return;
    }
    String sni = serverName();
    if (sni != null && !EdgeName.parse(sni, edge.config().zone()).equals(name)) {
      answer(HttpResponseStatus.MISDIRECTED_REQUEST, "this connection was set up for " + sni + ", not " + host
          + "; connect again for " + host);
      ReferenceCountUtil.release(head);
      return;
    }
    Optional<Route> found = edge.routes().route(name.get());
    if (found.isEmpty()) {
      answer(HttpResponseStatus.NOT_FOUND, name.get().sub()
          .map(sub -> "VM " + name.get().vm() + " has no proxy named " + sub + " (or there is no VM " + name.get().vm() + ")")
          .orElse("there is no VM named " + name.get().vm() + " here"));
      ReferenceCountUtil.release(head);
      return;
    }
    route = found.get();
    boolean headIsWhole = head instanceof LastHttpContent;
    boolean bodyFollows = !headIsWhole && (http2 || HttpUtil.isTransferEncodingChunked(head) || HttpUtil.getContentLength(head, 0L) > 0);
    HttpRequest toVm = Messages.toUpstream(head, name.get().under(edge.config().zone()), clientAddress(), bodyFollows, http2);
    if (headIsWhole) {
      pending.addFirst(new DefaultLastHttpContent(((LastHttpContent) head).content().retain()));
      ReferenceCountUtil.release(head);
    }
    state = State.CONNECTING;
    edge.upstreams().acquire(route, ctx.channel().eventLoop(), (channel, failure) -> connected(channel, failure, toVm));
  }

  private void startPage(HttpRequest head) {
    String sni = serverName();
    if (sni != null && !EdgeName.isZone(sni, edge.config().zone())) {
      answer(HttpResponseStatus.MISDIRECTED_REQUEST, "this connection was set up for " + sni + ", not " + edge.config().zone()
          + "; connect again for " + edge.config().zone());
      ReferenceCountUtil.release(head);
      return;
    }
    page = new ZonePageCall(head, clientAddress());
    state = State.PAGE;
    if (head instanceof LastHttpContent whole) {
      toPage(whole); // takes the reference
    } else {
      ReferenceCountUtil.release(head);
    }
  }

  private void toPage(HttpContent content) {
    if (!page.add(content)) {
      answer(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, "requests to " + edge.config().zone() + " take at most "
          + ZonePages.MAX_BODY_BYTES / 1024 + " KiB of body");
      return;
    }
    if (content instanceof LastHttpContent) {
      state = State.PAGE_ANSWERING;
      ZonePageCall call = page;
      page = null;
      edge.blocking().execute(() -> {
        ZonePages.Response answered = call.answer(edge.pages());
        ctx.executor().execute(() -> pageAnswered(answered));
      });
    }
  }

  private void pageAnswered(ZonePages.Response answered) {
    if (state != State.PAGE_ANSWERING) {
      return; // the client left meanwhile
    }
    var response = ZonePageCall.toHttp(ctx.alloc(), answered);
    if (http2) {
      state = State.CLOSING;
      ctx.writeAndFlush(response);
    } else if (keepAlive) {
      HttpUtil.setKeepAlive(response, true);
      ctx.writeAndFlush(response);
      state = State.IDLE;
      timeouts.awaitNextRequest();
      drain();
    } else {
      state = State.CLOSING;
      HttpUtil.setKeepAlive(response, false);
      ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
    }
  }

  private void connected(Channel channel, Throwable failure, HttpRequest toVm) {
    if (state != State.CONNECTING) {
      if (channel != null) {
        channel.close(); // the client left meanwhile
      }
      return;
    }
    if (failure != null) {
      unreachable(failure);
      return;
    }
    upstream = channel;
    upstream.pipeline().get(UpstreamRelay.class).attach(this);
    state = State.FORWARDING;
    upstream.write(toVm, upstream.voidPromise());
    upstreamNeedsFlush = true;
    drain();
  }

  private void unreachable(Throwable failure) {
    switch (failure) {
      case VmUnavailable gone when gone.why() == VmUnavailable.Why.GONE -> answer(HttpResponseStatus.NOT_FOUND, gone.getMessage());
      case VmUnavailable stopped -> answer(HttpResponseStatus.SERVICE_UNAVAILABLE, stopped.getMessage());
      case Upstreams.TooManyConnections busy -> answer(HttpResponseStatus.SERVICE_UNAVAILABLE, busy.getMessage());
      case IOException io -> answer(HttpResponseStatus.BAD_GATEWAY, "nothing answers on port " + route.port() + " of VM " + route.vmName()
          + " (" + describe(io) + "); start a server there listening on 0.0.0.0:" + route.port());
      default -> answer(HttpResponseStatus.BAD_GATEWAY, "cannot reach port " + route.port() + " of VM " + route.vmName() + ": "
          + describe(failure));
    }
  }

  private static String describe(Throwable failure) {
    String message = failure.getMessage();
    return message == null || message.isBlank() ? failure.getClass().getSimpleName() : message;
  }

  private void toUpstream(HttpContent content) {
    upstream.write(content, upstream.voidPromise());
    upstreamNeedsFlush = true;
    if (content instanceof LastHttpContent) {
      requestDone = true;
    }
  }

  private void flushUpstream() {
    if (upstreamNeedsFlush && upstream != null) {
      upstreamNeedsFlush = false;
      upstream.flush();
    }
  }

  /** What the VM sent, from its connection. */
  void fromUpstream(HttpObject msg) {
    if (state != State.FORWARDING) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (msg instanceof HttpResponse response) {
      int code = response.status().code();
      if (code == 101 && !http2 && Messages.isUpgrade(request)) {
        splice(response);
        ReferenceCountUtil.release(msg);
        return;
      }
      if (code >= 100 && code < 200) {
        interimResponse = true; // 100 Continue was already answered here; others (103) are dropped
      } else {
        responseStarted = true;
        upstreamKeepAlive = HttpUtil.isKeepAlive(response);
        HttpResponse toClient = Messages.toClient(response, request, http2, keepAlive);
        keepAlive = http2 || HttpUtil.isKeepAlive(toClient); // a body delimited by the close ends the connection
        ctx.write(toClient);
      }
    }
    if (msg instanceof HttpContent content) {
      if (interimResponse) {
        interimResponse = !(content instanceof LastHttpContent);
        content.release();
        return;
      }
      boolean last = content instanceof LastHttpContent;
      ctx.write(content);
      if (last) {
        responseDone();
      }
    }
  }

  void upstreamReadComplete() {
    ctx.flush();
  }

  private void responseDone() {
    Channel used = upstream;
    upstream = null;
    used.pipeline().get(UpstreamRelay.class).detach();
    if (upstreamKeepAlive && requestDone) {
      edge.upstreams().release(used, route);
    } else {
      used.close();
    }
    if (!http2 && keepAlive && requestDone) {
      ctx.flush();
      state = State.IDLE;
      timeouts.awaitNextRequest();
      drain();
    } else {
      state = State.CLOSING;
      if (http2) {
        ctx.flush();
      } else {
        ctx.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
      }
    }
  }

  /** The VM's connection closed under an exchange. */
  void upstreamClosed() {
    upstream = null;
    if (state != State.FORWARDING) {
      return;
    }
    if (!responseStarted) {
      answer(HttpResponseStatus.BAD_GATEWAY, "VM " + route.vmName() + " closed the connection on port " + route.port() + " without an answer");
    } else {
      state = State.CLOSING;
      ctx.close(); // the client sees the response cut short, as it was
    }
  }

  /** Nothing moved between the edge and the VM for the stall timeout; the relay closes the VM's side. */
  void upstreamStalled() {
    upstream = null;
    if (state != State.FORWARDING) {
      return;
    }
    if (!responseStarted) {
      answer(HttpResponseStatus.GATEWAY_TIMEOUT, "VM " + route.vmName() + " did not answer on port " + route.port() + " within "
          + edge.config().stallTimeout().toSeconds() + " s" + (requestDone ? "" : " (nor did the request's body arrive meanwhile)"));
    } else {
      state = State.CLOSING;
      ctx.close(); // the client sees the response cut short, as it was
    }
  }

  private void splice(HttpResponse switching) {
    state = State.SPLICED;
    ctx.writeAndFlush(new DefaultHttpResponse(request.protocolVersion(), switching.status(), switching.headers().copy()));
    Channel client = ctx.channel();
    Channel vm = upstream;
    upstream = null;
    vm.pipeline().remove(UpstreamRelay.class);
    vm.pipeline().remove("idle");
    ChannelHandlerContext codec = vm.pipeline().context("codec");
    Splice.join(client, vm);
    if (codec != null) {
      vm.pipeline().remove("codec"); // bytes it holds past the 101 go on to the splice
    }
    for (String name : new String[] {"timeouts", "codec", "continue"}) {
      if (client.pipeline().get(name) != null) {
        client.pipeline().remove(name);
      }
    }
    pending.forEach(ReferenceCountUtil::release);
    pending.clear();
    client.pipeline().remove(this);
  }

  private void malformed(Throwable cause) {
    if (cause instanceof TooLongHttpHeaderException) {
      answer(HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "the request's headers exceed " + edge.config().maxHeaderBytes() + " bytes");
    } else if (cause instanceof TooLongHttpLineException || cause instanceof TooLongFrameException) {
      answer(HttpResponseStatus.REQUEST_URI_TOO_LONG, "the request line is too long");
    } else {
      answer(HttpResponseStatus.BAD_REQUEST, "malformed HTTP request: " + describe(cause));
    }
  }

  /** A page from the edge itself; the connection (HTTP/1.1) or stream (HTTP/2) then closes. */
  private void answer(HttpResponseStatus status, String text) {
    state = State.CLOSING;
    var page = Messages.page(ctx.alloc(), status, text, true);
    if (http2) {
      ctx.writeAndFlush(page);
    } else {
      HttpUtil.setKeepAlive(page, false);
      ctx.writeAndFlush(page).addListener(ChannelFutureListener.CLOSE);
    }
    pending.forEach(ReferenceCountUtil::release);
    pending.clear();
  }

  private String serverName() {
    Channel connection = http2 ? ctx.channel().parent() : ctx.channel();
    return connection == null ? null : connection.attr(EdgeSniHandler.SERVER_NAME).get();
  }

  private String clientAddress() {
    Channel connection = http2 ? ctx.channel().parent() : ctx.channel();
    return connection.remoteAddress() instanceof InetSocketAddress address ? address.getAddress().getHostAddress() : "unknown";
  }

  /** Each side reads only while the other can take what it reads. */
  void updateReads() {
    if (state == State.SPLICED || ctx == null) {
      return;
    }
    boolean readClient = switch (state) {
      case IDLE, PAGE -> true;
      // Once the request is whole, reading on costs nothing: a pipelined request waits in pending
      // (a few at most), and no read interest is switched off and on around every request.
      case FORWARDING -> requestDone ? pending.size() < MAX_PIPELINED : upstream != null && upstream.isWritable();
      default -> false;
    };
    setAutoRead(ctx.channel(), readClient);
    if (upstream != null) {
      setAutoRead(upstream, ctx.channel().isWritable());
    }
  }

  private static void setAutoRead(Channel channel, boolean read) {
    if (channel.config().isAutoRead() != read) {
      channel.config().setAutoRead(read);
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    updateReads();
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    state = State.CLOSING;
    pending.forEach(ReferenceCountUtil::release);
    pending.clear();
    if (upstream != null) {
      upstream.pipeline().get(UpstreamRelay.class).detach();
      upstream.close(); // mid-exchange: never reused
      upstream = null;
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
