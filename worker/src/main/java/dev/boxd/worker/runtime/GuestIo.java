package dev.boxd.worker.runtime;

import static dev.boxd.worker.runtime.VmQemu.AGENT_TIMEOUT;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.net.HostNetwork;
import dev.boxd.vmm.QemuVm;
import dev.boxd.vmm.agent.AgentClient;
import dev.boxd.vmm.agent.AgentClient.FileInfo;
import dev.boxd.vmm.agent.AgentException;
import dev.boxd.vmm.agent.ExecRequest;
import dev.boxd.vmm.agent.ExecSession;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * What goes into and out of a running guest: commands, files and trees through its agent, TCP
 * connections from the VM network, its SSH host key. A VM in standby is resumed for the agent
 * (not for a connection); each use counts as a session, the inbound activity that keeps a VM
 * awake.
 */
final class GuestIo {
  private final VmTable vms;
  private final SleepAndWake sleep;
  private final HostNetwork network;

  GuestIo(VmTable vms, SleepAndWake sleep, HostNetwork network) {
    this.vms = vms;
    this.sleep = sleep;
    this.network = network;
  }

  // The agent of a running VM; one in standby is resumed first, for the agent answers only then.
  private AgentClient agentOf(ManagedVm vm) {
    VmState state = vm.state;
    if (state != VmState.RUNNING && state != VmState.STANDBY) {
      throw BoxdException.precondition("VM " + vm.record.name() + " is " + state.label() + ", not running");
    }
    QemuVm qemu = vm.qemu;
    if (state == VmState.STANDBY) {
      sleep.resume(vm.record.id());
    }
    return qemu.agent(AGENT_TIMEOUT);
  }

  /** {@link VmRuntime#exec}: a session until the command exits. */
  ExecSession exec(String vmId, ExecRequest request, OutputStream stdout, OutputStream stderr) {
    ManagedVm vm = vms.get(vmId);
    var session = vm.session();
    try {
      ExecSession exec = agentOf(vm).exec(request, stdout, stderr);
      exec.exitCode().whenComplete((code, error) -> session.close());
      return exec;
    } catch (RuntimeException e) {
      session.close();
      throw e;
    }
  }

  /** {@link VmRuntime#upload}: the file is owned by boxd; the agent's errno decides the error code. */
  long upload(String vmId, String path, int mode, InputStream data) {
    requirePath(path);
    ManagedVm vm = vms.get(vmId);
    try (var session = vm.session()) {
      return agentOf(vm).put(path, mode, "boxd", true, data);
    } catch (AgentException e) {
      throw fileError(e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@link VmRuntime#download}. */
  FileInfo download(String vmId, String path, OutputStream sink) {
    requirePath(path);
    ManagedVm vm = vms.get(vmId);
    try (var session = vm.session()) {
      return agentOf(vm).get(path, "boxd", sink);
    } catch (AgentException e) {
      throw fileError(e);
    }
  }

  private static void requirePath(String path) {
    if (path == null || path.isEmpty() || path.indexOf('\0') >= 0) {
      throw BoxdException.invalid("invalid guest path " + dev.boxd.core.Names.quote(path) + ": expected a non-empty path without NUL bytes");
    }
  }

  // The agent's message names the path and the reason; its errno decides the code.
  private static BoxdException fileError(AgentException e) {
    ErrorCode code = switch (e.errno()) {
      case AgentException.ENOENT -> ErrorCode.NOT_FOUND;
      case AgentException.EACCES, AgentException.EPERM -> ErrorCode.PERMISSION_DENIED;
      case AgentException.EISDIR, AgentException.ENOTDIR, AgentException.EINVAL -> ErrorCode.INVALID_ARGUMENT;
      case AgentException.ENOSPC -> ErrorCode.RESOURCE_EXHAUSTED;
      default -> ErrorCode.INTERNAL;
    };
    return new BoxdException(code, e.getMessage(), e);
  }

  /** {@link VmRuntime#uploadTree}. */
  void uploadTree(String vmId, Path localDir, String remoteDir) {
    requirePath(remoteDir);
    if (!Files.isDirectory(localDir)) {
      throw BoxdException.invalid("not a directory: " + localDir);
    }
    TreeCopy.upload(agentOf(vms.get(vmId)), localDir, remoteDir);
  }

  /** {@link VmRuntime#downloadTree}. */
  void downloadTree(String vmId, String remoteDir, Path localDir) {
    requirePath(remoteDir);
    TreeCopy.download(agentOf(vms.get(vmId)), remoteDir, localDir);
  }

  /** {@link VmRuntime#datagram}: from the VM network's namespace, without waking a VM in standby. */
  java.nio.channels.DatagramChannel datagram(String vmId, int port) throws IOException {
    ManagedVm vm = vms.get(vmId);
    VmState state = vm.state;
    if (state != VmState.RUNNING && state != VmState.STANDBY) {
      throw BoxdException.precondition("VM " + vm.record.name() + " is " + state.label() + ", not running");
    }
    return network.namespace().datagram(new InetSocketAddress(InetAddress.getByName(vm.record.ip()), port));
  }

  /** {@link VmRuntime#connect}: from the VM network's namespace, without waking a VM in standby. */
  SocketChannel connect(String vmId, int port, Duration timeout) throws IOException {
    ManagedVm vm = vms.get(vmId);
    VmState state = vm.state;
    if (state != VmState.RUNNING && state != VmState.STANDBY) {
      throw BoxdException.precondition("VM " + vm.record.name() + " is " + state.label() + ", not running");
    }
    var target = new InetSocketAddress(InetAddress.getByName(vm.record.ip()), port);
    vm.session().close(); // a connection's traffic then counts as frames
    return network.namespace().connect(target, timeout);
  }

  /** {@link VmRuntime#sshHostKey}, from the VM's directory. */
  String sshHostKey(String vmId) {
    ManagedVm vm = vms.get(vmId);
    try {
      return Files.readString(vm.files.hostKeyPub()).strip();
    } catch (IOException e) {
      throw new BoxdException(ErrorCode.INTERNAL, "cannot read the SSH host key of VM " + vm.record.name() + ": " + e.getMessage(), e);
    }
  }
}
