package dev.boxd.server;

import dev.boxd.control.ControlConfig;
import dev.boxd.edge.http.EdgeConfig;
import dev.boxd.core.net.Ipv4Subnet;
import dev.boxd.dns.DnsRole;
import dev.boxd.dns.ZoneConfig;
import dev.boxd.edge.acme.CertificateRenewer;
import dev.boxd.edge.expose.ExposeForwarder;
import dev.boxd.guest.ImageStore;
import dev.boxd.net.NetworkConfig;
import dev.boxd.raft.RaftConfig;
import dev.boxd.raft.RaftNode;
import dev.boxd.api.auth.DeviceLogins;
import dev.boxd.api.grpc.Tokenless;
import dev.boxd.server.registration.OidcIssuer;
import dev.boxd.server.registration.RegistrationSite;
import dev.boxd.ssh.FrontDoor;
import dev.boxd.ssh.PlatformKey;
import dev.boxd.ssh.VmGateway;
import dev.boxd.core.MachineShape;
import dev.boxd.vmm.MemoryMerging;
import dev.boxd.worker.gateway.GuestGateway;
import dev.boxd.worker.reconcile.IdleWatch;
import dev.boxd.worker.reconcile.Reconciler;
import dev.boxd.worker.LocalWorkerPort;
import dev.boxd.worker.runtime.HostMemoryMerging;
import dev.boxd.worker.runtime.LocalVmRuntime;
import dev.boxd.worker.runtime.RuntimeConfig;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code boxd server}: every role in one process over an embedded single-node Raft log — the
 * developer's default. VMs outlive the server; a restarted server re-attaches to them.
 */
@Command(name = "server", description = "Run boxd: replicated state, worker and SSH front door in one process.")
final class ServerCommand implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(ServerCommand.class);
  static final String WORKER_ID = "w1";

  @Option(names = "--data", description = "data directory (default ~/.local/share/boxd)")
  Path data;

  @Option(names = "--listen", defaultValue = "127.0.0.1", description = "address of the SSH front door (default ${DEFAULT-VALUE})")
  String listen;

  @Option(names = "--ssh-port", defaultValue = "2222", description = "port of the SSH front door (default ${DEFAULT-VALUE})")
  int sshPort;

  @Option(names = "--vm-ssh-port", defaultValue = "22",
      description = "port of direct SSH into VMs (ssh boxd@PUBLIC_IP) on every VM's public address (default ${DEFAULT-VALUE})")
  int vmSshPort;

  @Option(names = "--edge-address", defaultValue = "127.0.0.1",
      description = "address of the edge: each VM's own SSH port (10000-30000) and its exposed ports (40000-60000) (default"
          + " ${DEFAULT-VALUE})")
  String edgeAddress;

  @Option(names = "--no-expose", description = "do not forward exposed ports (expose still records them in the log)")
  boolean noExpose;
  @Option(names = "--https", defaultValue = "127.0.0.1:443",
      description = "address of the HTTPS edge: https://NAME.localhost reaches port 8000 of VM NAME (default ${DEFAULT-VALUE}; it also"
          + " listens on every VM's public address, same port)")
  String httpsListen;

  @Option(names = "--http", defaultValue = "127.0.0.1:80", description = "address of plain HTTP, which redirects to HTTPS (default ${DEFAULT-VALUE})")
  String httpListen;

  @Option(names = "--no-edge", description = "run no HTTPS edge (no https://NAME.localhost)")
  boolean noEdge;

  @Option(names = "--api", defaultValue = "127.0.0.1:9443",
      description = "address of the gRPC API (boxd.api.v1.BoxdApi over TLS with the zone's certificate; default ${DEFAULT-VALUE})")
  String apiListen;

  @Option(names = "--no-api", description = "serve no gRPC API (neither on --api nor inside VMs)")
  boolean noApi;

  @Option(names = "--token-lifetime-secs", defaultValue = "3600",
      description = "how long a token from the API key exchange is good for, in seconds (default ${DEFAULT-VALUE})")
  long tokenLifetimeSecs;

  @Option(names = "--raft-port", defaultValue = "7700", description = "port of the Raft log on 127.0.0.1 (default ${DEFAULT-VALUE})")
  int raftPort;

  @Option(names = "--vcpus", defaultValue = "2", description = "vCPUs of a VM whose request names none (default ${DEFAULT-VALUE}); the largest is each account's quota")
  int vcpus;

  @Option(names = "--memory", defaultValue = "8192", description = "RAM in MiB of a VM whose request names none (default ${DEFAULT-VALUE}); the largest is each account's quota")
  int memoryMib;

  @Option(names = "--netns", defaultValue = "boxd", description = "network namespace of the VM network (default ${DEFAULT-VALUE})")
  String netns;

  @Option(names = "--subnet", defaultValue = "10.77.0.0/16", description = "VM address pool (default ${DEFAULT-VALUE})")
  String subnet;

  @Option(names = "--no-egress", description = "give VMs no way to the internet (by default they reach it through this host, masqueraded)")
  boolean noEgress;

  @Option(names = "--egress-net", defaultValue = NetworkConfig.Uplink.DEFAULT_LINK_NET,
      description = "link net (a /30) between the VM network and this host, for VMs' egress; link-local by default, so it meets no"
          + " network the host reaches (default ${DEFAULT-VALUE})")
  String egressNet;

  @Option(names = "--image-recipe", defaultValue = ImageStore.DEFAULT_RECIPE,
      description = "the guest image VMs boot (guest/image/recipes/NAME): full, with the toolchain, Docker and nginx, or small,"
          + " the base alone (default ${DEFAULT-VALUE}; built on first use, as `boxd image build --recipe` does)")
  String imageRecipe;

  @Option(names = "--hibernate-after", defaultValue = "3600",
      description = "seconds in standby after which a VM is hibernated: memory to disk, VMM ended (default ${DEFAULT-VALUE})")
  long hibernateAfterSecs;

  @Option(names = "--warm-pool", defaultValue = "1",
      description = "VMs of the default size kept restored, run once and frozen for `new` to take: a create then costs "
          + "a resume and an identity instead of a restore (each holds its memory; 0 for none; default ${DEFAULT-VALUE})")
  int warmPool;

  @Option(names = "--merge-memory",
      description = "merge the identical memory pages of VMs (forks of one VM share most of theirs) with the kernel's KSM, which"
          + " costs CPU: ~20 percent of one core while it catches up, ~3 percent once settled; the host's KSM settings come back"
          + " at shutdown")
  boolean mergeMemory;

  @Option(names = "--dns", defaultValue = DnsRole.DEFAULT_LISTEN,
      description = "address of the authoritative DNS for the zone (NAME.<zone>), UDP and TCP (default ${DEFAULT-VALUE}: not 53, where"
          + " the host's resolver may listen, nor 5353, mDNS)")
  String dns;

  @Option(names = "--zone", defaultValue = "localhost", description = "the DNS zone VMs are named under: https://NAME.ZONE, ssh NAME.ZONE;"
      + " the dns role answers for it (default ${DEFAULT-VALUE})")
  String zone;

  @Option(names = "--no-dns", description = "run no DNS role")
  boolean noDns;

  @Option(names = "--acme-directory", description = "order the zone's wildcard certificate from this ACME CA (such as"
      + " https://acme-v02.api.letsencrypt.org/directory), proving the zone through the dns role, and serve it on the edge; renewed 30"
      + " days before it ends. Without it the edge serves certificates of its local CA (boxd ca)")
  String acmeDirectory;

  @Option(names = "--acme-email", description = "contact address for the ACME account")
  String acmeEmail;

  @Option(names = "--acme-ca-file", description = "PEM of the CA that signed the ACME server's own HTTPS certificate, when the JVM does"
      + " not trust it (a private ACME CA such as step-ca or pebble)")
  Path acmeCaFile;

  @Option(names = "--dns-advertise",
      description = "IPv4 address of the zone's name server, ns1.<zone> (default: the --dns address; required when that is 0.0.0.0)")
  String dnsAdvertise;

  @Option(names = "--oidc-issuer", description = "sign unknown SSH keys up through this OpenID Connect issuer (its URL, whose"
      + " /.well-known/openid-configuration the server reads): https://<zone>/register?code=CODE sends the browser there and links the"
      + " key to the account of the subject who signs in (the same subject, the same account). Without it the operator approves"
      + " keys: boxd admin approve CODE")
  String oidcIssuer;

  @Option(names = "--oidc-client-id", description = "this boxd's client id at the issuer, whose redirect URI is"
      + " https://<zone>[:PORT]/register/callback")
  String oidcClientId;

  @Option(names = "--oidc-client-secret-file", description = "file holding the client secret at the issuer (kept off the command line,"
      + " where every user of the host could read it)")
  Path oidcClientSecretFile;

  // Every VM reaches the internet through the host unless told otherwise; the link is named after
  // the namespace, so a restarted server finds the one it made.
  private Optional<NetworkConfig.Uplink> uplink() {
    return noEgress ? Optional.empty() : Optional.of(NetworkConfig.Uplink.toHost(netns, egressNet));
  }

  private DnsRole startDns(RaftNode raft, String zone) {
    InetSocketAddress address = DnsRole.listenAddress(dns);
    String advertised = dnsAdvertise != null ? dnsAdvertise : address.getAddress().getHostAddress();
    if (address.getAddress().isAnyLocalAddress() && dnsAdvertise == null) {
      throw dev.boxd.core.BoxdException.invalid("--dns " + dns + " listens on every address: name the one resolvers should ask"
          + " with --dns-advertise=IP");
    }
    return DnsRole.start(raft, ZoneConfig.of(zone, advertised), address);
  }

  /** HOST:PORT of a listening flag, with an error that names the flag. */
  static InetSocketAddress socketAddress(String flag, String value) {
    int colon = value.lastIndexOf(':');
    try {
      if (colon > 0) {
        int port = Integer.parseInt(value.substring(colon + 1));
        if (port >= 0 && port <= 65535) {
          return new InetSocketAddress(java.net.InetAddress.getByName(value.substring(0, colon)), port);
        }
      }
    } catch (NumberFormatException | java.net.UnknownHostException e) {
      // falls through to the error below
    }
    throw dev.boxd.core.BoxdException.invalid(flag + "=" + value + ": expected ADDRESS:PORT, such as 127.0.0.1:443");
  }

  private static final java.time.Duration LAYER_MERGE_EVERY = java.time.Duration.ofMinutes(10);

  @Override
  public Integer call() throws Exception {
    Path dataDir = Paths.dataDir(data);
    Clock clock = Clock.systemUTC();
    // Before anything starts: a sign-up that cannot work fails the start.
    if (tokenLifetimeSecs < 1 || tokenLifetimeSecs > 24 * 3600) {
      throw dev.boxd.core.BoxdException.invalid("--token-lifetime-secs must be between 1 and 86400 (a day), not " + tokenLifetimeSecs);
    }
    Optional<OidcIssuer> oidc = RegistrationOptions.issuer(oidcIssuer, oidcClientId, oidcClientSecretFile, noEdge);
    Ipv4Subnet vmSubnet = Ipv4Subnet.parse(subnet);
    MachineShape shape = new MachineShape(vcpus, memoryMib);
    Path workerDir = dataDir.resolve("worker");
    // First: a host without KSM fails the start before anything else is set up. Its own hook, so
    // that the host's settings come back however the start or the server ends (short of a kill,
    // after which the next start restores them).
    HostMemoryMerging merging = HostMemoryMerging.start(MemoryMerging.host(),
        mergeMemory ? Optional.of(HostMemoryMerging.DEFAULT) : Optional.empty(), workerDir.resolve("ksm-before.properties"));
    Runtime.getRuntime().addShutdownHook(new Thread(merging::close, "boxd-ksm-restore"));

    // The key the VM SSH gateway logs into VMs with; every VM authorizes it for boxd.
    PlatformKey platformKey = PlatformKey.loadOrCreate(dataDir.resolve("platform_ed25519_key"));
    RaftNode raft = RaftNode.start(RaftConfig.singleNode(dataDir.resolve("raft"), "127.0.0.1:" + raftPort));
    // Nothing reads the state before it is as current as when the server stopped: after a kill
    // it holds only the last snapshot until the log after it is applied again.
    raft.awaitCurrent(java.time.Duration.ofSeconds(60));
    var baseConfig = ControlConfig.singleNode(vmSubnet, shape).withZone(Zones.require("--zone", zone));
    // Before the VMs: a DNS address already taken fails the start at once.
    Optional<DnsRole> dnsRole = noDns ? Optional.empty() : Optional.of(startDns(raft, baseConfig.zone()));
    if (acmeDirectory != null && noDns) {
      throw dev.boxd.core.BoxdException.invalid("--acme-directory needs the dns role, which answers the CA's DNS-01 challenges:"
          + " drop --no-dns");
    }
    var runtime = new LocalVmRuntime(new RuntimeConfig(workerDir, dataDir, Paths.recipeDir(),
        new NetworkConfig(netns, "boxd0", vmSubnet, uplink())).withPlatformKey(platformKey.publicKey()).withImageRecipe(imageRecipe));
    var reconciler = new Reconciler(WORKER_ID, raft, runtime, clock);
    // Before the reconciler re-attaches VMs, so that sleeping ones are watched for traffic at once.
    IdleWatch idle = new IdleWatch(WORKER_ID, raft, runtime, reconciler, java.time.Duration.ofSeconds(hibernateAfterSecs)).start();
    reconciler.start("127.0.0.1", Runtime.getRuntime().availableProcessors(), HostMemory.totalMib());
    var workers = new LocalWorkers(WORKER_ID, new LocalWorkerPort(runtime, reconciler, idle));
    var routes = new StateVmRoutes(raft, workers);
    java.net.InetAddress edgeHost = java.net.InetAddress.getByName(edgeAddress);
    VmGateway gateway = VmGateway.builder(routes)
        .port(vmSshPort)
        .edgeAddress(edgeHost)
        .hostKey(dataDir.resolve("vm_gateway_ed25519_key"))
        .platformKey(platformKey.keyPair())
        .start();
    routes.follow(gateway);
    var config = baseConfig.withVmSsh(gateway.port(), gateway.hostKey()).withEdgeAddress(edgeHost.getHostAddress());
    Optional<ExposeForwarder> forwarder = noExpose ? Optional.empty() : Optional.of(ExposeForwarder.start(raft, workers, edgeHost));
    var zonePages = new ZonePageRoutes(config.zone());
    ApiTokens apiTokens = ApiTokens.start(raft, config.zone(), java.time.Duration.ofSeconds(tokenLifetimeSecs), clock);
    zonePages.add(dev.boxd.api.auth.TokenExchange.PATH, apiTokens.exchangePage());
    Optional<EdgeRole> edge = noEdge ? Optional.empty() : Optional.of(EdgeRole.start(dataDir, EdgeConfig.defaults(config.zone(),
        socketAddress("--https", httpsListen), socketAddress("--http", httpListen)), raft, workers, zonePages, clock));
    // The page an unknown key is sent to is on the edge, at the zone itself; without an edge the operator approves.
    Optional<RegistrationSite> site = edge.map(e -> RegistrationSite.of(config.zone(), e.httpsPort(),
        RegistrationOptions.sshCommand(listen, sshPort, config.zone())));
    site.ifPresent(s -> RegistrationOptions.addPages(zonePages, s, oidc, raft, clock));
    // One for every surface: registrations are written one at a time through it.
    var accounts = new StateAccounts(raft, workers, config, clock);
    FrontDoor door = FrontDoor.builder(accounts)
        .listen(listen, sshPort)
        .hostKey(dataDir.resolve("ssh_host_ed25519_key"))
        .registrationUrl(site.map(RegistrationSite::registerUrlPrefix).orElse(""))
        .start();
    Optional<CertificateRenewer> acme = acmeDirectory == null ? Optional.empty()
        : Optional.of(AcmeRole.start(dataDir, config.zone(), acmeDirectory, Optional.ofNullable(acmeEmail), Optional.ofNullable(acmeCaFile),
            raft, clock));
    // The bearer tokens of the API come from the token exchange; no verifier, no API.
    Optional<ApiRole> api = noApi ? Optional.empty()
        : Optional.of(ApiRole.start(dataDir, socketAddress("--api", apiListen), config.zone(), raft,
            accounts::operations, apiTokens.verifier(), Tokenless.of(apiTokens.exchange(),
                new DeviceLogins(new DeviceRegistrations(raft, accounts, site, clock), accounts::operations, clock)), clock));
    AdminServer admin = AdminServer.start(dataDir, raft, clock, new AdminServer.UnclaimedVms() {
      @Override
      public java.util.List<String> describe() {
        return reconciler.unclaimed().stream().map(vm -> vm.id() + " (" + vm.name() + ", " + vm.state().label() + ", QEMU pid "
            + vm.pid() + ")").toList();
      }

      @Override
      public void remove(String vmId) {
        reconciler.removeUnclaimed(vmId);
      }
    });
    // The in-VM CLI's gateway, on the bridge address inside the VM network: only VMs reach it.
    var guestCallers = new StateGuestCallers(raft, workers, config, clock);
    GuestGateway guestGateway = GuestGateway.serve(
        runtime.network().namespace().listen(new InetSocketAddress(vmSubnet.gateway().toString(), GuestGateway.PORT)), guestCallers);
    // The gRPC API for SDKs inside VMs, beside the CLI's gateway, its callers known the same way.
    Optional<InVmApi> inVmApi = noApi ? Optional.empty()
        : Optional.of(InVmApi.start(runtime.network().namespace(), vmSubnet.gateway(), guestCallers));

    // The first VM of a size waits for its golden; prepare the default one now (the warm pool
    // makes it for its first VM). After recovery: it removes warm VMs a previous server left.
    runtime.keepGolden(shape); // the default size's golden stays when its last VM goes
    if (warmPool > 0) {
      runtime.keepWarm(shape, warmPool);
    } else {
      Thread.ofVirtual().start(() -> {
        try {
          runtime.golden(shape, line -> log.info("{}", line));
        } catch (RuntimeException e) {
          log.error("cannot prepare the golden VM: {}", e.getMessage());
        }
      });
    }

    // Forks, saves and hibernations add a disk layer each; the private ones of stopped and hibernated VMs are merged now and then.
    var layerMerges = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(Thread.ofVirtual().name("layer-merge").factory());
    layerMerges.scheduleWithFixedDelay(runtime::mergeAllLayers, LAYER_MERGE_EVERY.toMinutes(), LAYER_MERGE_EVERY.toMinutes(),
        java.util.concurrent.TimeUnit.MINUTES);

    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      door.close();
      api.ifPresent(ApiRole::close);
      dnsRole.ifPresent(DnsRole::close);
      edge.ifPresent(EdgeRole::close);
      acme.ifPresent(CertificateRenewer::close);
      guestGateway.close();
      inVmApi.ifPresent(InVmApi::close);
      routes.close();
      gateway.close();
      forwarder.ifPresent(ExposeForwarder::close);
      admin.close();
      idle.close();
      layerMerges.shutdownNow();
      reconciler.close();
      runtime.close(); // VMs keep running; the next server re-attaches
      raft.close();
      stopped.countDown();
    }));
    String port = sshPort == 22 ? "" : "-p " + door.port() + " ";
    System.out.println("boxd is running: SSH front door on " + listen + ":" + door.port() + ", data in " + dataDir);
    System.out.println("  link your key:  ./boxd admin add-key --user $USER ~/.ssh/id_ed25519.pub");
    System.out.println("  sign-up:        an unknown key is given a code; " + site.map(s -> s.registerUrl("CODE")
        + oidc.map(i -> " signs in at " + i.issuer()).orElse(" shows it, ")).orElse("")
        + (oidc.isPresent() ? "" : "the operator approves it: ./boxd admin approve CODE"));
    System.out.println("  then:           ssh " + port + listen + " new --name=app");
    System.out.println("                  ssh " + port + listen + " exec app -- uname -a");
    System.out.println("                  ssh " + port + listen + "            (the boxd> prompt)");
    System.out.println("  into a VM:      ssh " + (vmSshPort == 22 ? "" : "-p " + vmSshPort + " ") + "boxd@PUBLIC_IP"
        + "    (ssh " + port + listen + " ssh-config >> ~/.ssh/config, then: ssh app." + config.zone() + ")");
    dnsRole.ifPresent(role -> System.out.println("  DNS:            dig @" + role.config().nameServer().getHostAddress() + " -p "
        + role.address().getPort() + " app." + config.zone() + "    (authoritative for " + config.zone() + ", on "
        + role.address().getHostString() + ":" + role.address().getPort() + ")"));
    System.out.println("                  or each VM's own port on " + edgeHost.getHostAddress() + " (info app shows it: ssh -p PORT ...)");
    System.out.println("  ports:          ssh " + port + listen + " expose app 5000 [--udp]    (a public port on " + edgeHost.getHostAddress()
        + (noExpose ? ", not forwarded: --no-expose" : "") + ")");
    api.ifPresent(a -> System.out.println("  gRPC API:       " + config.zone() + ":" + a.port() + " (boxd.api.v1.BoxdApi, TLS with the"
        + " certificate of the HTTPS edge; a bearer token on every call)"));
    inVmApi.ifPresent(a -> System.out.println("  inside VMs:     the same API on " + vmSubnet.gateway() + ":" + InVmApi.PORT
        + " (plaintext, no token: the VM acts as its owner)"));
    edge.ifPresent(e -> {
      String https = e.httpsPort() == 443 ? "" : ":" + e.httpsPort();
      System.out.println("  HTTPS edge:     https://NAME." + config.zone() + https + " reaches port 8000 of VM NAME (" + httpsListen + ", HTTP "
          + httpListen + " redirects); trust its CA: curl --cacert <(./boxd ca --quiet) https://app." + config.zone() + https);
    });
    System.out.flush();
    stopped.await();
    return 0;
  }
}
