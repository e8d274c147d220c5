package dev.boxd.api.grpc;

import dev.boxd.core.BoxdException;
import dev.boxd.verbs.Operations;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Operations whose VMs are entries in a table and whose exec runs the command in a local shell
 * (killed when the call is interrupted, as the guest's process group is): enough of a server for
 * a client's lifecycle script to run end to end over the real transport, without VMs.
 */
class LocalShellOperations implements Operations {
  private final Map<String, VmView> vms = new ConcurrentHashMap<>();
  private final Map<String, Integer> forwards = new ConcurrentHashMap<>();
  private final AtomicInteger ids = new AtomicInteger();

  private VmView view(String id, String name, String status) {
    return new VmView(id, name, status, "10.0.0.2", "127.0.0.1", "debian-12", "https://" + name + ".boxd.test", 42, 1, 1024, 100,
        "2026-01-01T00:00:00Z", 30);
  }

  private VmView find(String vm) {
    VmView byId = vms.get(vm);
    if (byId != null) {
      return byId;
    }
    return vms.values().stream().filter(v -> v.name().equals(vm)).findFirst()
        .orElseThrow(() -> BoxdException.notFound("VM '" + vm + "' not found"));
  }

  private VmView setStatus(String vm, String status) {
    VmView v = find(vm);
    VmView changed = view(v.id(), v.name(), status);
    vms.put(v.id(), changed);
    return changed;
  }

  @Override
  public VmView create(NewRequest request) {
    String id = "vm" + ids.incrementAndGet() + "x7k2";
    VmView v = view(id, request.name().orElse("gen-" + id), "running");
    vms.put(id, v);
    return v;
  }

  @Override
  public List<VmView> list() {
    return List.copyOf(vms.values());
  }

  @Override
  public VmView info(String vm) {
    return find(vm);
  }

  @Override
  public int exec(String vm, ExecSpec spec, InputStream stdin, OutputStream stdout, OutputStream stderr) {
    if (!find(vm).status().equals("running")) {
      throw BoxdException.precondition("VM '" + vm + "' is not running");
    }
    Process process;
    try {
      process = new ProcessBuilder("sh", "-c", spec.command()).start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Thread in = Thread.ofVirtual().start(() -> {
      try (OutputStream toProcess = process.getOutputStream()) {
        stdin.transferTo(toProcess);
      } catch (IOException e) {
        // the command ended or the caller went: either way its stdin is done
      }
    });
    Thread out = Thread.ofVirtual().start(() -> pump(process.getInputStream(), stdout));
    Thread err = Thread.ofVirtual().start(() -> pump(process.getErrorStream(), stderr));
    try {
      int exit = process.waitFor();
      out.join();
      err.join();
      return exit;
    } catch (InterruptedException e) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new UncheckedIOException(new InterruptedIOException("the caller gave up: the command was killed"));
    } finally {
      in.interrupt();
    }
  }

  private static void pump(InputStream from, OutputStream to) {
    try {
      byte[] buffer = new byte[8192];
      int n;
      while ((n = from.read(buffer)) >= 0) {
        to.write(buffer, 0, n);
        to.flush();
      }
    } catch (IOException e) {
      // the caller is gone; the command is killed by the interrupt
    }
  }

  @Override
  public VmView stop(String vm) {
    return setStatus(vm, "stopped");
  }

  @Override
  public VmView start(String vm) {
    return setStatus(vm, "running");
  }

  @Override
  public VmView reboot(String vm) {
    return setStatus(vm, "running");
  }

  @Override
  public void destroy(String vm) {
    vms.remove(find(vm).id());
  }

  @Override
  public ExposeView expose(String vm, String protocol, int vmPort) {
    VmView v = find(vm);
    int publicPort = forwards.computeIfAbsent(v.id() + "/" + protocol + "/" + vmPort, k -> 40000 + forwards.size());
    return new ExposeView(v.id(), v.name(), v.name() + ".boxd.test", "127.0.0.1", vmPort, protocol, publicPort);
  }

  @Override
  public Whoami whoami() {
    return new Whoami(InProcessApi.USER, "tester", List.of());
  }

  private static BoxdException notHere(String what) {
    return BoxdException.precondition(what + " is not part of this test");
  }

  @Override
  public SnapshotView saveSnapshot(String vm, String name) {
    throw notHere("snapshot");
  }

  @Override
  public List<SnapshotView> snapshots() {
    throw notHere("snapshot");
  }

  @Override
  public void removeSnapshot(String name) {
    throw notHere("snapshot");
  }

  @Override
  public ForkView fork(String source, Optional<String> name, Optional<Integer> autoSuspendSecs) {
    throw notHere("fork");
  }

  @Override
  public long upload(String vm, String path, int mode, InputStream data) {
    throw notHere("upload");
  }

  @Override
  public long download(String vm, String path, OutputStream sink) {
    throw notHere("download");
  }

  @Override
  public long copy(String srcVm, String srcPath, String dstVm, String dstPath) {
    throw notHere("copy");
  }

  @Override
  public long pause(String vm) {
    throw notHere("pause");
  }

  @Override
  public long resume(String vm) {
    throw notHere("resume");
  }

  @Override
  public VmView hibernate(String vm) {
    throw notHere("hibernate");
  }

  @Override
  public VmView setAutoSuspend(String vm, int seconds) {
    throw notHere("auto-suspend");
  }
}
