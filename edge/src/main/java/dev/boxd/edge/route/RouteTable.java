package dev.boxd.edge.route;

import java.util.Optional;

/** Which VM port an HTTP host name leads to; empty for a name that leads nowhere (the edge answers 404). */
public interface RouteTable {
  Optional<Route> route(EdgeName name);
}
