package dev.boxd.server;

import dev.boxd.edge.tls.LocalCa;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code boxd ca}: the certificate of the single-node CA that signs the edge's certificates, for
 * clients to trust (made now if the server has not made it yet). The PEM goes to stdout, so
 * {@code curl --cacert <(boxd ca)} works; how to trust it for good goes to stderr.
 */
@Command(name = "ca", description = "Print the local CA certificate (PEM) that HTTPS URLs of VMs are signed by; how to trust it goes to stderr.")
final class CaCommand implements Callable<Integer> {
  @Option(names = "--data", description = "data directory (default ~/.local/share/boxd)")
  Path data;

  @Option(names = "--zone", defaultValue = "localhost", description = "the zone the server serves (its --zone), when the CA is made here"
      + " (default ${DEFAULT-VALUE})")
  String zone;

  @Option(names = "--quiet", description = "print only the certificate")
  boolean quiet;

  @Override
  public Integer call() throws Exception {
    Path dir = EdgeRole.caDir(Paths.dataDir(data));
    Zones.require("--zone", zone);
    LocalCa ca = LocalCa.loadOrCreate(dir, zone, Clock.systemUTC());
    System.out.print(ca.certificatePem());
    System.out.flush();
    if (!quiet) {
      System.err.println("""
          The certificate above (also in %1$s/ca.crt) signs https://NAME.%2$s only (a name constraint). To trust it:
            curl:      curl --cacert <(boxd ca --quiet) https://app.%2$s
            Debian:    boxd ca --quiet > /usr/local/share/ca-certificates/boxd.crt && update-ca-certificates
            Chromium:  boxd ca --quiet > /tmp/boxd.crt && certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n boxd -i /tmp/boxd.crt
                       (certutil is in libnss3-tools; restart Chromium)""".formatted(dir, zone));
    }
    return 0;
  }
}
