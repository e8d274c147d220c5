package dev.boxd.edge.route;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class EdgeNameTest {
  @Test
  void aVmNameAndAProxyUnderTheZone() {
    assertThat(EdgeName.parse("app.localhost", "localhost")).contains(new EdgeName("app", Optional.empty()));
    assertThat(EdgeName.parse("api.app.localhost", "localhost")).contains(new EdgeName("app", Optional.of("api")));
    assertThat(EdgeName.parse("api.app.localhost", "localhost").orElseThrow().under("localhost")).isEqualTo("api.app.localhost");
  }

  @Test
  void hostHeadersCarryPortsCaseAndTrailingDots() {
    assertThat(EdgeName.parse("App.LocalHost:8443", "localhost")).contains(new EdgeName("app", Optional.empty()));
    assertThat(EdgeName.parse("app.localhost.", "localhost")).contains(new EdgeName("app", Optional.empty()));
    assertThat(EdgeName.parse("app.box.example.com", "box.example.com")).contains(new EdgeName("app", Optional.empty()));
  }

  @Test
  void anythingElseIsNotOurs() {
    assertThat(EdgeName.parse("localhost", "localhost")).isEmpty();
    assertThat(EdgeName.parse("a.b.c.localhost", "localhost")).isEmpty();
    assertThat(EdgeName.parse("app.example.com", "localhost")).isEmpty();
    assertThat(EdgeName.parse("evillocalhost", "localhost")).isEmpty();
    assertThat(EdgeName.parse("-x.localhost", "localhost")).isEmpty();
    assertThat(EdgeName.parse("a_b.localhost", "localhost")).isEmpty();
    assertThat(EdgeName.parse("..localhost", "localhost")).isEmpty();
    assertThat(EdgeName.parse("[::1]:443", "localhost")).isEmpty();
    assertThat(EdgeName.parse("app.localhost:", "localhost")).isEmpty();
    assertThat(EdgeName.parse("", "localhost")).isEmpty();
    assertThat(EdgeName.parse(null, "localhost")).isEmpty();
  }

  @Test
  void aRouteTableCanLeadProxiesToTheirPorts() {
    RouteTable table = name -> name.sub().filter("api"::equals).map(sub -> new Route("vm-1", name.vm(), 3000));
    assertThat(table.route(EdgeName.parse("api.app.localhost", "localhost").orElseThrow())).contains(new Route("vm-1", "app", 3000));
    assertThat(table.route(EdgeName.parse("app.localhost", "localhost").orElseThrow())).isEmpty();
  }
}
