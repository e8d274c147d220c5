package dev.boxd.verbs;

import dev.boxd.core.BoxdException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Operations that record what the verbs asked for and answer from a map of VMs. */
class RecordingOperations implements Operations {
  final List<String> calls = new ArrayList<>();
  final Map<String, VmView> vms = new ConcurrentHashMap<>();
  NewRequest lastNew;
  ExecSpec lastExec;
  byte[] uploaded;
  int uploadedMode;
  byte[] fileToDownload = new byte[0];
  ExecBody execBody = (spec, in, out, err) -> 0;

  interface ExecBody {
    int run(ExecSpec spec, InputStream in, OutputStream out, OutputStream err) throws IOException;
  }

  RecordingOperations with(String name, String status) {
    vms.put(name, vm(name, status));
    return this;
  }

  static VmView vm(String name, String status) {
    return new VmView("id-" + name, name, status, "10.0.0.2", null, "debian-12", "https://" + name + ".boxd.test", 52, 2, 1024,
        100, "2026-01-01T00:00:00Z", 30);
  }

  private VmView existing(String vm) {
    var v = vms.get(vm);
    if (v == null) {
      throw BoxdException.notFound("no VM named \"" + vm + "\"");
    }
    return v;
  }

  @Override
  public VmView create(NewRequest request) {
    calls.add("create");
    lastNew = request;
    var v = vm(request.name().orElse("gen-1"), "running");
    vms.put(v.name(), v);
    return v;
  }

  @Override
  public List<VmView> list() {
    calls.add("list");
    return vms.values().stream().sorted((a, b) -> a.name().compareTo(b.name())).toList();
  }

  @Override
  public VmView info(String vm) {
    calls.add("info " + vm);
    return existing(vm);
  }

  @Override
  public int exec(String vm, ExecSpec spec, InputStream stdin, OutputStream stdout, OutputStream stderr) {
    calls.add("exec " + vm);
    existing(vm);
    lastExec = spec;
    try {
      return execBody.run(spec, stdin, stdout, stderr);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public long upload(String vm, String path, int mode, InputStream data) {
    calls.add("upload " + vm + ":" + path);
    existing(vm);
    try {
      uploaded = data.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    uploadedMode = mode;
    return uploaded.length;
  }

  @Override
  public long download(String vm, String path, OutputStream sink) {
    calls.add("download " + vm + ":" + path);
    existing(vm);
    try {
      sink.write(fileToDownload);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return fileToDownload.length;
  }

  @Override
  public SnapshotView saveSnapshot(String vm, String name) {
    throw dev.boxd.core.BoxdException.precondition("snapshots are not part of this test");
  }

  @Override
  public java.util.List<SnapshotView> snapshots() {
    throw dev.boxd.core.BoxdException.precondition("snapshots are not part of this test");
  }

  @Override
  public void removeSnapshot(String name) {
    throw dev.boxd.core.BoxdException.precondition("snapshots are not part of this test");
  }

  @Override
  public VmView hibernate(String vm) {
    throw dev.boxd.core.BoxdException.precondition("hibernate is not part of this test");
  }

  @Override
  public VmView setAutoSuspend(String vm, int seconds) {
    throw dev.boxd.core.BoxdException.precondition("auto-suspend is not part of this test");
  }

  @Override
  public ForkView fork(String source, java.util.Optional<String> name, java.util.Optional<Integer> autoSuspendSecs) {
    throw dev.boxd.core.BoxdException.precondition("fork is not part of this test");
  }

  @Override
  public long copy(String srcVm, String srcPath, String dstVm, String dstPath) {
    calls.add("copy " + srcVm + ":" + srcPath + " " + dstVm + ":" + dstPath);
    existing(srcVm);
    existing(dstVm);
    return fileToDownload.length;
  }

  @Override
  public long pause(String vm) {
    calls.add("pause " + vm);
    existing(vm);
    return 712;
  }

  @Override
  public long resume(String vm) {
    calls.add("resume " + vm);
    existing(vm);
    return 43;
  }

  @Override
  public VmView reboot(String vm) {
    calls.add("reboot " + vm);
    return existing(vm);
  }

  @Override
  public VmView stop(String vm) {
    calls.add("stop " + vm);
    existing(vm);
    var v = vm(vm, "stopped");
    vms.put(vm, v);
    return v;
  }

  @Override
  public VmView start(String vm) {
    calls.add("start " + vm);
    existing(vm);
    var v = vm(vm, "running");
    vms.put(vm, v);
    return v;
  }

  @Override
  public void destroy(String vm) {
    calls.add("destroy " + vm);
    existing(vm);
    vms.remove(vm);
  }

  @Override
  public SshConfig sshConfig() {
    calls.add("sshConfig");
    return new SshConfig("boxd-vms.boxd.test", "ssh-ed25519 AAAAgateway",
        vms.values().stream().sorted((a, b) -> a.name().compareTo(b.name()))
            .map(v -> new SshHost(v.name() + ".boxd.test", v.name(), "127.77.0.2", 22, "boxd")).toList());
  }

  @Override
  public Whoami whoami() {
    calls.add("whoami");
    return new Whoami("u-1", "alice", List.of("SHA256:abc"));
  }

  static byte[] bytes(ByteArrayOutputStream out) {
    return out.toByteArray();
  }
}
