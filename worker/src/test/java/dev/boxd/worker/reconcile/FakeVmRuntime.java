package dev.boxd.worker.reconcile;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.net.Ipv4;
import dev.boxd.vmm.agent.AgentClient.FileInfo;
import dev.boxd.vmm.agent.ExecRequest;
import dev.boxd.vmm.agent.ExecSession;
import dev.boxd.worker.runtime.InboundActivity;
import dev.boxd.worker.runtime.PauseTiming;
import dev.boxd.worker.runtime.VmEvent;
import dev.boxd.worker.runtime.VmInfo;
import dev.boxd.worker.runtime.VmRuntime;
import dev.boxd.worker.runtime.VmSpec;
import dev.boxd.worker.runtime.VmState;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * A VM runtime as a table of states, for unit tests of the reconciler's logic: each lifecycle call
 * moves a VM's state at once and is recorded ({@code "create vm1"}); {@link #fail} makes every
 * call of one kind throw with a reason (every, not the next: the reconciler's background passes
 * and a test's own pass may race for it). Guest I/O is not part of these tests.
 */
final class FakeVmRuntime implements VmRuntime {
  final List<String> calls = new CopyOnWriteArrayList<>();
  /** What each VM was made with (create, fork, restore), by id. */
  final Map<String, VmSpec> specs = new ConcurrentHashMap<>();
  private final Map<String, VmInfo> vms = new ConcurrentHashMap<>();
  private final Map<String, String> failures = new ConcurrentHashMap<>();
  private final List<Consumer<VmEvent>> listeners = new CopyOnWriteArrayList<>();
  private final Map<String, InboundActivity> activity = new ConcurrentHashMap<>();
  private volatile Consumer<String> wakeHandler = vmId -> {};

  /** A VM this host already runs, as if found by {@link #recover()}. */
  FakeVmRuntime running(String vmId) {
    vms.put(vmId, info(vmId, VmState.RUNNING));
    return this;
  }

  /** Calls named {@code operation} ("create", "stop", ...) fail with {@code reason} from now on. */
  void fail(String operation, String reason) {
    failures.put(operation, reason);
  }

  Optional<VmState> state(String vmId) {
    return Optional.ofNullable(vms.get(vmId)).map(VmInfo::state);
  }

  private static VmInfo info(String vmId, VmState state) {
    return new VmInfo(vmId, "name-" + vmId, "u1", state, Ipv4.parse("10.77.0.9"), "02:00:00:00:00:09", 4242, Optional.empty());
  }

  private VmInfo move(String operation, String vmId, VmState to) {
    calls.add(operation + " " + vmId);
    String reason = failures.get(operation);
    if (reason != null) {
      throw new BoxdException(ErrorCode.INTERNAL, reason);
    }
    VmInfo moved = info(vmId, to);
    vms.put(vmId, moved);
    return moved;
  }

  private VmInfo existing(String vmId) {
    VmInfo vm = vms.get(vmId);
    if (vm == null) {
      throw BoxdException.notFound("no VM " + vmId + " on this host");
    }
    return vm;
  }

  @Override
  public boolean hasImage(String name) {
    return name.isEmpty();
  }

  @Override
  public VmInfo create(VmSpec spec) {
    specs.put(spec.id(), spec);
    return move("create", spec.id(), VmState.RUNNING);
  }

  @Override
  public VmInfo fork(String sourceVmId, VmSpec spec) {
    existing(sourceVmId);
    specs.put(spec.id(), spec);
    return move("fork", spec.id(), VmState.RUNNING);
  }

  @Override
  public VmInfo createFromSnapshot(String snapshotId, VmSpec spec) {
    specs.put(spec.id(), spec);
    return move("restore", spec.id(), VmState.RUNNING);
  }

  @Override
  public VmInfo hibernate(String vmId) {
    existing(vmId);
    return move("hibernate", vmId, VmState.HIBERNATED);
  }

  @Override
  public PauseTiming pause(String vmId) {
    existing(vmId);
    move("pause", vmId, VmState.STANDBY);
    return new PauseTiming(120);
  }

  @Override
  public PauseTiming resume(String vmId) {
    existing(vmId);
    move("resume", vmId, VmState.RUNNING);
    return new PauseTiming(80);
  }

  @Override
  public void stop(String vmId) {
    existing(vmId);
    move("stop", vmId, VmState.STOPPED);
  }

  @Override
  public VmInfo start(String vmId) {
    existing(vmId);
    return move("start", vmId, VmState.RUNNING);
  }

  @Override
  public VmInfo reboot(String vmId) {
    existing(vmId);
    return move("reboot", vmId, VmState.RUNNING);
  }

  @Override
  public void destroy(String vmId) {
    existing(vmId);
    move("destroy", vmId, VmState.DESTROYING);
    vms.remove(vmId);
  }

  @Override
  public VmInfo info(String vmId) {
    return existing(vmId);
  }

  @Override
  public List<VmInfo> list() {
    return vms.values().stream().sorted(Comparator.comparing(VmInfo::id)).toList();
  }

  @Override
  public List<VmInfo> recover() {
    return list();
  }

  @Override
  public List<String> snapshotIds() {
    return List.of();
  }

  @Override
  public void observe(Consumer<VmEvent> listener) {
    listeners.add(listener);
  }

  /** Tells the reconciler that {@code vmId} changed by itself (a crash, say). */
  void crashed(String vmId, String reason) {
    vms.put(vmId, new VmInfo(vmId, "name-" + vmId, "u1", VmState.FAILED, Ipv4.parse("10.77.0.9"), "02:00:00:00:00:09", 0,
        Optional.of(reason)));
    new ArrayList<>(listeners).forEach(l -> l.accept(new VmEvent(vmId, VmState.FAILED, Optional.of(reason))));
  }

  @Override
  public long saveSnapshot(String vmId, String snapshotId) {
    throw unsupported();
  }

  @Override
  public void deleteSnapshot(String snapshotId) {
    throw unsupported();
  }

  /** One more inbound frame for {@code vmId}, as its tap would count it. */
  void frameArrived(String vmId) {
    activity.merge(vmId, new InboundActivity(1, 0, 0), (a, b) -> new InboundActivity(a.frames() + 1, a.sessionsStarted(), a.sessionsOpen()));
  }

  /** A frame for a sleeping VM, as the tap sees it: the idle watch's wake handler runs. */
  void frameWhileAsleep(String vmId) {
    wakeHandler.accept(vmId);
  }

  @Override
  public dev.boxd.core.net.EgressTraffic egressTraffic(String vmId) {
    existing(vmId);
    return dev.boxd.core.net.EgressTraffic.NONE;
  }

  @Override
  public InboundActivity inboundActivity(String vmId) {
    existing(vmId);
    return activity.getOrDefault(vmId, new InboundActivity(0, 0, 0));
  }

  @Override
  public void onInboundWhileAsleep(Consumer<String> wake) {
    wakeHandler = wake;
  }

  // Like the real runtime: a VM in standby is resumed at once, ahead of the log; a running one
  // needs nothing; others are not.
  @Override
  public Optional<PauseTiming> resumeAheadOfLog(String vmId) {
    calls.add("resumeAheadOfLog " + vmId);
    VmInfo vm = existing(vmId);
    if (vm.state() == VmState.RUNNING) {
      return Optional.of(new PauseTiming(0));
    }
    if (vm.state() != VmState.STANDBY) {
      return Optional.empty();
    }
    markAheadOfLog(vmId, VmState.RUNNING);
    return Optional.of(new PauseTiming(80));
  }

  @Override
  public Optional<PauseTiming> pauseAheadOfLog(String vmId) {
    calls.add("pauseAheadOfLog " + vmId);
    VmInfo vm = existing(vmId);
    if (vm.state() == VmState.STANDBY) {
      return Optional.of(new PauseTiming(0));
    }
    if (vm.state() != VmState.RUNNING) {
      return Optional.empty();
    }
    markAheadOfLog(vmId, VmState.STANDBY);
    return Optional.of(new PauseTiming(120));
  }

  private void markAheadOfLog(String vmId, VmState state) {
    VmInfo moved = info(vmId, state);
    vms.put(vmId, new VmInfo(vmId, moved.name(), moved.owner(), state, moved.ip(), moved.mac(), moved.pid(), Optional.empty(), true));
  }

  @Override
  public void aheadOfLogRecorded(String vmId) {
    calls.add("aheadOfLogRecorded " + vmId);
    vms.computeIfPresent(vmId, (id, vm) -> info(id, vm.state()));
  }

  @Override
  public ExecSession exec(String vmId, ExecRequest request, OutputStream stdout, OutputStream stderr) {
    throw unsupported();
  }

  @Override
  public long upload(String vmId, String path, int mode, InputStream data) {
    throw unsupported();
  }

  @Override
  public FileInfo download(String vmId, String path, OutputStream sink) {
    throw unsupported();
  }

  @Override
  public void uploadTree(String vmId, Path localDir, String remoteDir) {
    throw unsupported();
  }

  @Override
  public void downloadTree(String vmId, String remoteDir, Path localDir) {
    throw unsupported();
  }

  @Override
  public SocketChannel connect(String vmId, int port, Duration timeout) {
    throw unsupported();
  }

  @Override
  public java.nio.channels.DatagramChannel datagram(String vmId, int port) {
    throw unsupported();
  }

  @Override
  public String sshHostKey(String vmId) {
    throw unsupported();
  }

  @Override
  public void close() {}

  private static BoxdException unsupported() {
    return BoxdException.precondition("guest I/O is not part of the reconciler's unit tests");
  }
}
