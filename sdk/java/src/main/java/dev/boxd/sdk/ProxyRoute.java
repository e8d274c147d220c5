package dev.boxd.sdk;

import dev.boxd.api.v1.Proxy;

/**
 * An HTTPS route to a port of a VM: {@code default} is the VM's own domain, others are
 * {@code SUB.NAME.<zone>}.
 */
public record ProxyRoute(String name, String vm, String domain, int port) {
  static ProxyRoute of(Proxy p) {
    return new ProxyRoute(p.getName(), p.getVmName(), p.getDomain(), p.getPort());
  }
}
