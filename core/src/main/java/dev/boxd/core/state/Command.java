package dev.boxd.core.state;

import dev.boxd.core.net.Ipv4;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * Everything durable in boxd is one of these, appended to the replicated log and applied by
 * {@link Fsm#apply}. Each carries every id, timestamp and address its effect depends on, fixed by
 * the proposer, so that applying it is the same on every replica. Adding a command does not
 * compile until it is applied ({@link Fsm}) and encoded ({@code CommandCodec}).
 */
public sealed interface Command {

  /** Creates an account with the standard per-VM size and totals for {@code maxVms} VMs ({@link Quota#ofVms}). */
  record CreateUser(String userId, String name, Instant at, int maxVms) implements Command {
    public CreateUser {
      Objects.requireNonNull(userId, "userId");
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(at, "at");
    }
  }

  /** Links an SSH key to an existing account. */
  record AddKey(String userId, String fingerprint, String publicKey, Instant at) implements Command {
    public AddKey {
      Objects.requireNonNull(userId, "userId");
      Objects.requireNonNull(fingerprint, "fingerprint");
      Objects.requireNonNull(publicKey, "publicKey");
      Objects.requireNonNull(at, "at");
    }
  }

  /** Unlinks an SSH key. */
  record RemoveKey(String fingerprint) implements Command {
    public RemoveKey {
      Objects.requireNonNull(fingerprint, "fingerprint");
    }
  }

  /**
   * Records an unknown key that connected and was handed a URL with {@code code}. A newer
   * registration for the same key replaces the older one, so an impatient user who reconnects
   * leaves one pending registration, not many. No longer proposed (it has no cap and no source):
   * {@link OpenRegistrationFrom} took its place.
   */
  record OpenRegistration(String code, String fingerprint, String publicKey, Instant expiresAt) implements Command {
    public OpenRegistration {
      Objects.requireNonNull(code, "code");
      Objects.requireNonNull(fingerprint, "fingerprint");
      Objects.requireNonNull(publicKey, "publicKey");
      Objects.requireNonNull(expiresAt, "expiresAt");
    }
  }

  /**
   * Records an unknown key that connected from {@code source} (the client's IP address) at
   * {@code at} and was handed a URL with {@code code}, pending until {@code expiresAt}. Every
   * registration expired at {@code at} is dropped first; a registration for the same key is
   * replaced. Rejected with RESOURCE_EXHAUSTED when {@link Registration#MAX_PENDING} are pending,
   * or {@link Registration#MAX_PENDING_PER_SOURCE} from {@code source}. Supersedes
   * {@link OpenRegistration}, which stays so that old logs replay.
   */
  record OpenRegistrationFrom(String code, String fingerprint, String publicKey, String source, Instant at, Instant expiresAt)
      implements Command {
    public OpenRegistrationFrom {
      Objects.requireNonNull(code, "code");
      Objects.requireNonNull(fingerprint, "fingerprint");
      Objects.requireNonNull(publicKey, "publicKey");
      Objects.requireNonNull(source, "source");
      Objects.requireNonNull(at, "at");
      Objects.requireNonNull(expiresAt, "expiresAt");
    }
  }

  /**
   * Links the key of registration {@code code} to {@code userId}, creating that account (named
   * {@code userName}, default quota) if it does not exist. Rejected when the code is unknown or
   * expired at {@code at}. Also drops every registration expired at {@code at}.
   */
  record ApproveRegistration(String code, String userId, String userName, Instant at) implements Command {
    public ApproveRegistration {
      Objects.requireNonNull(code, "code");
      Objects.requireNonNull(userId, "userId");
      Objects.requireNonNull(userName, "userName");
      Objects.requireNonNull(at, "at");
    }
  }

  /** Adds a worker, or updates its address and capacity when it registers again after a restart. */
  record RegisterWorker(String workerId, String address, int vcpus, long memoryMib, Instant at) implements Command {
    public RegisterWorker {
      Objects.requireNonNull(workerId, "workerId");
      Objects.requireNonNull(address, "address");
      Objects.requireNonNull(at, "at");
    }
  }

  /**
   * Places a new VM on {@code workerId} with the addresses the control plane picked; the worker
   * sees it in its replica and creates it. Desired state starts {@code RUNNING}. An {@code
   * isolated} VM (SPEC §12) is so for its whole life.
   */
  record CreateVm(
      String vmId,
      String ownerId,
      String name,
      int vcpus,
      long memoryMib,
      long diskGb,
      Ipv4 ip,
      Ipv4 publicIp,
      String workerId,
      Instant at,
      String image,
      boolean isolated) implements Command {
    /** A VM of the default image. */
    public CreateVm(String vmId, String ownerId, String name, int vcpus, long memoryMib, long diskGb, Ipv4 ip, Ipv4 publicIp,
        String workerId, Instant at) {
      this(vmId, ownerId, name, vcpus, memoryMib, diskGb, ip, publicIp, workerId, at, "");
    }

    /** A VM that is not isolated. */
    public CreateVm(String vmId, String ownerId, String name, int vcpus, long memoryMib, long diskGb, Ipv4 ip, Ipv4 publicIp,
        String workerId, Instant at, String image) {
      this(vmId, ownerId, name, vcpus, memoryMib, diskGb, ip, publicIp, workerId, at, image, false);
    }

    public CreateVm {
      Objects.requireNonNull(image, "image");
      Objects.requireNonNull(vmId, "vmId");
      Objects.requireNonNull(ownerId, "ownerId");
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(ip, "ip");
      Objects.requireNonNull(publicIp, "publicIp");
      Objects.requireNonNull(workerId, "workerId");
      Objects.requireNonNull(at, "at");
    }
  }

  /**
   * Copy the running VM {@code sourceVmId} (memory, disk, processes) into a new VM with its own id,
   * name and addresses; owner, size and worker are the source's.
   */
  record ForkVm(String vmId, String sourceVmId, String name, Ipv4 ip, Ipv4 publicIp, Instant at) implements Command {
    public ForkVm {
      Objects.requireNonNull(vmId, "vmId");
      Objects.requireNonNull(sourceVmId, "sourceVmId");
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(ip, "ip");
      Objects.requireNonNull(publicIp, "publicIp");
      Objects.requireNonNull(at, "at");
    }
  }

  /** Seconds without inbound traffic before the VM goes to standby; 0 turns auto-suspend off. */
  record SetAutoSuspend(String vmId, int seconds) implements Command {
    public SetAutoSuspend {
      Objects.requireNonNull(vmId, "vmId");
    }
  }

  /**
   * The VM's worker puts an idle VM to sleep: a running VM to {@code STANDBY} after its idle
   * timeout, a VM long in standby to {@code HIBERNATED}. Applies only if the user's intent is
   * still the one it follows from, so a user's later request always wins.
   */
  record IdleSleep(String vmId, String workerId, DesiredPower power) implements Command {
    public IdleSleep {
      Objects.requireNonNull(vmId, "vmId");
      Objects.requireNonNull(workerId, "workerId");
      Objects.requireNonNull(power, "power");
    }
  }

  /** The VM's worker saw inbound traffic for a sleeping VM: it is to run again (SPEC §4). */
  record TrafficWake(String vmId, String workerId) implements Command {
    public TrafficWake {
      Objects.requireNonNull(vmId, "vmId");
      Objects.requireNonNull(workerId, "workerId");
    }
  }

  /**
   * A snapshot saved before the log held snapshots being saved: logs written then still carry it,
   * and it is applied as a saved snapshot. Nothing writes it now ({@link SaveSnapshot} does).
   */
  record AddSnapshot(Snapshot snapshot) implements Command {
    public AddSnapshot {
      Objects.requireNonNull(snapshot, "snapshot");
    }
  }

  /**
   * A snapshot of a VM, asked for under its name (SPEC §3 snapshot save): recorded as saving, then
   * saved by the VM's worker, which reports {@link SnapshotSaved} or removes it on failure.
   */
  record SaveSnapshot(Snapshot snapshot) implements Command {
    public SaveSnapshot {
      Objects.requireNonNull(snapshot, "snapshot");
    }
  }

  /** The worker saved the snapshot: {@code bytes} on its disk. */
  record SnapshotSaved(String snapshotId, String workerId, long bytes) implements Command {
    public SnapshotSaved {
      Objects.requireNonNull(snapshotId, "snapshotId");
      Objects.requireNonNull(workerId, "workerId");
    }
  }

  record RemoveSnapshot(String snapshotId) implements Command {
    public RemoveSnapshot {
      Objects.requireNonNull(snapshotId, "snapshotId");
    }
  }

  /** A new VM started from a snapshot ({@code new --from-snapshot}); owner, size and worker are the snapshot's. */
  record CreateFromSnapshot(String vmId, String snapshotId, String name, Ipv4 ip, Ipv4 publicIp, Instant at) implements Command {
    public CreateFromSnapshot {
      Objects.requireNonNull(vmId, "vmId");
      Objects.requireNonNull(snapshotId, "snapshotId");
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(ip, "ip");
      Objects.requireNonNull(publicIp, "publicIp");
      Objects.requireNonNull(at, "at");
    }
  }

  /** Start, pause or stop a VM (not destroy: that is {@link DestroyVm}). */
  record SetDesiredPower(String vmId, DesiredPower desired) implements Command {
    public SetDesiredPower {
      Objects.requireNonNull(vmId, "vmId");
      Objects.requireNonNull(desired, "desired");
    }
  }

  /** Asks for a cold restart: bumps the VM's reboot counter; its worker reboots until it has seen it. */
  record Reboot(String vmId) implements Command {
    public Reboot {
      Objects.requireNonNull(vmId, "vmId");
    }
  }

  /** Sets desired state {@code DESTROYED}; the VM keeps its name and addresses until {@link RemoveVm}. */
  record DestroyVm(String vmId) implements Command {
    public DestroyVm {
      Objects.requireNonNull(vmId, "vmId");
    }
  }

  /** A worker's report of what it sees; accepted only from the worker the VM is placed on. */
  record ReportObserved(String vmId, String workerId, VmObserved observed) implements Command {
    public ReportObserved {
      Objects.requireNonNull(vmId, "vmId");
      Objects.requireNonNull(workerId, "workerId");
      Objects.requireNonNull(observed, "observed");
    }
  }

  /** The VM's worker confirms a destroyed VM is gone: its name and addresses become free. */
  record RemoveVm(String vmId, String workerId) implements Command {
    public RemoveVm {
      Objects.requireNonNull(vmId, "vmId");
      Objects.requireNonNull(workerId, "workerId");
    }
  }

  /**
   * An operator changes how many VMs an account may hold; its totals follow (that many VMs of its
   * per-VM size). Kept for old logs: {@link SetQuota} sets every limit.
   */
  record SetUserQuota(String userId, int maxVms) implements Command {
    public SetUserQuota {
      Objects.requireNonNull(userId, "userId");
    }
  }

  /** An operator sets every limit of an account (VM count, per-VM size, totals) at once. */
  record SetQuota(String userId, Quota quota) implements Command {
    public SetQuota {
      Objects.requireNonNull(userId, "userId");
      Objects.requireNonNull(quota, "quota");
    }
  }

  /**
   * Serves {@code values} as TXT records at {@code name} (an ACME DNS-01 challenge, {@link
   * AcmeChallenge}) until {@code expiresAt}, replacing what that name held; proposed at {@code at},
   * when every expired challenge is dropped.
   */
  record SetAcmeChallenge(String name, List<String> values, Instant at, Instant expiresAt) implements Command {
    public SetAcmeChallenge {
      Objects.requireNonNull(name, "name");
      values = List.copyOf(values);
      Objects.requireNonNull(at, "at");
      Objects.requireNonNull(expiresAt, "expiresAt");
    }
  }

  /** Stops serving the challenge at {@code name}: its order is finished. */
  record ClearAcmeChallenge(String name) implements Command {
    public ClearAcmeChallenge {
      Objects.requireNonNull(name, "name");
    }
  }

  /**
   * Keeps the certificate an ACME CA issued for a zone and its wildcard ({@link ZoneCertificate}),
   * replacing the one before: every proxy node serves it from then on. Rejected for a zone that is
   * not DNS labels, or PEM that is empty or over {@link ZoneCertificate#MAX_PEM_LENGTH}.
   */
  record SetZoneCertificate(String zone, String chainPem, String keyPem, Instant notAfter) implements Command {
    public SetZoneCertificate {
      Objects.requireNonNull(zone, "zone");
      Objects.requireNonNull(chainPem, "chainPem");
      Objects.requireNonNull(keyPem, "keyPem");
      Objects.requireNonNull(notAfter, "notAfter");
    }

    @Override
    public String toString() {
      return "SetZoneCertificate[zone=" + zone + ", notAfter=" + notAfter + "]"; // never the key
    }
  }

  /**
   * A named HTTPS route {@code NAME.VM.<zone>} to {@code port} of the VM (SPEC §3 proxy new).
   * Rejected for the name {@code default} (every VM has that route: {@link SetProxyPort} moves it),
   * a name taken on the VM, a name that is no DNS label, and past {@link Proxy#MAX_PER_VM}.
   */
  record AddProxy(String vmId, String name, int port) implements Command {
    public AddProxy {
      Objects.requireNonNull(vmId, "vmId");
      Objects.requireNonNull(name, "name");
    }
  }

  /** Moves an existing route of the VM, or its default one ({@link Proxy#DEFAULT_NAME}), to {@code port}. */
  record SetProxyPort(String vmId, String name, int port) implements Command {
    public SetProxyPort {
      Objects.requireNonNull(vmId, "vmId");
      Objects.requireNonNull(name, "name");
    }
  }

  /** Removes a named route of the VM (the default one stays). */
  record RemoveProxy(String vmId, String name) implements Command {
    public RemoveProxy {
      Objects.requireNonNull(vmId, "vmId");
      Objects.requireNonNull(name, "name");
    }
  }

  /**
   * Forwards {@code publicPort} of the edge (chosen by the proposer) to {@code vmPort} of the VM
   * (SPEC §3 expose). When the VM already has that protocol and port exposed, nothing changes: it
   * keeps its public port, which the caller reads back from the state.
   */
  record Expose(String vmId, Exposure.Protocol protocol, int vmPort, int publicPort) implements Command {
    public Expose {
      Objects.requireNonNull(vmId, "vmId");
      Objects.requireNonNull(protocol, "protocol");
    }
  }

  /** Ends the forward to {@code vmPort} of the VM for {@code protocol}. */
  record Unexpose(String vmId, Exposure.Protocol protocol, int vmPort) implements Command {
    public Unexpose {
      Objects.requireNonNull(vmId, "vmId");
      Objects.requireNonNull(protocol, "protocol");
    }
  }

  /**
   * Gives a VM its own port of direct SSH on the edge (SPEC §12), chosen by the proposer right
   * after the VM was written; unique in the cluster, fixed once given.
   */
  record SetSshPort(String vmId, int port) implements Command {
    public SetSshPort {
      Objects.requireNonNull(vmId, "vmId");
    }
  }

  /**
   * Gives account {@code userId} the API key {@code keyId} named {@code name}, of which only the
   * secret's hash is kept (SPEC §7); it expires at {@code expiresAt} if given. Rejected for an
   * unknown account, a name that is no DNS label or held by another usable key of the account, an
   * expiry not after {@code at}, and when the account holds {@link ApiKey#MAX_PER_USER} keys that
   * are all usable at {@code at} (revoked and expired ones make room, oldest first).
   */
  record CreateApiKey(String keyId, String userId, String name, String secretSha256, Instant at, java.util.Optional<Instant> expiresAt)
      implements Command {
    public CreateApiKey {
      Objects.requireNonNull(keyId, "keyId");
      Objects.requireNonNull(userId, "userId");
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(secretSha256, "secretSha256");
      Objects.requireNonNull(at, "at");
      Objects.requireNonNull(expiresAt, "expiresAt");
    }

    @Override
    public String toString() {
      return "CreateApiKey[keyId=" + keyId + ", userId=" + userId + ", name=" + name + ", at=" + at + ", expiresAt="
          + expiresAt.orElse(null) + "]"; // never the hash
    }
  }

  /** Revokes API key {@code keyId} of account {@code userId} at {@code at}: its tokens stop working. */
  record RevokeApiKey(String keyId, String userId, Instant at) implements Command {
    public RevokeApiKey {
      Objects.requireNonNull(keyId, "keyId");
      Objects.requireNonNull(userId, "userId");
      Objects.requireNonNull(at, "at");
    }
  }

  /** Keeps the cluster's token signing key; the first one stays, a second is rejected (ALREADY_EXISTS). */
  record SetTokenSigningKey(TokenSigningKey key, Instant at) implements Command {
    public SetTokenSigningKey {
      Objects.requireNonNull(key, "key");
      Objects.requireNonNull(at, "at");
    }
  }
}
