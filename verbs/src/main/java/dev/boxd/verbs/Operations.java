package dev.boxd.verbs;

import dev.boxd.core.net.EgressTraffic;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Flow;

/**
 * What a caller may do, already bound to the caller's identity: every method acts only on the
 * caller's own VMs, and a VM of another owner is simply NOT_FOUND. Failures are
 * {@link dev.boxd.core.BoxdException}s carrying a code from the one error table. Implemented by
 * the control plane; every transport (SSH front door, in-VM gateway, CLI) drives it through the
 * verbs, never directly.
 *
 * <p>Arguments arrive validated: a {@code vm} is a VM name (DNS label) or id, paths and commands
 * contain no NUL. Calls block; the calling thread is interrupted when the user gives up (Ctrl-C,
 * or the connection went away): stop promptly and throw, leaving the thread's interrupt status
 * set (restore it after catching InterruptedException). A stream argument that throws
 * {@link java.io.IOException} means the user's side is gone: abandon the operation (kill the
 * command; keep no partial upload) and throw.
 */
public interface Operations {

  /**
   * A VM as users see it (SPEC §3 JSON). Nullable: ip, publicIp, url, image, createdAt.
   * {@code autoSuspendSecs}: idle seconds before standby, 0 = never.
   */
  /**
   * {@code detail}: why a VM failed, or what the supervisor restarted it after; empty when there is
   * nothing to say. {@code egress}: what the VM exchanged with the internet, where it was asked for
   * ({@code info}); empty in lists and where its worker does not run it (yet).
   */
  /**
   * {@code ssh}: the command that logs into the VM through its own port of direct SSH
   * ({@code ssh -p PORT boxd@NAME.<zone>}); empty for a VM without one.
   */
  record VmView(String id, String name, String status, String ip, String publicIp, String image, String url,
      long bootTimeMs, int vcpus, int memoryMib, int diskGb, String createdAt, int autoSuspendSecs, String detail,
      Optional<EgressTraffic> egress, String ssh, boolean isolated) {
    public VmView {
      detail = detail == null ? "" : detail;
      egress = egress == null ? Optional.empty() : egress;
      ssh = ssh == null ? "" : ssh;
    }

    /** A VM that is not isolated. */
    public VmView(String id, String name, String status, String ip, String publicIp, String image, String url,
        long bootTimeMs, int vcpus, int memoryMib, int diskGb, String createdAt, int autoSuspendSecs, String detail,
        Optional<EgressTraffic> egress, String ssh) {
      this(id, name, status, ip, publicIp, image, url, bootTimeMs, vcpus, memoryMib, diskGb, createdAt, autoSuspendSecs, detail, egress, ssh,
          false);
    }

    public VmView(String id, String name, String status, String ip, String publicIp, String image, String url,
        long bootTimeMs, int vcpus, int memoryMib, int diskGb, String createdAt, int autoSuspendSecs, String detail,
        Optional<EgressTraffic> egress) {
      this(id, name, status, ip, publicIp, image, url, bootTimeMs, vcpus, memoryMib, diskGb, createdAt, autoSuspendSecs, detail, egress, "");
    }

    public VmView(String id, String name, String status, String ip, String publicIp, String image, String url,
        long bootTimeMs, int vcpus, int memoryMib, int diskGb, String createdAt, int autoSuspendSecs, String detail) {
      this(id, name, status, ip, publicIp, image, url, bootTimeMs, vcpus, memoryMib, diskGb, createdAt, autoSuspendSecs, detail,
          Optional.empty());
    }

    public VmView(String id, String name, String status, String ip, String publicIp, String image, String url,
        long bootTimeMs, int vcpus, int memoryMib, int diskGb, String createdAt, int autoSuspendSecs) {
      this(id, name, status, ip, publicIp, image, url, bootTimeMs, vcpus, memoryMib, diskGb, createdAt, autoSuspendSecs, "");
    }

    /** This view with the VM's egress counts. */
    public VmView withEgress(EgressTraffic traffic) {
      return new VmView(id, name, status, ip, publicIp, image, url, bootTimeMs, vcpus, memoryMib, diskGb, createdAt, autoSuspendSecs,
          detail, Optional.of(traffic), ssh, isolated);
    }

    /** This view with the command that logs into the VM over its own SSH port. */
    public VmView withSsh(String command) {
      return new VmView(id, name, status, ip, publicIp, image, url, bootTimeMs, vcpus, memoryMib, diskGb, createdAt, autoSuspendSecs,
          detail, egress, command, isolated);
    }

    /** This view of an isolated VM (SPEC §12), or of one that is not. */
    public VmView withIsolated(boolean value) {
      return new VmView(id, name, status, ip, publicIp, image, url, bootTimeMs, vcpus, memoryMib, diskGb, createdAt, autoSuspendSecs,
          detail, egress, ssh, value);
    }
  }

  /** {@code fromSnapshot}: a snapshot's name; the VM then has the snapshot's size, memory and disk. */
  /** {@code image}: a named image ({@code boxd image import}); empty for the default image. */
  /** {@code isolated}: an isolated VM (SPEC §12), fixed for its life. */
  record NewRequest(Optional<String> name, Optional<Integer> vcpus, Optional<Integer> memoryMib, Optional<Integer> autoSuspendSecs,
      Optional<String> fromSnapshot, Optional<String> image, boolean isolated) {
    public NewRequest(Optional<String> name, Optional<Integer> vcpus, Optional<Integer> memoryMib) {
      this(name, vcpus, memoryMib, Optional.empty(), Optional.empty(), Optional.empty());
    }

    /** A VM that is not isolated. */
    public NewRequest(Optional<String> name, Optional<Integer> vcpus, Optional<Integer> memoryMib, Optional<Integer> autoSuspendSecs,
        Optional<String> fromSnapshot, Optional<String> image) {
      this(name, vcpus, memoryMib, autoSuspendSecs, fromSnapshot, image, false);
    }

    public NewRequest(Optional<String> name, Optional<Integer> vcpus, Optional<Integer> memoryMib, Optional<Integer> autoSuspendSecs,
        Optional<String> fromSnapshot) {
      this(name, vcpus, memoryMib, autoSuspendSecs, fromSnapshot, Optional.empty());
    }
  }

  /** A named snapshot (SPEC §3): its name, the VM it was taken of, when; size only right after saving (else 0). */
  record SnapshotView(String id, String name, String vm, String createdAt, long sizeBytes) {}

  /** Saves the VM's memory, disk and processes as snapshot {@code name}; the VM pauses briefly and runs on. */
  SnapshotView saveSnapshot(String vm, String name);

  /** The caller's snapshots, by name. */
  List<SnapshotView> snapshots();

  void removeSnapshot(String name);

  /** Creates a VM and returns once it is running and exec-ready. */
  VmView create(NewRequest request);

  List<VmView> list();

  /** A fork as the user sees it: the new VM, and the name of the VM it copies. */
  record ForkView(VmView vm, String forkedFrom) {}

  /**
   * Copies the running (or paused) VM {@code source} (memory, disk, processes) into a new VM named
   * {@code name}, by default {@code SOURCE-fork}; returns once the copy is running and exec-ready.
   */
  ForkView fork(String source, Optional<String> name, Optional<Integer> autoSuspendSecs);

  /** By name or id. */
  VmView info(String vm);

  /**
   * The VM the caller is inside of, for surfaces whose identity is a VM (the in-VM gateway): it is
   * what {@code info} without a NAME shows. Empty elsewhere.
   */
  default Optional<String> currentVm() {
    return Optional.empty();
  }

  /**
   * Runs a command as user boxd through a shell; returns its exit code (124 on timeout). With a
   * {@link ExecSpec#tty() tty} the command gets a terminal, its output arrives on {@code stdout}
   * only, and {@code stdin} carries raw keystrokes. {@code stdin} ends (read returns -1) when the
   * user's input ends; the command then sees end-of-file.
   */
  int exec(String vm, ExecSpec spec, InputStream stdin, OutputStream stdout, OutputStream stderr);

  record ExecSpec(String command, Map<String, String> env, Optional<Duration> timeout, Optional<Tty> tty) {}

  /** Terminal columns and rows. */
  record WindowSize(int cols, int rows) {}

  /**
   * A terminal for exec/connect: its type ({@code TERM}), initial size, and later window changes.
   * Subscribe at most once and cancel the subscription when the exec returns: a transport may hand
   * the same publisher to several execs of one session, one after the other.
   */
  record Tty(String term, WindowSize size, Flow.Publisher<WindowSize> resizes) {

    /** A terminal whose size never changes. */
    public static Tty fixed(String term, WindowSize size) {
      return new Tty(term, size, subscriber -> subscriber.onSubscribe(new Flow.Subscription() {
        @Override
        public void request(long n) {}

        @Override
        public void cancel() {}
      }));
    }
  }

  /**
   * Streams {@code data} into {@code path} (relative to /home/boxd unless absolute) with the given
   * file mode; returns bytes written. If {@code data} throws, nothing is left at {@code path}.
   */
  long upload(String vm, String path, int mode, InputStream data);

  /** Streams the file at {@code path} out; returns bytes read. */
  long download(String vm, String path, OutputStream sink);

  /**
   * Copies a file or a directory tree from one VM to another (or within one VM), streamed without
   * a size limit. A file keeps its mode; a directory's contents land in {@code dstPath}, which is
   * created if needed (existing files there with the same names are replaced). Returns the bytes
   * moved (file bytes, or the size of the tree's archive).
   */
  long copy(String srcVm, String srcPath, String dstVm, String dstPath);

  /** Freezes the VM in RAM (standby); returns the time it took in microseconds (JSON suspend_us). */
  long pause(String vm);

  /** Wakes a paused VM; returns the time it took in microseconds (JSON resume_us). */
  long resume(String vm);

  VmView reboot(String vm);

  /**
   * Saves the VM's memory to disk and ends its VMM (state {@code hibernated}); the same triggers
   * as standby wake it, with its processes intact.
   */
  VmView hibernate(String vm);

  /** Sets the idle timeout before standby, in seconds; 0 turns auto-suspend off. */
  VmView setAutoSuspend(String vm, int seconds);

  VmView stop(String vm);

  VmView start(String vm);

  void destroy(String vm);

  /**
   * How to reach the caller's VMs with a plain SSH client ({@code ssh NAME.<zone>}, SPEC §2): one
   * entry per VM, all through the SSH gateway, whose one host key stands for every VM; so every
   * entry shares {@code hostKeyAlias}, under which known_hosts keeps that key.
   *
   * @param hostKey the gateway's host key in authorized_keys form ({@code ssh-ed25519 AAAA...})
   */
  record SshConfig(String hostKeyAlias, String hostKey, List<SshHost> hosts) {}

  /** One VM: its alias ({@code NAME.<zone>}), the address and port of the gateway for it, the user to log in as. */
  record SshHost(String alias, String vm, String hostName, int port, String user) {}

  /** The caller's VMs as SSH client configuration; FAILED_PRECONDITION where direct SSH is not offered. */
  default SshConfig sshConfig() {
    throw dev.boxd.core.BoxdException.precondition("direct SSH into VMs is not offered here");
  }

  /**
   * An HTTPS route (SPEC §3 proxy): {@code name} ({@code default} for the VM's own domain), the
   * VM's name, the domain it answers for ({@code SUB.NAME.<zone>}, or {@code NAME.<zone>}) and
   * the VM port it goes to.
   */
  record ProxyView(String name, String vm, String domain, int port) {}

  /** The routes of one VM ({@code vm} given) or of every VM of the caller, the default route of each first. */
  default List<ProxyView> proxies(Optional<String> vm) {
    throw dev.boxd.core.BoxdException.precondition("HTTPS routes are not offered here");
  }

  /** Adds the route {@code name.VM.<zone>} to {@code port} of the VM. */
  default ProxyView addProxy(String vm, String name, int port) {
    throw dev.boxd.core.BoxdException.precondition("HTTPS routes are not offered here");
  }

  /**
   * Moves a route ({@code default}: the VM's own domain) to {@code port}; an empty port means the
   * port the guest listens on (SPEC §6 {@code --port=auto}).
   */
  default ProxyView setProxyPort(String vm, String name, java.util.OptionalInt port) {
    throw dev.boxd.core.BoxdException.precondition("HTTPS routes are not offered here");
  }

  default void removeProxy(String vm, String name) {
    throw dev.boxd.core.BoxdException.precondition("HTTPS routes are not offered here");
  }

  /**
   * A raw forward (SPEC §3 expose, §8 ExposePort): {@code host}:{@code publicPort} (the edge) to
   * {@code vmPort} of the VM for {@code protocol} ({@code tcp} or {@code udp}); {@code dns} is the
   * VM's name in the zone.
   */
  record ExposeView(String vmId, String vm, String dns, String host, int vmPort, String protocol, int publicPort) {}

  /** Forwards a public port to {@code vmPort} of the VM; exposing it again keeps its public port. */
  default ExposeView expose(String vm, String protocol, int vmPort) {
    throw dev.boxd.core.BoxdException.precondition("exposing ports is not offered here");
  }

  default void unexpose(String vm, String protocol, int vmPort) {
    throw dev.boxd.core.BoxdException.precondition("exposing ports is not offered here");
  }

  /** The forwards of one VM or of every VM of the caller. */
  default List<ExposeView> exposures(Optional<String> vm) {
    throw dev.boxd.core.BoxdException.precondition("exposing ports is not offered here");
  }

  /**
   * An API key as its owner sees it (SPEC §7): never its secret nor the secret's hash. Times are
   * ISO-8601; {@code expiresAt} empty for a key that does not expire, {@code revokedAt} empty for
   * one not revoked.
   */
  record ApiKeyView(String id, String name, String createdAt, Optional<String> expiresAt, Optional<String> revokedAt) {}

  /** A key just made, with its secret ({@code bxd_…}): the one time the secret is shown. */
  record NewApiKey(ApiKeyView key, String secret) {
    @Override
    public String toString() {
      return "NewApiKey[" + key + "]"; // never the secret
    }
  }

  /**
   * Makes an API key of the caller's account, named {@code name} (a DNS label; one is made up
   * when empty), expiring after {@code expiresIn} if given.
   */
  /** The longest expiry an API key may be given (ten years): longer is no expiry, and leaving it out says that more plainly. */
  long MAX_API_KEY_LIFETIME_SECS = 10L * 366 * 24 * 3600;

  default NewApiKey createApiKey(Optional<String> name, Optional<Duration> expiresIn) {
    throw dev.boxd.core.BoxdException.precondition("API keys are not offered here");
  }

  /** The caller's API keys, oldest first, revoked and expired ones included. */
  default List<ApiKeyView> apiKeys() {
    throw dev.boxd.core.BoxdException.precondition("API keys are not offered here");
  }

  /** Revokes the caller's key with this id, or else the usable one with this name; its tokens stop working at once. */
  default ApiKeyView revokeApiKey(String idOrName) {
    throw dev.boxd.core.BoxdException.precondition("API keys are not offered here");
  }

  /** The caller: user id, display name, and the SHA256 fingerprints of the linked SSH keys. */
  record Whoami(String userId, String name, List<String> keyFingerprints) {}

  Whoami whoami();
}
