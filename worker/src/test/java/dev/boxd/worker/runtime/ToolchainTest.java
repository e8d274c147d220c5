package dev.boxd.worker.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.guest.ImageStore;
import dev.boxd.vmm.agent.ExecResult;
import dev.boxd.worker.testing.RuntimeFixture;
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
 * a container, {@code docker compose} works, and nginx serves port 8000 once started. Nothing of
 * it runs at boot: the golden snapshot stays as light as the small image's.
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
      ExecResult result = run(command);
      if (result.exitCode() != 0) {
        failed.add(command + " -> exit " + result.exitCode() + ": " + result.stderrText().strip());
      }
    }
    assertThat(failed).as("tools that did not run").isEmpty();
    assertThat(ok("cd /tmp && python3 -m venv venv && venv/bin/pip --version")).contains("/tmp/venv");
  }

  @Test
  @Order(3)
  void theModulesDockerNeedsLoadOnDemand() {
    ok("sudo modprobe -a overlay br_netfilter veth bridge nf_nat nf_tables nf_conntrack");
    assertThat(ok("grep -w overlay /proc/filesystems")).contains("overlay");
    assertThat(ok("cat /proc/modules")).contains("br_netfilter").contains("veth").contains("nf_tables").contains("nf_nat");
  }

  @Test
  @Order(4)
  void dockerStartsOnFirstUseAndRunsAContainer() {
    // socket activation: the boxd user's first client call starts dockerd (and containerd)
    long start = System.nanoTime();
    assertThat(ok("docker version --format '{{.Server.Version}}'")).isNotBlank();
    report("dockerd ready (docker version, socket activated)", start);
    assertThat(ok("sudo systemctl is-active docker.service containerd.service")).isEqualTo("active\nactive\n");
    assertThat(ok("docker info --format '{{.Driver}} {{.CgroupVersion}}'")).isEqualTo("overlay2 2\n");
    // No registry is reachable in tests: an image FROM scratch around a static binary built here.
    ok("mkdir -p hello && cd hello && printf '#include <stdio.h>\\nint main(void) { puts(\"hello from a container\"); return 0; }\\n' > hello.c"
        + " && gcc -static -O2 -o hello hello.c"
        + " && printf 'FROM scratch\\nCOPY hello /hello\\nCMD [\"/hello\"]\\n' > Dockerfile");
    ok("cd hello && docker build -q -t hello .");
    // the default bridge network: veth, bridge, NAT rules
    start = System.nanoTime();
    assertThat(ok("docker run --rm hello")).isEqualTo("hello from a container\n");
    report("docker run --rm hello", start);
  }

  @Test
  @Order(5)
  void dockerComposeUpRunsTwoServices() {
    ok("mkdir -p pair && cd pair && printf 'services:\\n  first:\\n    image: hello\\n  second:\\n    image: hello\\n' > docker-compose.yml");
    String out = ok("cd pair && docker compose up 2>&1");
    assertThat(out).contains("first").contains("second").contains("hello from a container");
    ok("cd pair && docker compose down");
  }

  @Test
  @Order(6)
  void nginxServesPort8000OnceStarted() {
    assertThat(run("curl -s -o /dev/null http://127.0.0.1:8000/").exitCode()).as("nothing listens before nginx starts").isNotZero();
    ok("sudo systemctl start nginx");
    assertThat(ok("curl -s http://127.0.0.1:8000/")).contains("Welcome to nginx");
    ok("sudo systemctl stop nginx");
  }
}
