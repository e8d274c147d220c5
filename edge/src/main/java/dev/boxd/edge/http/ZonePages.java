package dev.boxd.edge.http;

import java.util.Map;
import java.util.Objects;

/**
 * What the edge serves at the zone itself ({@code https://<zone>/…}) rather than at a VM: the
 * platform's own pages and endpoints (the token exchange, registration). The edge reads the
 * request whole (bodies up to {@link #MAX_BODY_BYTES}) and calls {@link #handle} off its event
 * loops, so a handler may block (on the log, say).
 */
public interface ZonePages {
  int MAX_BODY_BYTES = 64 * 1024;

  /**
   * @param target the request target, path and query ({@code /register?code=…})
   * @param headers the request's headers, names in lower case, the first value of each
   * @param client the address the request came from (the edge is the first hop)
   */
  record Request(String method, String target, Map<String, String> headers, byte[] body, String client) {
    public Request {
      Objects.requireNonNull(method, "method");
      Objects.requireNonNull(target, "target");
      headers = Map.copyOf(headers);
      body = body == null ? new byte[0] : body;
    }

    /** The target's path, without the query. */
    public String path() {
      int query = target.indexOf('?');
      return query < 0 ? target : target.substring(0, query);
    }

    /** The target's query, undecoded; empty without one. */
    public String query() {
      int query = target.indexOf('?');
      return query < 0 ? "" : target.substring(query + 1);
    }
  }

  /** @param headers extra response headers ({@code location}, {@code set-cookie}, …) */
  record Response(int status, String contentType, byte[] body, Map<String, String> headers) {
    public Response {
      Objects.requireNonNull(contentType, "contentType");
      body = body == null ? new byte[0] : body;
      headers = Map.copyOf(headers);
    }

    public static Response text(int status, String text) {
      return new Response(status, "text/plain; charset=utf-8", (text + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8), Map.of());
    }

    public static Response json(int status, String json) {
      return new Response(status, "application/json", json.getBytes(java.nio.charset.StandardCharsets.UTF_8), Map.of());
    }

    public static Response html(int status, String html) {
      return new Response(status, "text/html; charset=utf-8", html.getBytes(java.nio.charset.StandardCharsets.UTF_8), Map.of());
    }

    public static Response redirect(String location) {
      return new Response(303, "text/plain; charset=utf-8", ("see " + location + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8),
          Map.of("location", location));
    }
  }

  /** The answer to one request; may block. A failure becomes a 500 page naming nothing internal. */
  Response handle(Request request) throws Exception;

  /** Nothing at the zone itself. */
  ZonePages NONE = request -> Response.text(404, "nothing is served at the zone itself: VMs are at https://NAME.<zone>");
}
