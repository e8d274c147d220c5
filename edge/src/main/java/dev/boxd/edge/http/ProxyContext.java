package dev.boxd.edge.http;

import dev.boxd.edge.route.RouteTable;

/** What every exchange of one edge shares. */
record ProxyContext(EdgeConfig config, RouteTable routes, Upstreams upstreams) {
}
