package dev.boxd.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.core.BoxdException;
import java.util.List;
import org.junit.jupiter.api.Test;

class GlobalOptionsTest {
  @Test
  void takesTheGlobalOptionsWhereverTheyStandBeforeTheCommand() {
    var options = GlobalOptions.parse(List.of("machine", "get", "app", "--json", "--api-url", "https://h:9443", "--org=acme"));
    assertThat(options.rest()).containsExactly("machine", "get", "app", "--json");
    assertThat(options.apiUrl()).hasValue("https://h:9443");
    assertThat(options.org()).hasValue("acme");
  }

  @Test
  void leavesTheVmsCommandAlone() {
    var options = GlobalOptions.parse(List.of("exec", "app", "--", "curl", "--api-url", "x"));
    assertThat(options.rest()).containsExactly("exec", "app", "--", "curl", "--api-url", "x");
    assertThat(options.apiUrl()).isEmpty();
  }

  @Test
  void aGlobalOptionWithoutAValueIsAClearError() {
    assertThatThrownBy(() -> GlobalOptions.parse(List.of("list", "--api-url"))).isInstanceOf(BoxdException.class)
        .hasMessageContaining("--api-url needs a value");
    assertThatThrownBy(() -> GlobalOptions.parse(List.of("list", "--org="))).hasMessageContaining("--org is empty");
  }
}
