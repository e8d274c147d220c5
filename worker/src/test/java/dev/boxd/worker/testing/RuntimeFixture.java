package dev.boxd.worker.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxd.core.net.Ipv4;
import dev.boxd.core.net.Ipv4Subnet;
import dev.boxd.net.NetworkConfig;
import dev.boxd.testkit.TestNetworks;
import dev.boxd.testkit.TestPaths;
import dev.boxd.core.MachineShape;
import dev.boxd.worker.runtime.LocalVmRuntime;
import dev.boxd.worker.runtime.RuntimeConfig;
import dev.boxd.worker.runtime.VmInfo;
import dev.boxd.worker.runtime.VmSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * A real VM runtime for a test class: its own network namespace and subnet, a temporary state
 * directory, the shared image and golden cache. Creates VMs on demand, prints every VM's serial
 * console and QEMU log when a test fails, and removes everything afterwards.
 * Use as {@code @RegisterExtension static RuntimeFixture vms = new RuntimeFixture();}.
 *
 * <p>It lives in the worker's test jar, not in testkit: it needs {@link LocalVmRuntime}, and the
 * worker's own tests use it, so testkit depending on worker would make a build cycle.
 */
public final class RuntimeFixture implements BeforeAllCallback, AfterAllCallback, TestWatcher {
  /** Small VMs keep a 2-core CI machine responsive; the runtime does not care about the size. */
  public static final MachineShape SHAPE = new MachineShape(1, 1024);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Optional<NetworkConfig.Uplink> uplink;
  private final List<java.net.InetSocketAddress> dnsUpstreams;
  private final AtomicInteger names = new AtomicInteger();
  private String imageRecipe = TestPaths.imageRecipe();
  private final Set<Ipv4> usedAddresses = new HashSet<>();
  private Path stateDir;
  private RuntimeConfig config;
  private LocalVmRuntime runtime;

  public RuntimeFixture() {
    this(Optional.empty());
  }

  public RuntimeFixture(Optional<NetworkConfig.Uplink> uplink) {
    // Guests' DNS goes nowhere by default: tests never send traffic to the host's resolvers.
    this(uplink, List.of(new java.net.InetSocketAddress("127.0.0.1", 53)));
  }

  /** With an uplink to a namespace of the test's, and DNS relayed to resolvers of the test's. */
  public RuntimeFixture(Optional<NetworkConfig.Uplink> uplink, List<java.net.InetSocketAddress> dnsUpstreams) {
    this.uplink = uplink;
    this.dnsUpstreams = dnsUpstreams;
  }

  /** Boots VMs from the image of {@code recipe} ({@code guest/image/recipes}) instead of the tests' default. */
  public RuntimeFixture withImageRecipe(String recipe) {
    this.imageRecipe = recipe;
    return this;
  }

  @Override
  public void beforeAll(ExtensionContext context) throws IOException {
    stateDir = Files.createTempDirectory("boxd-test-");
    var network = new NetworkConfig(TestNetworks.uniqueName("bxt"), "br0", Ipv4Subnet.parse(TestNetworks.uniqueSubnet()), uplink, dnsUpstreams);
    config = new RuntimeConfig(stateDir, TestPaths.cacheDir(), TestPaths.recipeDir(), network).withImageRecipe(imageRecipe);
    runtime = new LocalVmRuntime(config);
    // The golden of SHAPE is shared by every test on this machine: never collected here.
    runtime.keepGolden(SHAPE);
    runtime.golden(SHAPE, line -> System.out.println("[golden] " + line));
  }

  public LocalVmRuntime runtime() {
    return runtime;
  }

  public RuntimeConfig config() {
    return config;
  }

  /** A fresh spec with a unique id, name and address. */
  public synchronized VmSpec spec(String owner) {
    int n = names.incrementAndGet();
    Ipv4 ip = config.network().subnet().allocate(usedAddresses);
    usedAddresses.add(ip);
    return new VmSpec("vm" + n + "-" + Long.toString(System.nanoTime() % 1_000_000, 36), "vm-" + n, owner, SHAPE, ip);
  }

  public VmInfo create(String owner) {
    return runtime.create(spec(owner));
  }

  /** Runs {@code command} in the VM (no stdin) and returns what it printed and its exit code. */
  public dev.boxd.vmm.agent.ExecResult run(VmInfo vm, String command) {
    var out = new java.io.ByteArrayOutputStream();
    var err = new java.io.ByteArrayOutputStream();
    try (var session = runtime.exec(vm.id(), dev.boxd.vmm.agent.ExecRequest.of(command), out, err)) {
      session.stdin().close();
      return new dev.boxd.vmm.agent.ExecResult(session.awaitExit(java.time.Duration.ofSeconds(120)), out.toByteArray(), err.toByteArray());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** A second runtime over the same state and network, as a restarted supervisor would be. */
  public LocalVmRuntime restartedRuntime() {
    LocalVmRuntime restarted = new LocalVmRuntime(config);
    restarted.keepGolden(SHAPE);
    return restarted;
  }

  public void replaceRuntime(LocalVmRuntime fresh) {
    runtime = fresh;
  }

  @Override
  public void testFailed(ExtensionContext context, Throwable cause) {
    System.out.println("=== " + context.getDisplayName() + " failed: VM logs follow ===");
    for (VmInfo vm : runtime.list()) {
      Path run = directoryOf(vm.id()).resolve("run");
      System.out.println("--- VM " + vm.name() + " (" + vm.id() + ") " + vm.state() + " " + vm.failure().orElse(""));
      dump(run.resolve("serial.log"));
      dump(run.resolve("qemu.log"));
    }
  }

  /** A VM's directory: {@code vms/<id>}, or the warm VM's it was made from ({@code vms/pool-<hex>}). */
  private Path directoryOf(String vmId) {
    try (Stream<Path> dirs = Files.list(config.vmsDir())) {
      return dirs.filter(d -> vmId.equals(recordedId(d))).findFirst().orElse(config.vmsDir().resolve(vmId));
    } catch (IOException e) {
      return config.vmsDir().resolve(vmId);
    }
  }

  // The id in the directory's vm.json (the runtime's record of the VM), or null without a readable one.
  private static String recordedId(Path vmDirectory) {
    Path record = vmDirectory.resolve("vm.json");
    if (!Files.isRegularFile(record)) {
      return null;
    }
    try {
      return JSON.readTree(record.toFile()).path("id").asText(null);
    } catch (IOException e) {
      return null;
    }
  }

  private static void dump(Path file) {
    try {
      if (Files.exists(file)) {
        String text = Files.readString(file);
        System.out.println("[" + file.getFileName() + "]\n" + text.substring(Math.max(0, text.length() - 6000)));
      }
    } catch (IOException e) {
      System.out.println("cannot read " + file + ": " + e);
    }
  }

  @Override
  public void afterAll(ExtensionContext context) throws IOException {
    List<Throwable> problems = new ArrayList<>();
    if (runtime != null) {
      for (VmInfo vm : runtime.list()) {
        try {
          runtime.destroy(vm.id());
        } catch (RuntimeException e) {
          problems.add(e);
        }
      }
      runtime.close();
      runtime.network().tearDown();
    }
    if (stateDir != null && Files.exists(stateDir)) {
      try (Stream<Path> walk = Files.walk(stateDir)) {
        for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
    if (!problems.isEmpty()) {
      throw new IllegalStateException("cleaning up test VMs failed: " + problems);
    }
  }
}
