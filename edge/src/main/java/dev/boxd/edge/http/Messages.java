package dev.boxd.edge.http;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

/** What the proxy changes in messages on their way through, and the pages the edge answers itself. */
final class Messages {
  static final String HSTS = "max-age=31536000";
  static final String STRICT_TRANSPORT_SECURITY = "strict-transport-security";
  /** Headers of one hop only (RFC 9110 §7.6.1): never forwarded. */
  private static final List<CharSequence> HOP_BY_HOP = List.of(HttpHeaderNames.CONNECTION, HttpHeaderNames.KEEP_ALIVE,
      "proxy-connection", HttpHeaderNames.TE, HttpHeaderNames.TRAILER, HttpHeaderNames.UPGRADE, HttpHeaderNames.PROXY_AUTHENTICATE);

  private Messages() {
  }

  /** A WebSocket handshake (or another HTTP/1.1 upgrade): the one case where Upgrade goes through. */
  static boolean isUpgrade(HttpRequest request) {
    return request.headers().containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)
        && request.headers().contains(HttpHeaderNames.UPGRADE);
  }

  /**
   * The request as the VM gets it: HTTP/1.1, origin-form target, no hop-by-hop headers, and the
   * client's address, scheme and host in {@code X-Forwarded-*}.
   */
  static HttpRequest toUpstream(HttpRequest request, String host, String clientAddress, boolean bodyFollows, boolean fromHttp2) {
    HttpHeaders headers = request.headers().copy();
    boolean upgrade = isUpgrade(request);
    String upgradeTo = request.headers().get(HttpHeaderNames.UPGRADE);
    stripHopByHop(headers);
    headers.remove("x-http2-stream-id").remove("x-http2-scheme").remove("x-http2-path").remove("x-http2-authority");
    headers.set(HttpHeaderNames.HOST, host);
    String forwardedFor = request.headers().get("x-forwarded-for");
    headers.set("x-forwarded-for", forwardedFor == null || forwardedFor.isBlank() ? clientAddress : forwardedFor + ", " + clientAddress);
    headers.set("x-forwarded-proto", "https");
    headers.set("x-forwarded-host", host);
    if (upgrade) {
      headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
      headers.set(HttpHeaderNames.UPGRADE, upgradeTo);
    }
    if (fromHttp2 && bodyFollows && !HttpUtil.isContentLengthSet(request)) {
      headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED); // HTTP/2 frames its body; HTTP/1.1 needs chunks
    }
    if (!fromHttp2 && !bodyFollows && !HttpUtil.isContentLengthSet(request)) {
      headers.remove(HttpHeaderNames.TRANSFER_ENCODING);
    }
    return new DefaultHttpRequest(HttpVersion.HTTP_1_1, request.method(), originForm(request.uri()), headers);
  }

  /**
   * Whether every header value may be written into an HTTP/1.1 head as it is: an HTTP/2 header
   * value carrying CR, LF or NUL would otherwise split the request the VM reads (smuggling).
   */
  static boolean safeForHttp1(HttpHeaders headers) {
    for (var header : headers) {
      String value = header.getValue();
      for (int i = 0; i < value.length(); i++) {
        char c = value.charAt(i);
        if (c == '\r' || c == '\n' || c == 0) {
          return false;
        }
      }
    }
    return true;
  }

  /** An absolute-form target ({@code https://host/path}) as a path; anything else unchanged. */
  static String originForm(String uri) {
    String lower = uri.toLowerCase(Locale.ROOT);
    if (lower.startsWith("http://") || lower.startsWith("https://")) {
      int slash = uri.indexOf('/', uri.indexOf("//") + 2);
      return slash < 0 ? "/" : uri.substring(slash);
    }
    return uri.isEmpty() ? "/" : uri;
  }

  /**
   * The VM's response as the client gets it: its hop-by-hop headers replaced by the client
   * connection's own, HSTS added, and chunked framing where an HTTP/1.1 client needs it.
   */
  static HttpResponse toClient(HttpResponse response, HttpRequest request, boolean http2, boolean keepAlive) {
    HttpHeaders headers = response.headers().copy();
    boolean chunked = HttpUtil.isTransferEncodingChunked(response);
    stripHopByHop(headers);
    headers.remove(HttpHeaderNames.TRANSFER_ENCODING);
    if (!headers.contains(STRICT_TRANSPORT_SECURITY)) {
      headers.set(STRICT_TRANSPORT_SECURITY, HSTS);
    }
    HttpResponse out = new DefaultHttpResponse(http2 ? HttpVersion.HTTP_1_1 : request.protocolVersion(), response.status(), headers);
    if (!http2) {
      boolean mayHaveBody = !request.method().equals(HttpMethod.HEAD) && response.status().code() != 204 && response.status().code() != 304;
      boolean http11 = request.protocolVersion().equals(HttpVersion.HTTP_1_1);
      if (mayHaveBody && http11 && (chunked || !HttpUtil.isContentLengthSet(response))) {
        HttpUtil.setTransferEncodingChunked(out, true);
      }
      boolean delimitedByClose = mayHaveBody && !http11 && !HttpUtil.isContentLengthSet(response);
      HttpUtil.setKeepAlive(out, keepAlive && !delimitedByClose);
    }
    return out;
  }

  private static void stripHopByHop(HttpHeaders headers) {
    for (String listed : headers.getAll(HttpHeaderNames.CONNECTION)) {
      for (String name : listed.split(",")) {
        headers.remove(name.trim());
      }
    }
    for (CharSequence name : HOP_BY_HOP) {
      headers.remove(name);
    }
  }

  /** A page the edge answers itself: plain text that says what happened and, where it helps, what to do. */
  static FullHttpResponse page(ByteBufAllocator alloc, HttpResponseStatus status, String text, boolean secure) {
    byte[] body = (status.code() + " " + status.reasonPhrase() + "\n\n" + text + "\n").getBytes(StandardCharsets.UTF_8);
    FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, alloc.buffer(body.length).writeBytes(body));
    response.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8")
        .set(HttpHeaderNames.CONTENT_LENGTH, body.length)
        .set(HttpHeaderNames.CACHE_CONTROL, "no-store")
        .set("x-boxd-edge", "1");
    if (secure) {
      response.headers().set(STRICT_TRANSPORT_SECURITY, HSTS);
    }
    return response;
  }
}
