package dev.boxd.edge.route;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.time.Duration;

/** How the edge reaches the port a route names. */
public interface VmConnector {

  /**
   * Whether the VM runs now, so a connection kept open to it may carry a request without waking
   * it first; false for a VM asleep, stopped or gone (the next {@link #connect} says which).
   */
  boolean isAwake(String vmId);

  /**
   * A TCP connection to the route's port, in blocking mode. A VM in standby or hibernation is
   * woken first, so the caller only sees latency. Throws {@link VmUnavailable} for a VM that is
   * stopped or gone, and an {@link IOException} when nothing answers on the port.
   */
  SocketChannel connect(Route route, Duration timeout) throws IOException;
}
