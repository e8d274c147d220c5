package dev.boxd.edge.http;

import dev.boxd.edge.route.RouteTable;
import java.util.concurrent.Executor;

/** What every exchange of one edge shares; {@code blocking} runs what may block (never an event loop). */
record ProxyContext(EdgeConfig config, RouteTable routes, Upstreams upstreams, ZonePages pages, Executor blocking) {
}
