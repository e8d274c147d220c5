package dev.boxd.edge.route;

import java.util.Objects;

/** Where a host name leads: a port of a VM ({@code vmName} for pages that name it). */
public record Route(String vmId, String vmName, int port) {
  public Route {
    Objects.requireNonNull(vmId, "vmId");
    Objects.requireNonNull(vmName, "vmName");
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("port " + port + " is not a TCP port (1-65535)");
    }
  }
}
