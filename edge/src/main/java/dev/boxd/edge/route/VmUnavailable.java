package dev.boxd.edge.route;

/** A routed VM that cannot take a connection: its owner stopped it, it failed, or it is gone. */
public final class VmUnavailable extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public enum Why { STOPPED, GONE }

  private final Why why;

  public VmUnavailable(Why why, String message) {
    super(message, null, false, false);
    this.why = why;
  }

  public Why why() {
    return why;
  }
}
