package dev.boxd.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.guest.ImageStore;
import dev.boxd.vmm.agent.ExecResult;
import dev.boxd.worker.testing.RuntimeFixture;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The default image in a real VM (issue 16, item 1): every tool a developer or an agent expects
 * runs, the modules Docker needs load on demand, Docker starts on first use as user boxd and runs
 * a container, a container's published port answers on the VM's port 8000, {@code docker compose}
 * works, nginx serves port 8000 once started, and rsync over SSH and an sshd restart work. Nothing
 * of it runs at boot: the golden snapshot stays as light as the small image's. Under TCG the class takes minutes (Node, Python and Docker start slowly);
 * it prints each step's time as {@code [timing]} lines for the image's README.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ToolchainTest {
  @RegisterExtension
  static final RuntimeFixture fixture = new RuntimeFixture().withImageRecipe(ImageStore.DEFAULT_RECIPE);

  /** One VM for the class: each step builds on the last (a compiled binary, a built image). */
  private static VmInfo vm;

  @BeforeAll
  static void createVm() {
    long start = System.nanoTime();
    vm = fixture.create("alice");
    ok("true");
    report("new -> exec-ready", start);
  }

  // Timings for the image's README (under TCG they are a report, not a target).
  private static void report(String what, long startNanos) {
    System.out.printf("[timing] %s: %d ms%n", what, (System.nanoTime() - startNanos) / 1_000_000);
  }

  static ExecResult run(String command) {
    return fixture.run(vm, command);
  }

  /** Copies a test resource into boxd's home in the VM. */
  static void upload(String resource, String path) {
    ok("mkdir -p " + path.substring(0, path.lastIndexOf('/')));
    try (var in = ToolchainTest.class.getClassLoader().getResourceAsStream(resource)) {
      assertThat(in).as(resource).isNotNull();
      fixture.runtime().upload(vm.id(), path, 0644, in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String ok(String command) {
    ExecResult result = run(command);
    assertThat(result.exitCode()).as("%s\nstdout: %s\nstderr: %s", command, result.stdoutText(), result.stderrText()).isZero();
    return result.stdoutText();
  }

  // systemctl through sudo: the image has no D-Bus, and only root reaches systemd without it
  @Test
  @Order(1)
  void nothingBeyondTheBaseRunsAtBoot() {
    assertThat(ok("sudo systemctl is-enabled docker.socket")).isEqualTo("enabled\n");
    assertThat(ok("sudo systemctl is-active docker.socket")).isEqualTo("active\n");
    for (String unit : List.of("docker.service", "containerd.service", "nginx.service")) {
      assertThat(run("sudo systemctl is-enabled " + unit).stdoutText()).as(unit).isEqualTo("disabled\n");
      assertThat(run("sudo systemctl is-active " + unit).stdoutText()).as(unit).isEqualTo("inactive\n");
    }
    assertThat(ok("id -nG")).contains("docker").contains("boxd");
  }

  @Test
  @Order(2)
  void everyToolRuns() {
    List<String> commands = List.of(
        "bash --version", "git --version", "rsync --version", "tar --version", "curl --version", "wget --version",
        "jq --version", "rg --version", "sqlite3 --version", "unzip -v", "zip -v", "xz --version", "less --version",
        "vim.tiny --version", "nano --version", "file --version", "ssh -V",
        "gcc --version", "g++ --version", "make --version", "pkg-config --version",
        "python3 --version", "pip3 --version", "python3 -m venv --help",
        "node --version", "npm --version",
        "docker --version", "docker-compose --version", "docker compose version", "/usr/sbin/nginx -v");
    List<String> failed = new ArrayList<>();
    for (String command : commands) {
      long start = System.nanoTime();
      ExecResult result = run(command);
      report(command, start);
      if (result.exitCode() != 0) {
        failed.add(command + " -> exit " + result.exitCode() + ": " + result.stderrText().strip());
      }
    }
    assertThat(failed).as("tools that did not run").isEmpty();
    long start = System.nanoTime();
    assertThat(ok("cd /tmp && python3 -m venv venv && venv/bin/pip --version")).contains("/tmp/venv");
    report("python3 -m venv (with pip)", start);
  }

  @Test
  @Order(3)
  void dockerStartsOnFirstUseAndRunsAContainer() {
    // socket activation: the boxd user's first client call starts dockerd (and containerd)
    long start = System.nanoTime();
    assertThat(ok("docker version --format '{{.Server.Version}}'")).isNotBlank();
    report("dockerd ready (docker version, socket activated)", start);
    assertThat(ok("sudo systemctl is-active docker.service containerd.service")).isEqualTo("active\nactive\n");
    assertThat(ok("docker info --format '{{.Driver}} {{.CgroupVersion}}'")).isEqualTo("overlay2 2\n");
    // No registry is reachable in tests: images FROM scratch around static binaries built here.
    upload("toolchain/hello.c", "hello/hello.c");
    ok("cd hello && gcc -static -O2 -o hello hello.c && printf 'FROM scratch\\nCOPY hello /hello\\nCMD [\"/hello\"]\\n' > Dockerfile");
    start = System.nanoTime();
    ok("cd hello && docker build -q -t hello .");
    report("docker build (FROM scratch, one COPY)", start);
    // the default bridge network: veth, bridge, NAT rules
    start = System.nanoTime();
    assertThat(ok("docker run --rm hello")).isEqualTo("hello from a container\n");
    report("docker run --rm hello", start);
    // what dockerd needed came as modules, loaded on demand: nothing here ran modprobe
    assertThat(ok("cat /proc/modules | cut -d' ' -f1"))
        .contains("overlay", "br_netfilter", "bridge", "veth", "nf_tables", "nf_nat", "nf_conntrack");
  }

  @Test
  @Order(4)
  void aContainerServesOnAPublishedPort() {
    upload("toolchain/serve.c", "serve/serve.c");
    ok("cd serve && gcc -static -O2 -o serve serve.c && printf 'FROM scratch\\nCOPY serve /serve\\nCMD [\"/serve\"]\\n' > Dockerfile"
        + " && docker build -q -t serve .");
    long start = System.nanoTime();
    ok("docker run -d --name web -p 8000:8080 serve");
    // the VM's port 8000, the one its URL points at, reaches the container (docker-proxy and DNAT)
    ok("timeout 60 sh -c 'until curl -sf http://127.0.0.1:8000/ >/dev/null; do sleep 0.2; done'");
    report("docker run -d -p 8000:8080, first answer", start);
    assertThat(ok("curl -s http://127.0.0.1:8000/")).isEqualTo("hello from port 8080 \r\n");
    String vmAddress = ok("ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1").strip();
    assertThat(ok("curl -s http://" + vmAddress + ":8000/")).isEqualTo("hello from port 8080 \r\n");
    ok("docker rm -f web");
  }

  @Test
  @Order(5)
  void dockerComposeUpRunsTwoServices() {
    ok("mkdir -p pair && cd pair && printf 'services:\\n  first:\\n    image: hello\\n  second:\\n    image: hello\\n' > docker-compose.yml");
    long start = System.nanoTime();
    String out = ok("cd pair && docker compose up 2>&1");
    report("docker compose up (two services)", start);
    assertThat(out).contains("first").contains("second").contains("hello from a container");
    ok("cd pair && docker compose down");
  }

  @Test
  @Order(6)
  void modprobeLoadsAnyModuleOfTheKernel() {
    ok("sudo modprobe overlay");
    ok("sudo modprobe -a tun fuse wireguard");
    assertThat(ok("cat /proc/modules | cut -d' ' -f1")).contains("tun", "fuse", "wireguard");
  }

  @Test
  @Order(7)
  void nginxServesPort8000OnceStarted() {
    assertThat(run("curl -s -o /dev/null http://127.0.0.1:8000/").exitCode()).as("nothing listens before nginx starts").isNotZero();
    ok("sudo systemctl start nginx");
    assertThat(ok("curl -s http://127.0.0.1:8000/")).contains("Welcome to nginx");
    ok("sudo systemctl stop nginx");
  }

  @Test
  @Order(8)
  void rsyncOverSshAndAnSshdRestart() {
    // what crabbox does from outside, here from the VM to itself: rsync -e ssh into boxd's home
    ok("mkdir -p ~/.ssh && ssh-keygen -q -t ed25519 -N '' -f ~/.ssh/id_ed25519 && cat ~/.ssh/id_ed25519.pub >> ~/.ssh/authorized_keys"
        + " && mkdir -p src/sub && echo one > src/a && echo two > src/sub/b");
    String ssh = "ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes";
    ok("rsync -a -e '" + ssh + "' src/ boxd@127.0.0.1:copy/");
    assertThat(ok("cat copy/a copy/sub/b")).isEqualTo("one\ntwo\n");
    ok("sudo systemctl restart ssh");
    assertThat(ok("sudo systemctl is-active ssh")).isEqualTo("active\n");
    assertThat(ok(ssh + " boxd@127.0.0.1 echo reached")).isEqualTo("reached\n");
  }

  /**
   * A fork carries on the source's containers: containerd, the container's process, dockerd's
   * port proxy and the NAT rules are all processes and kernel state of the VM that was copied.
   * The fork answers on the published port at its own address, reached from the source VM.
   */
  @Test
  @Order(9)
  void aForkedVmKeepsItsRunningContainerRunning() {
    // the image aContainerServesOnAPublishedPort built; port 8001 since nginx may hold 8000 by now
    ok("docker run -d --name kept -p 8001:8080 serve");
    ok("timeout 60 sh -c 'until curl -sf http://127.0.0.1:8001/ >/dev/null; do sleep 0.2; done'");
    long start = System.nanoTime();
    VmInfo fork = fixture.runtime().fork(vm.id(), fixture.spec("alice"));
    report("fork of a VM running a container", start);
    try {
      var ps = fixture.run(fork, "docker ps --filter name=kept --format '{{.Names}} {{.Status}}'");
      assertThat(ps.exitCode()).as(ps.stderrText()).isZero();
      assertThat(ps.stdoutText()).startsWith("kept Up");
      var local = fixture.run(fork, "curl -s --max-time 20 http://127.0.0.1:8001/");
      assertThat(local.stdoutText()).as(local.stderrText()).isEqualTo("hello from port 8080 \r\n");
      start = System.nanoTime();
      assertThat(ok("curl -s --max-time 20 http://" + fork.ip() + ":8001/")).as("from the source VM to the fork's own address")
          .isEqualTo("hello from port 8080 \r\n");
      report("fork's published port, first answer from the source VM", start);
      assertThat(ok("docker ps --filter name=kept --format '{{.Names}}'")).as("the source's container runs on").isEqualTo("kept\n");
    } finally {
      fixture.runtime().destroy(fork.id());
      ok("docker rm -f kept");
    }
  }

  /**
   * What Docker 20.10 itself writes with {@code docker save} is what {@code boxd image import}
   * reads: the manifest, the layer, the file in it. (This image has no systemd, so an import
   * would refuse it: that is ImageStoreTest's.)
   */
  @Test
  @Order(10)
  void theArchiveReaderReadsWhatDockerSaveWrites() throws IOException {
    ok("docker save -o /tmp/serve-save.tar serve");
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("boxd-docker-save-");
    try {
      java.nio.file.Path archive = dir.resolve("serve-save.tar");
      try (var out = java.nio.file.Files.newOutputStream(archive)) {
        fixture.runtime().download(vm.id(), "/tmp/serve-save.tar", out);
      }
      var image = dev.boxd.guest.archive.ImageArchive.open(archive, dir.resolve("layers"));
      assertThat(image.kind()).isEqualTo(dev.boxd.guest.archive.ImageArchive.Kind.DOCKER_SAVE);
      assertThat(image.layers()).hasSize(1);
      assertThat(image.tree().typeOf("serve")).contains(dev.boxd.guest.archive.TarReader.Type.FILE);
      java.nio.file.Path root = java.nio.file.Files.createDirectories(dir.resolve("root"));
      image.unpack(root);
      assertThat(java.nio.file.Files.size(root.resolve("serve"))).isGreaterThan(10_000);
    } finally {
      dev.boxd.os.Trees.delete(dir);
    }
  }
}
