package dev.boxd.edge.tls;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;

/** PEM text of keys (PKCS#8, {@code BEGIN PRIVATE KEY}, what Netty and OpenSSL read) and certificates. */
final class Pem {
  private Pem() {
  }

  static String of(X509Certificate certificate) {
    return write(certificate);
  }

  static String of(PrivateKey key) {
    try {
      return write(new JcaPKCS8Generator(key, null).generate());
    } catch (IOException e) {
      throw new IllegalStateException("cannot encode a private key", e);
    }
  }

  private static String write(Object object) {
    StringWriter text = new StringWriter();
    try (JcaPEMWriter writer = new JcaPEMWriter(text)) {
      writer.writeObject(object);
    } catch (IOException e) {
      throw new IllegalStateException("cannot write PEM", e);
    }
    return text.toString();
  }

  static PrivateKey privateKey(String pem, String what) {
    Object read = read(pem, what);
    if (!(read instanceof PrivateKeyInfo info)) {
      throw new IllegalArgumentException(what + " holds no PKCS#8 private key (BEGIN PRIVATE KEY)");
    }
    try {
      return new JcaPEMKeyConverter().getPrivateKey(info);
    } catch (IOException e) {
      throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
    }
  }

  static X509Certificate certificate(String pem, String what) {
    Object read = read(pem, what);
    if (!(read instanceof X509CertificateHolder holder)) {
      throw new IllegalArgumentException(what + " holds no certificate (BEGIN CERTIFICATE)");
    }
    try {
      return new JcaX509CertificateConverter().getCertificate(holder);
    } catch (CertificateException e) {
      throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
    }
  }

  private static Object read(String pem, String what) {
    try (PEMParser parser = new PEMParser(new StringReader(pem))) {
      Object object = parser.readObject();
      if (object == null) {
        throw new IllegalArgumentException(what + " holds no PEM object");
      }
      return object;
    } catch (IOException e) {
      throw new IllegalArgumentException(what + " is not PEM: " + e.getMessage(), e);
    }
  }
}
