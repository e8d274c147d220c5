package dev.boxd.core.state;

import dev.boxd.core.net.Ipv4;
import java.time.Instant;
import java.util.Objects;

/**
 * One VM: its spec and placement (fixed at creation), the desired power state and reboot counter
 * (written by the control plane), and the observed state (written only by {@code workerId}).
 * {@code ip} is its private address, unique in the cluster; {@code publicIp} is the proxy address
 * it is reached at, shared across owners but unique among one owner's VMs (SPEC §6).
 * {@code forkedFrom} is the id of the VM it was forked from, empty for a VM made from the image.
 * {@code autoSuspendSecs}: seconds without inbound traffic before its worker puts it to standby
 * (0: never). {@code fromSnapshot} is the id of the snapshot it was started from, or empty.
 * {@code sshPort}: its own port of direct SSH on the edge (SPEC §12, {@link #MIN_SSH_PORT} to
 * {@link #MAX_SSH_PORT}), unique in the cluster; 0 for a VM made before VMs had one.
 * {@code image} is the name of the image it was made from ({@code new --image=NAME}, inherited by
 * forks), empty for the default image (as every VM of a log from before images had names).
 * {@code isolated} (SPEC §12): the VM reaches no other VM and no other VM reaches it, and the in-VM
 * CLI is refused it; fixed at creation, inherited by its forks and by VMs from its snapshots.
 */
public record Vm(
    String id,
    String ownerId,
    String name,
    int vcpus,
    long memoryMib,
    long diskGb,
    Ipv4 ip,
    Ipv4 publicIp,
    String workerId,
    Instant createdAt,
    DesiredPower desired,
    long rebootSeq,
    VmObserved observed,
    String forkedFrom,
    int autoSuspendSecs,
    String fromSnapshot,
    int sshPort,
    String image,
    boolean isolated) {

  public static final int MIN_SSH_PORT = 10000;
  public static final int MAX_SSH_PORT = 30000;

  /** Seconds without inbound traffic before a VM goes to standby, unless set otherwise (SPEC §4). */
  public static final int DEFAULT_AUTO_SUSPEND_SECS = 30;

  public Vm {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(ownerId, "ownerId");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(ip, "ip");
    Objects.requireNonNull(publicIp, "publicIp");
    Objects.requireNonNull(workerId, "workerId");
    Objects.requireNonNull(createdAt, "createdAt");
    Objects.requireNonNull(desired, "desired");
    Objects.requireNonNull(observed, "observed");
    Objects.requireNonNull(forkedFrom, "forkedFrom");
    Objects.requireNonNull(fromSnapshot, "fromSnapshot");
    Objects.requireNonNull(image, "image");
  }

  /** A VM that is not isolated (as every VM was before VMs could be). */
  public Vm(String id, String ownerId, String name, int vcpus, long memoryMib, long diskGb, Ipv4 ip, Ipv4 publicIp, String workerId,
      Instant createdAt, DesiredPower desired, long rebootSeq, VmObserved observed, String forkedFrom, int autoSuspendSecs,
      String fromSnapshot, int sshPort, String image) {
    this(id, ownerId, name, vcpus, memoryMib, diskGb, ip, publicIp, workerId, createdAt, desired, rebootSeq, observed, forkedFrom,
        autoSuspendSecs, fromSnapshot, sshPort, image, false);
  }

  /** A VM of the default image without a port of its own for direct SSH (as VMs were before either). */
  public Vm(String id, String ownerId, String name, int vcpus, long memoryMib, long diskGb, Ipv4 ip, Ipv4 publicIp, String workerId,
      Instant createdAt, DesiredPower desired, long rebootSeq, VmObserved observed, String forkedFrom, int autoSuspendSecs,
      String fromSnapshot) {
    this(id, ownerId, name, vcpus, memoryMib, diskGb, ip, publicIp, workerId, createdAt, desired, rebootSeq, observed, forkedFrom,
        autoSuspendSecs, fromSnapshot, 0, "");
  }

  /** A VM of the default image. */
  public Vm(String id, String ownerId, String name, int vcpus, long memoryMib, long diskGb, Ipv4 ip, Ipv4 publicIp, String workerId,
      Instant createdAt, DesiredPower desired, long rebootSeq, VmObserved observed, String forkedFrom, int autoSuspendSecs,
      String fromSnapshot, int sshPort) {
    this(id, ownerId, name, vcpus, memoryMib, diskGb, ip, publicIp, workerId, createdAt, desired, rebootSeq, observed, forkedFrom,
        autoSuspendSecs, fromSnapshot, sshPort, "");
  }

  /** A VM without a port of its own for direct SSH. */
  public Vm(String id, String ownerId, String name, int vcpus, long memoryMib, long diskGb, Ipv4 ip, Ipv4 publicIp, String workerId,
      Instant createdAt, DesiredPower desired, long rebootSeq, VmObserved observed, String forkedFrom, int autoSuspendSecs,
      String fromSnapshot, String image) {
    this(id, ownerId, name, vcpus, memoryMib, diskGb, ip, publicIp, workerId, createdAt, desired, rebootSeq, observed, forkedFrom,
        autoSuspendSecs, fromSnapshot, 0, image);
  }

  /** Whether it was made from the default image rather than a named one. */
  public boolean hasDefaultImage() {
    return image.isEmpty();
  }

  /** Whether the VM has a port of its own for direct SSH. */
  public boolean hasSshPort() {
    return sshPort != 0;
  }

  Vm withSshPort(int port) {
    return new Vm(id, ownerId, name, vcpus, memoryMib, diskGb, ip, publicIp, workerId, createdAt, desired, rebootSeq, observed, forkedFrom,
        autoSuspendSecs, fromSnapshot, port, image, isolated);
  }

  Vm withAutoSuspend(int seconds) {
    return new Vm(id, ownerId, name, vcpus, memoryMib, diskGb, ip, publicIp, workerId, createdAt, desired, rebootSeq, observed, forkedFrom,
        seconds, fromSnapshot, sshPort, image, isolated);
  }

  /** Whether this VM began from a saved snapshot (whose id {@link #fromSnapshot} holds). */
  public boolean isFromSnapshot() {
    return !fromSnapshot.isEmpty();
  }

  /** Whether this VM began as a copy of another (whose id {@link #forkedFrom} holds). */
  public boolean isFork() {
    return !forkedFrom.isEmpty();
  }

  Vm withDesired(DesiredPower newDesired) {
    return new Vm(id, ownerId, name, vcpus, memoryMib, diskGb, ip, publicIp, workerId, createdAt, newDesired, rebootSeq, observed,
        forkedFrom, autoSuspendSecs, fromSnapshot, sshPort, image, isolated);
  }

  Vm withReboot() {
    return new Vm(id, ownerId, name, vcpus, memoryMib, diskGb, ip, publicIp, workerId, createdAt, DesiredPower.RUNNING, rebootSeq + 1,
        observed, forkedFrom, autoSuspendSecs, fromSnapshot, sshPort, image, isolated);
  }

  Vm withObserved(VmObserved newObserved) {
    return new Vm(id, ownerId, name, vcpus, memoryMib, diskGb, ip, publicIp, workerId, createdAt, desired, rebootSeq, newObserved,
        forkedFrom, autoSuspendSecs, fromSnapshot, sshPort, image, isolated);
  }
}
