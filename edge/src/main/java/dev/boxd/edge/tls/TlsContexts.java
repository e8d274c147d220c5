package dev.boxd.edge.tls;

import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.netty.handler.ssl.OpenSslCachingX509KeyManagerFactory;
import io.netty.handler.ssl.OpenSslSessionContext;
import io.netty.handler.ssl.OpenSslSessionTicketKey;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManagerFactory;
import io.netty.util.ReferenceCountUtil;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The TLS server context for each server name: its certificate from the {@link CertificateSource},
 * ALPN offering HTTP/2 then HTTP/1.1, and BoringSSL where its native library loads (handshakes
 * cost several times less than in the JDK's TLS), else the JDK. A context is made once per
 * certificate and kept while the source hands out the same one.
 */
public final class TlsContexts {
  // Reference-counted engines are freed when their connection closes, not by a finalizer after a GC.
  private static final SslProvider PROVIDER = OpenSsl.isAvailable() ? SslProvider.OPENSSL_REFCNT : SslProvider.JDK;
  private static final ApplicationProtocolConfig ALPN = new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
      ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE, ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
      ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1);

  private record Made(CertifiedKey key, SslContext context) {
  }

  private final CertificateSource source;
  private final Map<String, Made> contexts = new ConcurrentHashMap<>();
  // Session tickets let a returning client resume instead of a full handshake. One key for every
  // name, replaced every TICKET_KEY_LIFETIME (a stolen key then opens only that window's sessions);
  // the one before it still decrypts, so tickets issued just before a rotation resume too.
  static final long TICKET_KEY_LIFETIME_NANOS = java.util.concurrent.TimeUnit.HOURS.toNanos(12);
  private volatile OpenSslSessionTicketKey[] ticketKeys = {newTicketKey()};
  private volatile long ticketKeyMadeAt = System.nanoTime();

  public TlsContexts(CertificateSource source) {
    this.source = source;
  }

  /** Which TLS implementation serves: {@code OPENSSL_REFCNT} (BoringSSL) or {@code JDK}. */
  public static String provider() {
    return PROVIDER.name();
  }

  /** The context for a server name; empty for a name the edge does not serve. */
  public Optional<SslContext> forName(String serverName) {
    if (serverName == null) {
      return Optional.empty();
    }
    String name = serverName.toLowerCase(Locale.ROOT);
    Optional<CertifiedKey> key = source.certificateFor(name);
    if (key.isEmpty()) {
      return Optional.empty();
    }
    rotateTicketKeyIfDue();
    Made made = contexts.get(name);
    if (made == null || made.key() != key.get()) {
      if (contexts.size() >= 10_000) {
        contexts.values().forEach(old -> releaseLater(old.context()));
        contexts.clear();
      }
      Made stale = made;
      made = new Made(key.get(), build(key.get()));
      if (made.context().sessionContext() instanceof OpenSslSessionContext sessions) {
        sessions.setTicketKeys(ticketKeys);
      }
      contexts.put(name, made);
      if (stale != null) {
        releaseLater(stale.context());
      }
    }
    return Optional.of(made.context());
  }

  private void rotateTicketKeyIfDue() {
    if (System.nanoTime() - ticketKeyMadeAt < TICKET_KEY_LIFETIME_NANOS) {
      return;
    }
    synchronized (this) {
      if (System.nanoTime() - ticketKeyMadeAt < TICKET_KEY_LIFETIME_NANOS) {
        return;
      }
      rotateTicketKey();
    }
  }

  /** A new key encrypts tickets from now on; the one before still decrypts. */
  synchronized void rotateTicketKey() {
    ticketKeys = new OpenSslSessionTicketKey[] {newTicketKey(), ticketKeys[0]};
    ticketKeyMadeAt = System.nanoTime();
    for (Made made : contexts.values()) {
      if (made.context().sessionContext() instanceof OpenSslSessionContext sessions) {
        sessions.setTicketKeys(ticketKeys);
      }
    }
  }

  /** The keys session tickets are encrypted with (first) and still accepted with. */
  OpenSslSessionTicketKey[] ticketKeys() {
    return ticketKeys.clone();
  }

  // A connection's TLS engine holds its own reference to the context; one being set up may have
  // looked the context up just now, so the cache lets go of it a minute later, not at once.
  private static void releaseLater(SslContext context) {
    CompletableFuture.delayedExecutor(1, TimeUnit.MINUTES).execute(() -> ReferenceCountUtil.release(context));
  }

  private static OpenSslSessionTicketKey newTicketKey() {
    var random = new java.security.SecureRandom();
    byte[] name = new byte[OpenSslSessionTicketKey.NAME_SIZE];
    byte[] hmac = new byte[OpenSslSessionTicketKey.HMAC_KEY_SIZE];
    byte[] aes = new byte[OpenSslSessionTicketKey.AES_KEY_SIZE];
    random.nextBytes(name);
    random.nextBytes(hmac);
    random.nextBytes(aes);
    return new OpenSslSessionTicketKey(name, hmac, aes);
  }

  private static SslContext build(CertifiedKey key) {
    try {
      return SslContextBuilder.forServer(keyManagers(key))
          .sslProvider(PROVIDER)
          .ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
          .applicationProtocolConfig(ALPN)
          .build();
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new IllegalStateException("cannot make a TLS context for " + key.leaf().getSubjectX500Principal(), e);
    }
  }

  // Through a key manager: with a bare key, Netty hands BoringSSL the key and chain anew (as PEM)
  // in every handshake; the caching factory converts them once (measured: most of a handshake's CPU).
  private static KeyManagerFactory keyManagers(CertifiedKey key) throws GeneralSecurityException, java.io.IOException {
    char[] password = new char[0];
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, password);
    store.setKeyEntry("edge", key.key(), password, key.chain().toArray(X509Certificate[]::new));
    KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    factory.init(store, password);
    return PROVIDER == SslProvider.OPENSSL_REFCNT ? new OpenSslCachingX509KeyManagerFactory(factory) : factory;
  }
}
