package dev.boxd.raft;

import dev.boxd.core.BoxdException;
import java.util.Objects;

/**
 * A member of the Raft group: its id, the {@code host:port} it listens on for Raft and client
 * traffic, and whether it votes. Control nodes vote; worker, proxy and dns nodes are listeners
 * that receive the log (a local replica) without counting towards a majority.
 */
public record Peer(String id, String address, Role role) {

  public enum Role {
    VOTER,
    LISTENER
  }

  public Peer {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(role, "role");
    if (!id.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")) {
      throw BoxdException.invalid("invalid Raft node id \"" + id + "\": expected 1-63 letters, digits, '_', '.' or '-'");
    }
    port(address);
  }

  public static Peer voter(String id, String address) {
    return new Peer(id, address, Role.VOTER);
  }

  public static Peer listener(String id, String address) {
    return new Peer(id, address, Role.LISTENER);
  }

  public boolean isVoter() {
    return role == Role.VOTER;
  }

  public String host() {
    return address.substring(0, address.lastIndexOf(':'));
  }

  public int port() {
    return port(address);
  }

  private static int port(String address) {
    int colon = address.lastIndexOf(':');
    int port = -1;
    if (colon > 0) {
      try {
        port = Integer.parseInt(address.substring(colon + 1));
      } catch (NumberFormatException e) {
        port = -1;
      }
    }
    if (port < 1 || port > 65535) {
      throw BoxdException.invalid("invalid Raft address \"" + address + "\": expected HOST:PORT with a port 1-65535");
    }
    return port;
  }
}
