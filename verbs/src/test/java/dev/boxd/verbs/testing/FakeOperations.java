package dev.boxd.verbs.testing;

import dev.boxd.core.BoxdException;
import dev.boxd.verbs.Operations;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The one fake {@link Operations} for tests of what sits on top of it (the verbs, the SSH front
 * door, the in-VM gateway): it answers from a table of VMs and records every call as a line
 * ({@code "info app"}, {@code "upload app:path"}) in {@link #calls}. What differs between tests is
 * set on its {@link Builder}: how a VM looks, what "not found" says, the pause and resume timings,
 * and what exec, upload and download do. Verbs a test does not set up fail with
 * {@code FAILED_PRECONDITION} naming the verb, so a test that strays says so.
 *
 * <p>It lives in the verbs module's test jar, not in {@code testkit}: the verbs' own tests use it,
 * and {@code testkit} depending on {@code verbs} while {@code verbs}' tests depended on
 * {@code testkit} would be a cycle in the build.
 */
public class FakeOperations implements Operations {
  /** Every call, in order, as {@code "verb args"}. */
  public final List<String> calls = new CopyOnWriteArrayList<>();
  /** The VMs by name; tests may add, change and remove. */
  public final Map<String, VmView> vms = new ConcurrentHashMap<>();
  public volatile NewRequest lastNew;
  public volatile ExecSpec lastExec;

  private final Builder config;

  /** Runs a command: its exit code, or an exception as the real verb would throw. */
  @FunctionalInterface
  public interface ExecBody {
    int run(ExecSpec spec, InputStream stdin, OutputStream stdout, OutputStream stderr) throws IOException;
  }

  /** Takes an upload's bytes: the count stored. */
  @FunctionalInterface
  public interface UploadBody {
    long run(String vm, String path, int mode, InputStream data) throws IOException;
  }

  /** Sends a file's bytes: the count sent. */
  @FunctionalInterface
  public interface DownloadBody {
    long run(String vm, String path, OutputStream sink) throws IOException;
  }

  public static Builder builder() {
    return new Builder();
  }

  protected FakeOperations(Builder config) {
    this.config = config;
    config.vms.forEach((name, status) -> vms.put(name, config.vmView.apply(name, status)));
  }

  /** The canned answers; every setting has a default, so {@code builder().build()} is usable. */
  public static final class Builder {
    private final Map<String, String> vms = new LinkedHashMap<>();
    private BiFunction<String, String, VmView> vmView = (name, status) -> new VmView("id-" + name, name, status, "10.0.0.2", null,
        "debian-12", "https://" + name + ".boxd.test", 52, 2, 1024, 100, "2026-01-01T00:00:00Z", 30);
    private Function<String, String> notFound = vm -> "no VM named \"" + vm + "\"";
    private Optional<Function<String, VmView>> anyVm = Optional.empty();
    private String generatedName = "gen-1";
    private boolean detailedCalls;
    private long pauseMicros = 712;
    private long resumeMicros = 43;
    private boolean powerChangesStatus;
    private Optional<String> currentVm = Optional.empty();
    private Whoami whoami = new Whoami("u-1", "alice", List.of("SHA256:abc"));
    private ExecBody exec = (spec, in, out, err) -> 0;
    private UploadBody upload;
    private DownloadBody download;
    private Supplier<Long> copyResult = () -> 0L;
    private Function<FakeOperations, SshConfig> sshConfig;

    private Builder() {}

    /** A VM in the table from the start. */
    public Builder vm(String name, String status) {
      vms.put(name, status);
      return this;
    }

    /** How a VM of this name and status looks (ids, addresses, sizes). */
    public Builder vmView(BiFunction<String, String, VmView> view) {
      this.vmView = view;
      return this;
    }

    /** The message of the NOT_FOUND for a VM not in the table. */
    public Builder notFound(Function<String, String> message) {
      this.notFound = message;
      return this;
    }

    /** Every name is a VM (info and exec succeed for any name), shown as {@code view} gives it. */
    public Builder anyVm(Function<String, VmView> view) {
      this.anyVm = Optional.of(view);
      return this;
    }

    /** The name {@code create} gives a VM asked for without one. */
    public Builder generatedName(String name) {
      this.generatedName = name;
      return this;
    }

    /** Records {@code create} with its request and {@code exec} with its command, not just the VM. */
    public Builder detailedCalls() {
      this.detailedCalls = true;
      return this;
    }

    public Builder pauseMicros(long micros) {
      this.pauseMicros = micros;
      return this;
    }

    public Builder resumeMicros(long micros) {
      this.resumeMicros = micros;
      return this;
    }

    /** Pause and resume also change the VM's status in the table (standby, running). */
    public Builder powerChangesStatus() {
      this.powerChangesStatus = true;
      return this;
    }

    /** The VM the caller is inside of, as the in-VM gateway sees it. */
    public Builder currentVm(String vmId) {
      this.currentVm = Optional.of(vmId);
      return this;
    }

    public Builder whoami(Whoami whoami) {
      this.whoami = whoami;
      return this;
    }

    public Builder exec(ExecBody body) {
      this.exec = body;
      return this;
    }

    public Builder upload(UploadBody body) {
      this.upload = body;
      return this;
    }

    public Builder download(DownloadBody body) {
      this.download = body;
      return this;
    }

    /** What {@code copy} returns (read when it runs). */
    public Builder copyResult(Supplier<Long> bytes) {
      this.copyResult = bytes;
      return this;
    }

    /** Offers direct SSH; without it {@code sshConfig} is refused as in a cluster that does not offer it. */
    public Builder sshConfig(Function<FakeOperations, SshConfig> config) {
      this.sshConfig = config;
      return this;
    }

    public FakeOperations build() {
      return new FakeOperations(this);
    }
  }

  /** The VM view this fake gives a VM of {@code name} and {@code status}. */
  public VmView view(String name, String status) {
    return config.vmView.apply(name, status);
  }

  /** The VM named {@code vm}, or the configured NOT_FOUND. */
  protected VmView existing(String vm) {
    VmView v = vms.get(vm);
    if (v != null) {
      return v;
    }
    return config.anyVm.map(view -> view.apply(vm)).orElseThrow(() -> BoxdException.notFound(config.notFound.apply(vm)));
  }

  private static BoxdException notHere(String what) {
    return BoxdException.precondition(what + " not part of this test");
  }

  @Override
  public Optional<String> currentVm() {
    return config.currentVm;
  }

  @Override
  public VmView create(NewRequest request) {
    calls.add(config.detailedCalls ? "create " + request : "create");
    lastNew = request;
    VmView v = view(request.name().orElse(config.generatedName), "running").withIsolated(request.isolated());
    vms.put(v.name(), v);
    return v;
  }

  @Override
  public List<VmView> list() {
    calls.add("list");
    return vms.values().stream().sorted(Comparator.comparing(VmView::name)).toList();
  }

  @Override
  public VmView info(String vm) {
    calls.add("info " + vm);
    return existing(vm);
  }

  @Override
  public int exec(String vm, ExecSpec spec, InputStream stdin, OutputStream stdout, OutputStream stderr) {
    calls.add(config.detailedCalls ? "exec " + vm + " " + spec.command() : "exec " + vm);
    existing(vm);
    lastExec = spec;
    try {
      return runExec(vm, spec, stdin, stdout, stderr);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** What exec does once recorded and the VM found: the builder's body unless a subclass says otherwise. */
  protected int runExec(String vm, ExecSpec spec, InputStream stdin, OutputStream stdout, OutputStream stderr) throws IOException {
    return config.exec.run(spec, stdin, stdout, stderr);
  }

  @Override
  public long upload(String vm, String path, int mode, InputStream data) {
    calls.add("upload " + vm + ":" + path);
    existing(vm);
    try {
      return receive(vm, path, mode, data);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** What an upload does with its bytes once recorded and the VM found. */
  protected long receive(String vm, String path, int mode, InputStream data) throws IOException {
    if (config.upload == null) {
      throw notHere("upload is");
    }
    return config.upload.run(vm, path, mode, data);
  }

  @Override
  public long download(String vm, String path, OutputStream sink) {
    calls.add("download " + vm + ":" + path);
    existing(vm);
    try {
      return send(vm, path, sink);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** What a download sends once recorded and the VM found. */
  protected long send(String vm, String path, OutputStream sink) throws IOException {
    if (config.download == null) {
      throw notHere("download is");
    }
    return config.download.run(vm, path, sink);
  }

  @Override
  public long copy(String srcVm, String srcPath, String dstVm, String dstPath) {
    calls.add("copy " + srcVm + ":" + srcPath + " " + dstVm + ":" + dstPath);
    existing(srcVm);
    existing(dstVm);
    return copied();
  }

  /** What copy returns. */
  protected long copied() {
    return config.copyResult.get();
  }

  @Override
  public long pause(String vm) {
    calls.add("pause " + vm);
    existing(vm);
    if (config.powerChangesStatus) {
      vms.put(vm, view(vm, "standby"));
    }
    return config.pauseMicros;
  }

  @Override
  public long resume(String vm) {
    calls.add("resume " + vm);
    existing(vm);
    if (config.powerChangesStatus) {
      vms.put(vm, view(vm, "running"));
    }
    return config.resumeMicros;
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
    VmView v = view(vm, "stopped");
    vms.put(vm, v);
    return v;
  }

  @Override
  public VmView start(String vm) {
    calls.add("start " + vm);
    existing(vm);
    VmView v = view(vm, "running");
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
    if (config.sshConfig == null) {
      return Operations.super.sshConfig();
    }
    calls.add("sshConfig");
    return config.sshConfig.apply(this);
  }

  @Override
  public Whoami whoami() {
    calls.add("whoami");
    return config.whoami;
  }

  @Override
  public SnapshotView saveSnapshot(String vm, String name) {
    throw notHere("snapshots are");
  }

  @Override
  public List<SnapshotView> snapshots() {
    throw notHere("snapshots are");
  }

  @Override
  public void removeSnapshot(String name) {
    throw notHere("snapshots are");
  }

  @Override
  public VmView hibernate(String vm) {
    throw notHere("hibernate is");
  }

  @Override
  public VmView setAutoSuspend(String vm, int seconds) {
    throw notHere("auto-suspend is");
  }

  @Override
  public ForkView fork(String source, Optional<String> name, Optional<Integer> autoSuspendSecs) {
    throw notHere("fork is");
  }

  /** HTTPS routes by VM, then name; every VM in the table has "default" (port 8000) without an entry. */
  public final Map<String, Map<String, Integer>> routes = new ConcurrentHashMap<>();
  /** The port {@code set-port --port=auto} finds. */
  public volatile int listeningPort = 3000;
  /** Forwards as "vm/protocol/port" to the public port. */
  public final Map<String, Integer> forwards = new ConcurrentHashMap<>();

  private ProxyView route(String vm, String name, int port) {
    return new ProxyView(name, vm, (name.equals("default") ? "" : name + ".") + vm + ".boxd.test", port);
  }

  private Map<String, Integer> routesOf(String vm) {
    existing(vm);
    return routes.computeIfAbsent(vm, k -> new java.util.TreeMap<>(Map.of("default", 8000)));
  }

  @Override
  public List<ProxyView> proxies(Optional<String> vm) {
    calls.add("proxies " + vm.orElse("*"));
    List<String> names = vm.map(List::of).orElseGet(() -> vms.keySet().stream().sorted().toList());
    return names.stream().flatMap(v -> routesOf(v).entrySet().stream().map(e -> route(v, e.getKey(), e.getValue()))).toList();
  }

  @Override
  public ProxyView addProxy(String vm, String name, int port) {
    calls.add("addProxy " + vm + " " + name + " " + port);
    if (routesOf(vm).putIfAbsent(name, port) != null) {
      throw new BoxdException(dev.boxd.core.ErrorCode.ALREADY_EXISTS, "VM \"" + vm + "\" has a route named \"" + name + "\" already");
    }
    return route(vm, name, port);
  }

  @Override
  public ProxyView setProxyPort(String vm, String name, java.util.OptionalInt port) {
    calls.add("setProxyPort " + vm + " " + name + " " + (port.isPresent() ? port.getAsInt() : "auto"));
    int chosen = port.orElse(listeningPort);
    if (routesOf(vm).replace(name, chosen) == null) {
      throw BoxdException.notFound("VM \"" + vm + "\" has no route named \"" + name + "\"");
    }
    return route(vm, name, chosen);
  }

  @Override
  public void removeProxy(String vm, String name) {
    calls.add("removeProxy " + vm + " " + name);
    if (routesOf(vm).remove(name) == null) {
      throw BoxdException.notFound("VM \"" + vm + "\" has no route named \"" + name + "\"");
    }
  }

  private ExposeView forward(String vm, String protocol, int vmPort, int publicPort) {
    return new ExposeView("id-" + vm, vm, vm + ".boxd.test", "127.0.0.1", vmPort, protocol, publicPort);
  }

  @Override
  public ExposeView expose(String vm, String protocol, int vmPort) {
    calls.add("expose " + vm + " " + protocol + " " + vmPort);
    existing(vm);
    int publicPort = forwards.computeIfAbsent(vm + "/" + protocol + "/" + vmPort, k -> 40000 + forwards.size());
    return forward(vm, protocol, vmPort, publicPort);
  }

  @Override
  public void unexpose(String vm, String protocol, int vmPort) {
    calls.add("unexpose " + vm + " " + protocol + " " + vmPort);
    if (forwards.remove(vm + "/" + protocol + "/" + vmPort) == null) {
      throw BoxdException.notFound("VM \"" + vm + "\" has no " + protocol + " port " + vmPort + " exposed");
    }
  }

  @Override
  public List<ExposeView> exposures(Optional<String> vm) {
    calls.add("exposures " + vm.orElse("*"));
    vm.ifPresent(this::existing);
    return forwards.entrySet().stream().sorted(Map.Entry.comparingByValue())
        .map(e -> e.getKey().split("/"))
        .filter(k -> vm.isEmpty() || vm.get().equals(k[0]))
        .map(k -> forward(k[0], k[1], Integer.parseInt(k[2]), forwards.get(String.join("/", k)))).toList();
  }

  /** API keys by id, in the order made; {@code createApiKey} gives ids key_0000000000000001, … and secrets bxd_ and 43 'A's then the count. */
  public final Map<String, ApiKeyView> apiKeys = java.util.Collections.synchronizedMap(new LinkedHashMap<>());

  @Override
  public NewApiKey createApiKey(Optional<String> name, Optional<java.time.Duration> expiresIn) {
    calls.add("createApiKey " + name.orElse("-") + " " + expiresIn.map(d -> Long.toString(d.toSeconds())).orElse("-"));
    int n = apiKeys.size() + 1;
    String id = String.format("key_%016d", n);
    ApiKeyView key = new ApiKeyView(id, name.orElse("key-" + n), "2026-01-01T00:00:00Z",
        expiresIn.map(d -> java.time.Instant.parse("2026-01-01T00:00:00Z").plus(d).toString()), Optional.empty());
    apiKeys.put(id, key);
    String count = Integer.toString(n);
    return new NewApiKey(key, "bxd_" + "A".repeat(43 - count.length()) + count);
  }

  @Override
  public List<ApiKeyView> apiKeys() {
    calls.add("apiKeys");
    return List.copyOf(apiKeys.values());
  }

  @Override
  public ApiKeyView revokeApiKey(String idOrName) {
    calls.add("revokeApiKey " + idOrName);
    ApiKeyView key = Optional.ofNullable(apiKeys.get(idOrName))
        .or(() -> apiKeys.values().stream().filter(k -> k.name().equals(idOrName) && k.revokedAt().isEmpty()).findFirst())
        .orElseThrow(() -> BoxdException.notFound("no API key \"" + idOrName + "\""));
    ApiKeyView revoked = new ApiKeyView(key.id(), key.name(), key.createdAt(), key.expiresAt(), Optional.of("2026-01-01T00:00:01Z"));
    apiKeys.put(key.id(), revoked);
    return revoked;
  }
}
