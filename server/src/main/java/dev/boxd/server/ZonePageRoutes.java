package dev.boxd.server;

import dev.boxd.edge.http.ZonePages;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The pages and endpoints at the zone itself ({@code https://<zone>/PATH}), by path: each part of
 * the server that serves one there (the token exchange, registration) adds its own.
 */
final class ZonePageRoutes implements ZonePages {
  private final String zone;
  private final Map<String, ZonePages> byPath = new LinkedHashMap<>();

  ZonePageRoutes(String zone) {
    this.zone = zone;
  }

  /** Serves {@code path} (exactly, any method: the page itself says which it takes). */
  synchronized ZonePageRoutes add(String path, ZonePages page) {
    if (byPath.putIfAbsent(path, page) != null) {
      throw new IllegalStateException("two pages for " + path);
    }
    return this;
  }

  @Override
  public Response handle(Request request) throws Exception {
    ZonePages page;
    synchronized (this) {
      page = byPath.get(request.path());
    }
    if (page != null) {
      return page.handle(request);
    }
    if (request.path().equals("/")) {
      return Response.text(200, "boxd at " + zone + ": every VM is at https://NAME." + zone + "; sign up with `ssh " + zone + "`");
    }
    return Response.text(404, "nothing at https://" + zone + request.path() + "; VMs are at https://NAME." + zone);
  }
}
