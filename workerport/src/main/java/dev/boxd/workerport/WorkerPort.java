package dev.boxd.workerport;

import dev.boxd.core.net.EgressTraffic;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.OptionalLong;

/**
 * How the control plane and the front doors reach one worker for what is not desired state. What
 * a VM should be (its existence, power, snapshots) is always written to the log, and the worker
 * makes it so on its own; through this port a caller only moves data to and from a VM, opens a
 * connection to it, or asks the worker to act on the log at once so the caller can wait for the
 * result. The worker implements it in-process; a cluster adds a remote implementation.
 *
 * <p>Methods taking a VM id throw a {@link dev.boxd.core.BoxdException}: NOT_FOUND for a VM the
 * worker does not run, FAILED_PRECONDITION for a VM in a state where the operation makes no sense
 * (exec into a stopped VM).
 */
public interface WorkerPort {

  /** Starts a command in the guest; output flows to the sinks, the exit code via the process. */
  GuestProcess exec(String vmId, GuestCommand command, OutputStream stdout, OutputStream stderr);

  /** Streams a file into the guest ({@code path} relative to /home/boxd unless absolute); returns its size. */
  long upload(String vmId, String path, int mode, InputStream data);

  /** Streams a guest file out; returns its size. */
  long download(String vmId, String path, OutputStream sink);

  /**
   * A TCP connection to {@code port} of the VM, made from where the VM network is reachable. It
   * does not wake a sleeping VM ({@link #wake} does). Throws an {@link IOException} when nothing
   * answers now (the guest's server is not up yet: worth retrying).
   */
  SocketChannel connect(String vmId, int port, Duration timeout) throws IOException;

  /**
   * A UDP socket connected to {@code port} of the VM, made from where the VM network is reachable
   * (the relay of an exposed UDP port): datagrams written to it reach the VM, its replies are read
   * from it. Like {@link #connect} it does not wake a sleeping VM. A worker that cannot relay UDP
   * says so with FAILED_PRECONDITION.
   */
  default java.nio.channels.DatagramChannel datagram(String vmId, int port) throws IOException {
    throw dev.boxd.core.BoxdException.precondition("this worker does not relay UDP");
  }

  /** The public SSH host key the VM's sshd presents, in authorized_keys form. */
  String sshHostKey(String vmId);

  /** Reconciles {@code vmId} once the worker's replica has applied {@code index}: how a caller waits for the log's word to be carried out. */
  Reconciled reconcileNow(String vmId, long index);

  /** Makes the worker's snapshots match the log once its replica has applied {@code index} (removed ones are deleted). */
  void reconcileSnapshotsNow(long index);

  /**
   * Freezes a running VM now, ahead of the log, and returns the VMM's time for it in microseconds
   * (0 if it was frozen already); empty if it is neither running nor frozen, and the caller goes
   * through the log instead. The worker leaves the VM as it is until {@link #recorded}.
   */
  OptionalLong pauseAheadOfLog(String vmId);

  /**
   * Continues a frozen VM now, ahead of the log, and returns the VMM's time for it in microseconds;
   * empty if it was not frozen (a hibernated VM is restored through the log: that takes a restore
   * anyway). The worker leaves the VM as it is until {@link #recorded}.
   */
  OptionalLong resumeAheadOfLog(String vmId);

  /** The log now has (or refused) the power change made ahead of it: the worker follows the log again. */
  void recorded(String vmId);

  /**
   * What the VM exchanged with the internet through this worker's uplink so far, in bytes each
   * way: counted from its making on (a worker restart keeps the counts), gone with the VM.
   */
  EgressTraffic egressTraffic(String vmId);

  /** Inbound traffic for a VM that may be asleep: returns once it is awake (resumed, or restored from hibernation). */
  void wake(String vmId);

  /**
   * Whether this worker holds the image named {@code name} ({@code boxd image import} on its
   * host), so that a VM of it can be made here. Images are files of a host, not log state: the
   * proposer asks before it writes the VM.
   */
  boolean hasImage(String name);
}
