package dev.boxd.api.grpc;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Picks the API's certificate per TLS handshake: for the name the client asked for (SNI), else
 * for the default name (clients that dial an address send none). The certificate is fetched
 * anew on each handshake, so a renewal is served from the next connection on. An alias names one
 * fetched key and chain, so the key and chain of one handshake always belong together even when
 * a renewal lands between the two lookups.
 */
final class SniKeyManager extends X509ExtendedKeyManager {
  /** Aliases are kept this long per name; older ones are for handshakes long over. */
  private static final int KEPT = 64;

  private final ServerCertificates certificates;
  private final String defaultName;
  private final Map<String, ServerCertificates.Certified> byAlias = new ConcurrentHashMap<>();

  SniKeyManager(ServerCertificates certificates, String defaultName) {
    this.certificates = certificates;
    this.defaultName = defaultName.toLowerCase(Locale.ROOT);
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return choose(keyType, engine == null ? null : engine.getHandshakeSession());
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return choose(keyType, socket instanceof javax.net.ssl.SSLSocket ssl ? ssl.getHandshakeSession() : null);
  }

  private String choose(String keyType, SSLSession session) {
    String name = requestedName(session).orElse(defaultName);
    Optional<ServerCertificates.Certified> found = certificates.forServerName(name);
    if (found.isEmpty() && !name.equals(defaultName)) {
      name = defaultName; // a client dialing another name still gets a certificate; its check of the name decides
      found = certificates.forServerName(name);
    }
    if (found.isEmpty() || !keyType.equals(found.get().key().getAlgorithm())) {
      return null; // not for this signature type: the handshake tries the client's next one
    }
    ServerCertificates.Certified certified = found.get();
    String alias = name + "#" + Integer.toHexString(System.identityHashCode(certified));
    if (byAlias.size() > KEPT) {
      byAlias.clear();
    }
    byAlias.put(alias, certified);
    return alias;
  }

  private static Optional<String> requestedName(SSLSession session) {
    if (session instanceof ExtendedSSLSession extended) {
      for (SNIServerName name : extended.getRequestedServerNames()) {
        if (name instanceof SNIHostName host) {
          return Optional.of(host.getAsciiName().toLowerCase(Locale.ROOT));
        }
      }
    }
    return Optional.empty();
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    var certified = byAlias.get(alias);
    return certified == null ? null : certified.chain().toArray(X509Certificate[]::new);
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    var certified = byAlias.get(alias);
    return certified == null ? null : certified.key();
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return null; // chosen per handshake only
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    return null;
  }

  @Override
  public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
    return null;
  }
}
