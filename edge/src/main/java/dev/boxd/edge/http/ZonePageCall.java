package dev.boxd.edge.http;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.io.ByteArrayOutputStream;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** One request to the zone itself: its body gathered whole, then handed to the {@link ZonePages}. */
final class ZonePageCall {
  private static final Logger log = LoggerFactory.getLogger(ZonePageCall.class);

  private final HttpRequest head;
  private final String client;
  private final ByteArrayOutputStream body = new ByteArrayOutputStream();

  ZonePageCall(HttpRequest head, String client) {
    this.head = head;
    this.client = client;
  }

  /** Adds a piece of the body (and releases it); false once the body is larger than pages take. */
  boolean add(HttpContent content) {
    try {
      int size = content.content().readableBytes();
      if (body.size() + size > ZonePages.MAX_BODY_BYTES) {
        return false;
      }
      content.content().readBytes(body, size);
      return true;
    } catch (java.io.IOException impossible) {
      throw new IllegalStateException(impossible);
    } finally {
      content.release();
    }
  }

  /** Asks the pages; blocking. Never throws: a failing handler is a 500 that names nothing internal. */
  ZonePages.Response answer(ZonePages pages) {
    Map<String, String> headers = new HashMap<>();
    head.headers().forEach(header -> headers.putIfAbsent(header.getKey().toLowerCase(Locale.ROOT), header.getValue()));
    var request = new ZonePages.Request(head.method().name(), Messages.originForm(head.uri()), headers, body.toByteArray(), client);
    try {
      return pages.handle(request);
    } catch (Exception | Error e) {
      log.warn("the page {} {} failed", request.method(), request.path(), e);
      return ZonePages.Response.text(500, "this page failed on the server; try again, and tell the operator if it keeps failing");
    }
  }

  static FullHttpResponse toHttp(ByteBufAllocator alloc, ZonePages.Response page) {
    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(page.status()),
        alloc.buffer(page.body().length).writeBytes(page.body()));
    page.headers().forEach((name, value) -> response.headers().set(name, value));
    response.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, page.contentType())
        .set(HttpHeaderNames.CONTENT_LENGTH, page.body().length)
        .set(Messages.STRICT_TRANSPORT_SECURITY, Messages.HSTS);
    if (!response.headers().contains(HttpHeaderNames.CACHE_CONTROL)) {
      response.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
    }
    return response;
  }
}
