package dev.boxd.worker.runtime;

import dev.boxd.vmm.agent.AgentClient.FileInfo;
import dev.boxd.vmm.agent.ExecRequest;
import dev.boxd.vmm.agent.ExecSession;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The worker's port to the VMs of one host, as the control plane uses it. Every VM is a QEMU
 * process of its own that outlives the supervisor; {@link #recover()} re-attaches after a restart.
 * Methods taking a VM id throw NOT_FOUND for an unknown id and FAILED_PRECONDITION for a VM in a
 * state where the operation makes no sense (exec into a stopped VM).
 */
public interface VmRuntime extends AutoCloseable {

  /** Whether the image named {@code name} ({@code boxd image import}) is on this host; the default image ("") always is. */
  boolean hasImage(String name);

  /** Creates a VM by restoring the golden and giving it its identity; returns once exec works. */
  VmInfo create(VmSpec spec);

  /**
   * Creates a VM as a running copy of {@code sourceVmId} on this host: its memory, disk and
   * processes, with {@code spec}'s identity (name, address, MAC, hostname, machine-id, host keys,
   * RNG, clock). Size and owner come from the source. The source pauses only briefly.
   */
  VmInfo fork(String sourceVmId, VmSpec spec);

  /**
   * Saves a running or paused VM's memory, devices and disk state into its directory and ends its
   * QEMU, freeing host RAM; {@link #resume} restores it with its processes intact.
   */
  VmInfo hibernate(String vmId);

  /**
   * Saves the VM (memory, devices, disk) as snapshot {@code snapshotId} on this worker, where it
   * stays until {@link #deleteSnapshot}; the VM pauses briefly and runs on. Returns the bytes
   * written. On failure (a full disk) nothing of the snapshot remains and the VM runs as before.
   */
  long saveSnapshot(String vmId, String snapshotId);

  /** Removes a snapshot's files (and disk layers nothing else needs); absent is fine. */
  void deleteSnapshot(String snapshotId);

  /** Creates a VM from a snapshot saved on this worker, with {@code spec}'s identity; size from the snapshot. */
  VmInfo createFromSnapshot(String snapshotId, VmSpec spec);

  /** What reached the VM from outside so far: frames and data-plane sessions (for idle detection). */
  InboundActivity inboundActivity(String vmId);

  /** What the VM exchanged with the internet so far, in bytes each way; from its making on, through worker restarts. */
  dev.boxd.core.net.EgressTraffic egressTraffic(String vmId);

  /**
   * Asks to hear of the first inbound frame for each VM that goes to sleep (standby or
   * hibernated), with the VM's id, on a thread that must not block; waking it is the caller's.
   */
  void onInboundWhileAsleep(java.util.function.Consumer<String> wake);

  /**
   * Freezes a running VM at once, ahead of the log (a user's pause: the log is told after); it is
   * marked {@link VmInfo#aheadOfLog} until {@link #aheadOfLogRecorded}. A VM in standby gives a
   * zero timing; empty for any other state (the caller goes through the log).
   */
  Optional<PauseTiming> pauseAheadOfLog(String vmId);

  /**
   * Continues a VM in standby at once, ahead of the log (a user's resume, inbound traffic); marked
   * as {@link #pauseAheadOfLog} is. A running VM gives a zero timing; empty for any other state (a
   * hibernated VM is woken through the log only: restoring it takes long anyway).
   */
  Optional<PauseTiming> resumeAheadOfLog(String vmId);

  /** The log now has the change made ahead of it (or refused it): the VM follows the log again. */
  void aheadOfLogRecorded(String vmId);

  /**
   * Re-attaches to every VM this worker's state directory knows; run once at start. What a crash
   * left half done is finished or undone: a VM still being made is removed (the reconciler makes
   * it again), a cold boot gets its identity, a restore that never got its memory is ended, an
   * unfinished snapshot save is deleted, and files no VM or snapshot uses are swept.
   */
  List<VmInfo> recover();

  /** Ids of the snapshots saved completely on this worker. */
  List<String> snapshotIds();

  VmInfo info(String vmId);

  List<VmInfo> list();

  /** Starts a command in the guest; output flows to the sinks, exit code via the session. */
  ExecSession exec(String vmId, ExecRequest request, OutputStream stdout, OutputStream stderr);

  /** Streams a file into the guest ({@code path} relative to /home/boxd unless absolute). */
  long upload(String vmId, String path, int mode, InputStream data);

  /** Streams a guest file out. */
  FileInfo download(String vmId, String path, OutputStream sink);

  /** Copies a local directory tree into the guest (modes kept, owned by boxd). */
  void uploadTree(String vmId, Path localDir, String remoteDir);

  /** Copies a guest directory tree to a local directory. */
  void downloadTree(String vmId, String remoteDir, Path localDir);

  /**
   * A TCP connection to {@code port} of the VM, made from where the VM network is reachable (the
   * VM's network namespace). It does not wake a VM in standby. Throws an {@link IOException} when
   * nothing answers now (the guest's server is not up yet: worth retrying).
   */
  SocketChannel connect(String vmId, int port, Duration timeout) throws IOException;

  /**
   * A UDP socket connected to {@code port} of the VM, made where the VM network is reachable:
   * what is written to it reaches the VM from the namespace's side, and the VM's replies are read
   * from it. It does not wake a VM in standby.
   */
  java.nio.channels.DatagramChannel datagram(String vmId, int port) throws IOException;

  /** The public SSH host key the VM's sshd presents, in authorized_keys form ({@code ssh-ed25519 AAAA... comment}). */
  String sshHostKey(String vmId);

  /** Freezes the VM in RAM (QMP stop): state standby. */
  PauseTiming pause(String vmId);

  /** Continues a frozen VM, or restores a hibernated one, and sets its clock. */
  PauseTiming resume(String vmId);

  /** Powers the VM off keeping its disk: the guest shuts down, then QEMU is killed if it lingers. */
  void stop(String vmId);

  /** Cold-boots a stopped VM from its disk. */
  VmInfo start(String vmId);

  /** Cold restart: memory lost, disk kept. */
  VmInfo reboot(String vmId);

  /** Removes the VM: its process, tap, rules, disk and files. */
  void destroy(String vmId);

  /** Observed-state changes (failed, stopped, running, ...), delivered on a runtime thread. */
  void observe(Consumer<VmEvent> listener);

  /** Drops connections to the VMs; the VMs keep running. */
  @Override
  void close();
}
