package dev.boxd.core.state;

import java.util.Locale;
import java.util.Objects;

/**
 * A raw forward (SPEC §3 {@code expose}): {@code publicPort} of the edge, for {@code protocol},
 * to {@code vmPort} of the VM. Public ports are unique per protocol in the cluster; a VM has at
 * most {@link #MAX_PER_VM}; exposing the same VM port again keeps its public port.
 */
public record Exposure(String vmId, Protocol protocol, int vmPort, int publicPort) {
  public static final int MIN_PUBLIC_PORT = 40000;
  public static final int MAX_PUBLIC_PORT = 60000;
  public static final int MAX_PER_VM = 3;

  public enum Protocol {
    TCP,
    UDP;

    /** {@code tcp} or {@code udp}, as users write it and JSON shows it. */
    public String word() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  public Exposure {
    Objects.requireNonNull(vmId, "vmId");
    Objects.requireNonNull(protocol, "protocol");
  }

  /** The key an exposure is kept under: one per protocol and public port, sorted by them. */
  static String key(Protocol protocol, int publicPort) {
    return protocol.word() + ":" + String.format("%05d", publicPort);
  }

  String key() {
    return key(protocol, publicPort);
  }
}
