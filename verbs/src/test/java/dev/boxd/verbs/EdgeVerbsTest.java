package dev.boxd.verbs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.ErrorCode;
import dev.boxd.verbs.testing.FakeOperations;
import org.junit.jupiter.api.Test;

class EdgeVerbsTest {
  private static final int INVALID = ErrorCode.INVALID_ARGUMENT.exitCode();
  private final FakeOperations ops = FakeOperations.builder().vm("app", "running").vm("db", "running").build();

  @Test
  void proxyNewListSetPortAndDeleteWithJson() {
    var added = Run.of(ops, "proxy", "new", "web", "--port=3000", "--vm", "app", "--json");
    assertThat(added.exit).as(added.toString()).isZero();
    assertThat(added.json().toString()).isEqualTo("{\"name\":\"web\",\"vm\":\"app\",\"domain\":\"web.app.boxd.test\",\"port\":3000}");

    var list = Run.of(ops, "proxy", "list", "--vm=app", "--json").json();
    assertThat(list).hasSize(2);
    assertThat(list.get(0).get("name").asText()).isEqualTo("default");
    assertThat(list.get(0).get("domain").asText()).isEqualTo("app.boxd.test");
    assertThat(list.get(0).get("port").asInt()).isEqualTo(8000);

    assertThat(Run.of(ops, "proxy", "set-port", "--port=9000", "--vm=app").exit).isZero();
    assertThat(Run.of(ops, "proxy", "set-port", "web", "--port", "auto", "--vm=app").exit).isZero();
    assertThat(ops.calls).contains("setProxyPort app default 9000", "setProxyPort app web auto");
    var text = Run.of(ops, "proxy", "list");
    assertThat(text.out).contains("web.app.boxd.test").contains("9000").contains("db.boxd.test");

    for (String alias : new String[] {"delete", "remove", "rm"}) {
      Run.of(ops, "proxy", "new", "tmp", "--port=1", "--vm=app");
      assertThat(Run.of(ops, "proxy", alias, "tmp", "--vm=app").exit).as(alias).isZero();
    }
    assertThat(ops.calls).contains("removeProxy app tmp");
  }

  @Test
  void overSshTheVmMustBeNamedAndInsideAVmItDefaultsToIt() {
    var missing = Run.of(ops, "proxy", "new", "web", "--port=3000");
    assertThat(missing.exit).isEqualTo(INVALID);
    assertThat(missing.err).contains("missing --vm=NAME");

    var inside = FakeOperations.builder().vm("app", "running").currentVm("app").build();
    assertThat(Run.of(inside, "proxy", "new", "web", "--port=3000").exit).isZero();
    assertThat(inside.calls).contains("addProxy app web 3000");
    Run.of(inside, "proxy", "list");
    Run.of(inside, "proxy", "list", "--all");
    assertThat(inside.calls).contains("proxies app", "proxies *");
  }

  @Test
  void badRouteNamesAndPortsAreRefusedBeforeAnythingIsWritten() {
    assertError(Run.of(ops, "proxy", "new", "Bad_Name", "--port=3000", "--vm=app"), "invalid route name \"Bad_Name\": expected a DNS label");
    assertError(Run.of(ops, "proxy", "new", "-x-", "--port=3000", "--vm=app"), "unknown flag");
    assertError(Run.of(ops, "proxy", "new", "default", "--port=3000", "--vm=app"), "every VM has the route \"default\"");
    assertError(Run.of(ops, "proxy", "new", "web", "--port=0", "--vm=app"), "invalid --port \"0\": expected a port number from 1 to 65535");
    assertError(Run.of(ops, "proxy", "new", "web", "--port=65536", "--vm=app"), "invalid --port \"65536\"");
    assertError(Run.of(ops, "proxy", "new", "web", "--port=abc", "--vm=app"), "invalid --port \"abc\"");
    assertError(Run.of(ops, "proxy", "new", "web", "--vm=app"), "missing --port=N");
    assertError(Run.of(ops, "proxy", "set-port", "--port=abc", "--vm=app"), "expected a port number from 1 to 65535, or auto");
    assertError(Run.of(ops, "proxy", "fly"), "unknown proxy action \"fly\"");
    assertError(Run.of(ops, "proxy", "new", "web", "--port=1", "--all"), "--all goes with proxy list only");
    assertError(Run.of(ops, "proxy", "list", "--vm=app", "--all"), "--vm and --all exclude each other");
    assertThat(ops.calls).noneMatch(c -> c.startsWith("addProxy") || c.startsWith("setProxyPort"));
  }

  @Test
  void aDuplicateRouteIsAlreadyExistsAsJson() {
    Run.of(ops, "proxy", "new", "web", "--port=3000", "--vm=app");
    var again = Run.of(ops, "proxy", "new", "web", "--port=3001", "--vm=app", "--json");
    assertThat(again.exit).isEqualTo(ErrorCode.ALREADY_EXISTS.exitCode());
    assertThat(again.json().get("error").get("code").asText()).isEqualTo("ALREADY_EXISTS");
  }

  @Test
  void exposeTcpAndUdpKeepsThePublicPortAndListsAndRemoves() {
    var tcp = Run.of(ops, "expose", "app", "5000", "--json").json();
    assertThat(tcp.get("vm_id").asText()).isEqualTo("id-app");
    assertThat(tcp.get("vm_port").asInt()).isEqualTo(5000);
    assertThat(tcp.get("protocol").asText()).isEqualTo("tcp");
    assertThat(tcp.get("host").asText()).isEqualTo("127.0.0.1");
    assertThat(tcp.get("dns").asText()).isEqualTo("app.boxd.test");
    int publicPort = tcp.get("public_port").asInt();
    assertThat(Run.of(ops, "expose", "app", "5000", "--json").json().get("public_port").asInt()).isEqualTo(publicPort);
    assertThat(Run.of(ops, "expose", "app", "5000", "--udp", "--json").json().get("protocol").asText()).isEqualTo("udp");

    assertThat(Run.of(ops, "expose", "--list", "--json").json()).hasSize(2);
    assertThat(Run.of(ops, "expose", "app", "--list").out).contains("app.boxd.test:" + publicPort);
    assertThat(Run.of(ops, "expose", "app", "5000", "--remove").exit).isZero();
    assertThat(ops.calls).contains("unexpose app tcp 5000");
  }

  @Test
  void exposeRefusesBadInput() {
    assertError(Run.of(ops, "expose", "app"), "missing PORT");
    assertError(Run.of(ops, "expose", "app", "0"), "invalid PORT \"0\"");
    assertError(Run.of(ops, "expose", "app", "65536"), "invalid PORT \"65536\"");
    assertError(Run.of(ops, "expose", "app", "abc"), "invalid PORT \"abc\"");
    assertError(Run.of(ops, "expose", "app", "80", "--tcp", "--udp"), "--tcp and --udp exclude each other");
    assertError(Run.of(ops, "expose", "app", "80", "--list"), "expose --list takes at most NAME");
    assertThat(ops.calls).noneMatch(c -> c.startsWith("expose"));
  }

  @Test
  void infoShowsTheSshCommandAsAString() {
    var withSsh = FakeOperations.builder().vmView((name, status) -> FakeOperations.builder().build().view(name, status)
        .withSsh("ssh -p 12345 boxd@" + name + ".boxd.test")).vm("app", "running").build();
    assertThat(Run.of(withSsh, "info", "app", "--json").json().get("ssh").asText()).isEqualTo("ssh -p 12345 boxd@app.boxd.test");
    assertThat(Run.of(withSsh, "info", "app").out).contains("ssh:").contains("ssh -p 12345 boxd@app.boxd.test");
  }

  private static void assertError(Run run, String message) {
    assertThat(run.exit).as(run.toString()).isEqualTo(INVALID);
    assertThat(run.err).contains(message);
  }
}
