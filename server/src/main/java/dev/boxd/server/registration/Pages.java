package dev.boxd.server.registration;

import dev.boxd.edge.http.ZonePages.Response;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/** The small HTML pages of registration, and the bits of a request they read. */
final class Pages {
  private Pages() {}

  /** A page titled {@code title} whose paragraphs are {@code paragraphs} (plain text, escaped here). */
  static Response page(int status, String title, String... paragraphs) {
    StringBuilder html = new StringBuilder("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>")
        .append(escape(title)).append(" - boxd</title></head>\n<body>\n<h1 id=\"title\">").append(escape(title)).append("</h1>\n");
    for (int i = 0; i < paragraphs.length; i++) {
      html.append("<p id=\"p").append(i).append("\">").append(escape(paragraphs[i])).append("</p>\n");
    }
    html.append("</body></html>\n");
    // A page naming a key or a code is nobody's to keep.
    return new Response(status, "text/html; charset=utf-8", html.toString().getBytes(StandardCharsets.UTF_8),
        Map.of("cache-control", "no-store"));
  }

  /** Anything but GET (and HEAD) is refused: these pages change nothing a form could post to. */
  static Response methodNotAllowed(String method) {
    return new Response(405, "text/plain; charset=utf-8",
        ("method " + method + " is not allowed here: open the page with GET\n").getBytes(StandardCharsets.UTF_8),
        Map.of("allow", "GET"));
  }

  static boolean isGet(String method) {
    return method.equals("GET") || method.equals("HEAD");
  }

  /** The parameters of a query string, decoded; the first value of each. */
  static Map<String, String> query(String query) {
    Map<String, String> values = new HashMap<>();
    for (String pair : query.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String name = decode(eq < 0 ? pair : pair.substring(0, eq));
      String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
      values.putIfAbsent(name, value);
    }
    return values;
  }

  /** The value of cookie {@code name} in a {@code cookie} header; empty when absent. */
  static String cookie(String header, String name) {
    if (header == null) {
      return "";
    }
    for (String part : header.split(";")) {
      String crumb = part.strip();
      if (crumb.startsWith(name + "=")) {
        return crumb.substring(name.length() + 1);
      }
    }
    return "";
  }

  private static String decode(String text) {
    try {
      return URLDecoder.decode(text, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return ""; // a malformed escape reads as no value, which every page refuses with its own words
    }
  }

  static String escape(String text) {
    StringBuilder out = new StringBuilder(text.length());
    for (char c : text.toCharArray()) {
      switch (c) {
        case '<' -> out.append("&lt;");
        case '>' -> out.append("&gt;");
        case '&' -> out.append("&amp;");
        case '"' -> out.append("&quot;");
        case '\'' -> out.append("&#39;");
        default -> out.append(c);
      }
    }
    return out.toString();
  }
}
