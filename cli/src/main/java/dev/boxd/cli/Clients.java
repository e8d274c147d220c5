package dev.boxd.cli;

import dev.boxd.sdk.Boxd;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Where a command's SDK client comes from. A process that runs one command makes one and closes it;
 * the {@link Resident} process keeps each client it made, so the next command finds its channel
 * connected and its TLS session up, which is most of what a call from a fresh process costs.
 */
interface Clients {
  /** A client that acts as the account of {@code connection}'s token or key. */
  Boxd open(Connection connection);

  /** The command is done with {@code boxd}. */
  void release(Boxd boxd);

  /** A client per command, closed after it. */
  static Clients perCall() {
    return new Clients() {
      @Override
      public Boxd open(Connection connection) {
        return connection.authenticated();
      }

      @Override
      public void release(Boxd boxd) {
        boxd.close();
      }
    };
  }

  /**
   * Clients kept for the commands after, one per server and credential: a new login, key or CA is a
   * new client. The least recently used beyond {@link #KEPT} are closed.
   */
  final class Kept implements Clients, AutoCloseable {
    static final int KEPT = 4;

    private record Key(String apiUrl, Optional<String> secret, Optional<Path> caCert) {}

    private final Map<Key, Boxd> clients = new LinkedHashMap<>(8, 0.75f, true);

    @Override
    public synchronized Boxd open(Connection connection) {
      Key key = new Key(connection.apiUrl(), connection.secret(), connection.caCert().map(Path::toAbsolutePath));
      Boxd client = clients.get(key);
      if (client == null) {
        client = connection.authenticated();
        clients.put(key, client);
        if (clients.size() > KEPT) {
          var eldest = clients.entrySet().iterator();
          // Closed beside: a command still using it finishes the calls it started (up to the SDK's grace).
          Boxd old = eldest.next().getValue();
          Thread.ofVirtual().start(old::close);
          eldest.remove();
        }
      }
      return client;
    }

    @Override
    public void release(Boxd boxd) {
      // kept for the next command
    }

    @Override
    public synchronized void close() {
      clients.values().forEach(Boxd::close);
      clients.clear();
    }
  }
}
