package dev.boxd.core.state;

import java.util.Objects;

/**
 * An HTTPS route of a VM (SPEC §6): {@code SUB.NAME.<zone>} to the VM's {@code port}. Every VM
 * has the route {@link #DEFAULT_NAME} ({@code NAME.<zone>}) to {@link #DEFAULT_PORT} without any
 * record; a record named {@code default} only moves that route to another port.
 */
public record Proxy(String vmId, String name, int port) {
  /** The route of {@code NAME.<zone>} itself. */
  public static final String DEFAULT_NAME = "default";
  /** Where the default route goes until its port is set. */
  public static final int DEFAULT_PORT = 8000;
  /** Named routes a VM may have besides the default one. */
  public static final int MAX_PER_VM = 10;

  public Proxy {
    Objects.requireNonNull(vmId, "vmId");
    Objects.requireNonNull(name, "name");
  }

  public boolean isDefault() {
    return name.equals(DEFAULT_NAME);
  }

  /** Whether {@code port} is a TCP port a route can go to. */
  public static boolean validPort(int port) {
    return port >= 1 && port <= 65535;
  }

  /** The key a route is kept under in the state: one per VM and name. */
  static String key(String vmId, String name) {
    return vmId + "/" + name;
  }
}
