package dev.boxd.server;

import static dev.boxd.testkit.server.LiveServer.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.boxd.core.ErrorCode;
import dev.boxd.testkit.server.LiveServer;
import dev.boxd.testkit.server.SshUser;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The in-VM {@code boxd} CLI against a real server: commands typed inside a VM (reached with
 * {@code ssh exec}) that create, run in, copy to and from, and destroy sibling VMs with no key,
 * token or configuration in the guest; the gateway knows the VM by its address.
 */
class InVmCliTest {
  @RegisterExtension
  static final LiveServer live = LiveServer.shared();
  static SshUser alice;
  static SshUser bob;

  @BeforeAll
  static void users() throws Exception {
    alice = live.user("invm-alice");
    bob = live.user("invm-bob");
  }

  /** Runs a shell script inside {@code vm} as user boxd, as the user's own shell there would. */
  static SshUser.Run inside(SshUser user, String vm, String script) throws Exception {
    return user.run("exec", vm, "--", script);
  }

  @Test
  void theSeedsThreeLinesRunInsideAVm() throws Exception {
    json(alice.run("new", "--name=invm-orchestrator", "--json"));
    try {
      SshUser.Run created = inside(alice, "invm-orchestrator", "boxd new --name=invm-worker-1 --json");
      JsonNode worker = json(created);
      assertThat(worker.path("name").asText()).isEqualTo("invm-worker-1");
      assertThat(worker.path("status").asText()).isEqualTo("running");

      // The test's own preparation in worker-1: /app and /uploads owned by boxd, a script in /app.
      SshUser.Run prepared = inside(alice, "invm-orchestrator", """
          boxd exec invm-worker-1 -- 'sudo mkdir -p /app /uploads && sudo chown boxd:boxd /app /uploads' &&
          printf '#!/bin/sh\\necho "did the thing on $(hostname) in $(pwd)"\\n' > do-the-thing && chmod +x do-the-thing &&
          boxd cp ./do-the-thing invm-worker-1:/app/do-the-thing
          """);
      assertThat(prepared.exit()).as(prepared.err()).isZero();

      SshUser.Run thing = inside(alice, "invm-orchestrator", "boxd exec invm-worker-1 -- 'cd /app && ./do-the-thing'");
      assertThat(thing.exit()).as(thing.err()).isZero();
      assertThat(thing.out()).isEqualTo("did the thing on invm-worker-1 in /app\n");

      SshUser.Run roundTrip = inside(alice, "invm-orchestrator", """
          set -e
          mkdir -p results/nested && echo one > results/a.txt && head -c 300000 /dev/urandom > results/nested/b.bin
          chmod 0750 results/nested/b.bin
          boxd cp ./results invm-worker-1:/uploads/results
          boxd exec invm-worker-1 -- 'ls -R /uploads/results' >&2
          boxd cp invm-worker-1:/uploads/results ./back
          diff -r results back && echo same
          stat -c %a back/nested/b.bin
          """);
      assertThat(roundTrip.exit()).as(roundTrip.err()).isZero();
      assertThat(roundTrip.out()).isEqualTo("same\n750\n");

      // Exit codes, stderr and stdin pass through the in-VM CLI as they do over SSH.
      SshUser.Run codes = inside(alice, "invm-orchestrator",
          "echo piped | boxd exec invm-worker-1 -- 'tr a-z A-Z; echo to-stderr >&2; exit 7'; echo \"exit=$?\"");
      assertThat(codes.out()).isEqualTo("PIPED\nexit=7\n");
      assertThat(codes.err()).isEqualTo("to-stderr\n");
      assertThat(inside(alice, "invm-orchestrator", "boxd exec invm-worker-1 --timeout=1 -- sleep 30; echo \"exit=$?\"").out())
          .isEqualTo("exit=124\n");

      JsonNode self = json(inside(alice, "invm-orchestrator", "boxd info --json"));
      assertThat(self.path("name").asText()).as("info without a name is the current VM").isEqualTo("invm-orchestrator");
      assertThat(json(inside(alice, "invm-orchestrator", "boxd whoami --json")).path("user_id").asText())
          .as("inside, the VM acts as its owner").isEqualTo(json(alice.run("whoami", "--json")).path("user_id").asText());

      SshUser.Run suicide = inside(alice, "invm-orchestrator", "boxd destroy -y invm-orchestrator");
      assertThat(suicide.exit()).isEqualTo(ErrorCode.FAILED_PRECONDITION.exitCode());
      assertThat(suicide.err()).contains("cannot destroy itself");
      assertThat(inside(alice, "invm-orchestrator", "boxd rm -y invm-worker-1").exit()).isZero();
      assertThat(json(inside(alice, "invm-orchestrator", "boxd list --json"))).extracting(n -> n.path("name").asText())
          .containsExactly("invm-orchestrator");
    } finally {
      alice.run("destroy", "-y", "invm-worker-1");
      alice.run("destroy", "-y", "invm-orchestrator");
    }
  }

  @Test
  void anOrchestratorFansOutToThreeWorkers() throws Exception {
    json(alice.run("new", "--name=invm-fan", "--json"));
    try {
      SshUser.Run fanOut = inside(alice, "invm-fan", """
          set -e
          for i in 1 2 3; do boxd new --name=invm-w$i >/dev/null; done
          for i in 1 2 3; do boxd exec invm-w$i -- "echo result-of-\\$(hostname) > out.txt" & done
          wait
          for i in 1 2 3; do boxd cp invm-w$i:out.txt ./from-w$i.txt; done
          cat from-w1.txt from-w2.txt from-w3.txt
          for i in 1 2 3; do boxd destroy -y invm-w$i >/dev/null; done
          boxd ls --json
          """);
      assertThat(fanOut.exit()).as(fanOut.err()).isZero();
      String[] lines = fanOut.out().split("\n", 4);
      assertThat(lines).hasSize(4);
      assertThat(List.of(lines[0], lines[1], lines[2])).containsExactly("result-of-invm-w1", "result-of-invm-w2", "result-of-invm-w3");
      assertThat(LiveServer.JSON.readTree(lines[3])).extracting(n -> n.path("name").asText()).containsExactly("invm-fan");
    } finally {
      for (String name : List.of("invm-w1", "invm-w2", "invm-w3", "invm-fan")) {
        alice.run("destroy", "-y", name);
      }
    }
  }

  @Test
  void siblingsArePausedResumedAndReachedInteractivelyFromInside() throws Exception {
    json(alice.run("new", "--name=invm-desk", "--json"));
    try {
      json(inside(alice, "invm-desk", "boxd new --name=invm-sib --json"));
      JsonNode paused = json(inside(alice, "invm-desk", "boxd pause invm-sib --json"));
      assertThat(paused.path("suspend_us").asLong()).isPositive();
      assertThat(json(inside(alice, "invm-desk", "boxd info invm-sib --json")).path("status").asText()).isEqualTo("standby");
      assertThat(json(inside(alice, "invm-desk", "boxd resume invm-sib --json")).path("resume_us").asLong()).isPositive();

      // connect from a terminal inside desk: the in-VM CLI switches that terminal to raw and back.
      List<String> ssh = alice.command("127.0.0.1", "exec", "--tty", "invm-desk", "--", "boxd connect invm-sib; echo back-in-$(hostname)");
      try (var tty = dev.boxd.testkit.PtyClient.start(30, 100, dev.boxd.testkit.PtyClient.withTty(ssh, "127.0.0.1"))) {
        tty.expect("boxd@invm-sib:");
        tty.send("echo cols=$(tput cols) on $(hostname)\r");
        tty.expect("cols=100 on invm-sib");
        tty.send("exit\r");
        tty.expect("back-in-invm-desk");
        tty.waitFor();
      }
      SshUser.Run noTty = inside(alice, "invm-desk", "boxd connect invm-sib");
      assertThat(noTty.exit()).isNotZero();
      assertThat(noTty.err()).contains("terminal");
    } finally {
      alice.run("destroy", "-y", "invm-sib");
      alice.run("destroy", "-y", "invm-desk");
    }
  }

  @Test
  void aVmForksItselfRunsAJobInTheCopyAndCollectsTheResult() throws Exception {
    json(alice.run("new", "--name=invm-agent", "--json"));
    try {
      SshUser.Run run = inside(alice, "invm-agent", """
          set -e
          echo "state before the fork" > state.txt
          boxd fork --name=invm-helper --json > fork.json
          boxd exec invm-helper -- 'cat state.txt > job.out; hostname >> job.out; boxd info --json > info.json'
          boxd cp invm-helper:job.out ./job.out
          boxd cp invm-helper:info.json ./helper-info.json
          boxd rm -y invm-helper >/dev/null
          cat job.out
          python3 -c 'import json; print(json.load(open("fork.json"))["forked_from"], json.load(open("helper-info.json"))["name"])'
          boxd ls --json
          """);
      assertThat(run.exit()).as(run.err()).isZero();
      String[] lines = run.out().split("\n", 4);
      assertThat(lines[0]).isEqualTo("state before the fork");
      assertThat(lines[1]).as("the job ran in the copy").isEqualTo("invm-helper");
      assertThat(lines[2]).as("forked from the agent; info inside the copy names the copy").isEqualTo("invm-agent invm-helper");
      assertThat(LiveServer.JSON.readTree(lines[3])).extracting(n -> n.path("name").asText()).containsExactly("invm-agent");
    } finally {
      alice.run("destroy", "-y", "invm-helper");
      alice.run("destroy", "-y", "invm-agent");
    }
  }

  @Test
  void anotherUsersVmIsInvisibleFromInsideAndSpoofingGetsNothing() throws Exception {
    JsonNode bobs = json(bob.run("new", "--name=invm-bobs", "--json"));
    json(alice.run("new", "--name=invm-alices", "--json"));
    try {
      String bobsId = bobs.path("vm_id").asText();
      List<String> verbs = new ArrayList<>();
      for (String target : List.of("invm-bobs", bobsId)) {
        verbs.addAll(List.of("boxd info " + target, "boxd exec " + target + " -- true", "boxd cp " + target + ":/etc/hostname -",
            "echo x | boxd cp - " + target + ":x", "boxd cp ./.profile " + target + ":x", "boxd cp " + target + ":/etc/hostname ./h",
            "boxd pause " + target, "boxd resume " + target, "boxd reboot " + target, "boxd stop " + target,
            "boxd fork " + target, "boxd destroy -y " + target));
      }
      for (String verb : verbs) {
        SshUser.Run run = inside(alice, "invm-alices", verb);
        assertThat(run.exit()).as("from alice's VM: %s (stderr %s)", verb, run.err()).isEqualTo(ErrorCode.NOT_FOUND.exitCode());
        assertThat(run.err()).contains("no VM named");
      }
      assertThat(json(inside(alice, "invm-alices", "boxd list --json"))).extracting(n -> n.path("name").asText())
          .containsExactly("invm-alices");
      assertThat(json(bob.run("info", "invm-bobs", "--json")).path("status").asText()).isEqualTo("running");

      // Alice's VM claims bob's address and calls the gateway from it: the anti-spoof rules drop
      // those packets at its tap, so the gateway never hears from "bob's VM". From its own
      // address, the same call works.
      String bobsIp = bobs.path("ip").asText();
      SshUser.Run spoof = inside(alice, "invm-alices", """
          sudo ip addr add %s/32 dev eth0
          python3 - %s "$BOXD_GATEWAY" <<'EOF'
          import socket, sys
          def call(source):
              s = socket.socket()
              s.settimeout(3)
              if source:
                  s.bind((source, 0))
              try:
                  s.connect((sys.argv[2], 9002))
                  return "connected"
              except OSError as e:
                  return type(e).__name__
          print("spoofed:", call(sys.argv[1]))
          print("own:", call(None))
          EOF
          sudo ip addr del %s/32 dev eth0
          """.formatted(bobsIp, bobsIp, bobsIp));
      assertThat(spoof.exit()).as(spoof.err()).isZero();
      assertThat(spoof.out()).contains("spoofed: TimeoutError").contains("own: connected");
    } finally {
      bob.run("destroy", "-y", "invm-bobs");
      alice.run("destroy", "-y", "invm-alices");
    }
  }
}
