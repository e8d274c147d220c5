package dev.boxd.sdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SettingsTest {
  static final String KEY = "bxd_" + "a".repeat(43);
  @TempDir Path dir;

  Settings.Host laptop() {
    return new Settings.Host(dir.resolve("no-agent"), dir.resolve("no-routes"));
  }

  Settings.Host vm(String routes) throws IOException {
    Path agent = Files.writeString(dir.resolve("boxd-agent"), "#!/bin/sh\n");
    return new Settings.Host(agent, Files.writeString(dir.resolve("route"), routes));
  }

  static Settings fromEnv(Map<String, String> env, Settings.Host host) {
    return Settings.resolve(Settings.Given.fromEnvironment(env), host);
  }

  @Test
  void anApiKeyAndAUrlFromTheEnvironment() {
    Settings s = fromEnv(Map.of("BOXD_API_URL", "https://boxd.example:9443", "BOXD_API_KEY", KEY), laptop());
    assertThat(s.endpoint()).isEqualTo(new Endpoint("boxd.example", 9443, false));
    assertThat(s.credential()).isEqualTo(new Settings.Credential.ApiKey(KEY));
    assertThat(s.credential().toString()).doesNotContain(KEY);
  }

  @Test
  void boxdTokenHoldsAnApiKeyOrAJwtToldByThePrefix() {
    assertThat(fromEnv(Map.of("BOXD_API_URL", "https://h", "BOXD_TOKEN", KEY), laptop()).credential())
        .isEqualTo(new Settings.Credential.ApiKey(KEY));
    assertThat(fromEnv(Map.of("BOXD_API_URL", "https://h", "BOXD_TOKEN", "eyJhbGciOi.x.y"), laptop()).credential())
        .isEqualTo(new Settings.Credential.Token("eyJhbGciOi.x.y"));
  }

  @Test
  void bothAKeyAndATokenIsRefusedNamingBoth() {
    assertThatThrownBy(() -> fromEnv(Map.of("BOXD_API_URL", "https://h", "BOXD_TOKEN", "eyJ", "BOXD_API_KEY", KEY), laptop()))
        .hasMessageContaining("BOXD_API_KEY").hasMessageContaining("BOXD_TOKEN");
  }

  @Test
  void aCaCertificatePathMustBeReadable() throws IOException {
    Path pem = Files.writeString(dir.resolve("ca.pem"), "-----BEGIN CERTIFICATE-----\n");
    assertThat(fromEnv(Map.of("BOXD_API_URL", "https://h", "BOXD_API_KEY", KEY, "BOXD_CA_CERT", pem.toString()), laptop()).caCertificate())
        .isEqualTo(pem);
    assertThatThrownBy(() -> fromEnv(Map.of("BOXD_API_URL", "https://h", "BOXD_API_KEY", KEY, "BOXD_CA_CERT", "/nonexistent.pem"), laptop()))
        .hasMessageContaining("/nonexistent.pem").hasMessageContaining("BOXD_CA_CERT");
  }

  @Test
  void insideAVmWithNothingSetTheInVmApiAtTheGatewayWithoutToken() throws IOException {
    Settings s = fromEnv(Map.of(), vm("Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n"
        + "eth0\t00000000\t0100640A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"));
    assertThat(s.endpoint()).isEqualTo(new Endpoint("10.100.0.1", 9003, true));
    assertThat(s.endpoint().url()).isEqualTo("http://10.100.0.1:9003");
    assertThat(s.credential()).isEqualTo(new Settings.Credential.None());
  }

  @Test
  void insideAVmAKeyStillNeedsAUrl() throws IOException {
    assertThatThrownBy(() -> fromEnv(Map.of("BOXD_API_KEY", KEY), vm("")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("BOXD_API_URL");
  }

  @Test
  void aVmWithoutDefaultRouteSaysToSetTheUrl() throws IOException {
    assertThatThrownBy(() -> fromEnv(Map.of(), vm("Iface\tDestination\tGateway\n"))).hasMessageContaining("default route")
        .hasMessageContaining("BOXD_API_URL");
  }

  @Test
  void elsewhereWithNothingSetTheErrorSaysWhatToSet() {
    assertThatThrownBy(() -> fromEnv(Map.of(), laptop())).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("BOXD_API_URL").hasMessageContaining("BOXD_API_KEY");
    assertThatThrownBy(() -> fromEnv(Map.of("BOXD_API_KEY", KEY), laptop())).hasMessageContaining("BOXD_API_URL");
  }

  @Test
  void blankVariablesCountAsUnset() {
    Settings s = fromEnv(Map.of("BOXD_API_URL", "http://10.0.0.1:9003", "BOXD_API_KEY", " ", "BOXD_TOKEN", ""), laptop());
    assertThat(s.credential()).isEqualTo(new Settings.Credential.None());
  }

  @Test
  void aKeyWithoutItsPrefixIsRefused() {
    assertThatThrownBy(() -> Settings.resolve(new Settings.Given("https://h", "eyJ.x.y", null, null), laptop()))
        .hasMessageContaining("bxd_").hasMessageContaining("token");
  }

  @Test
  void urlsParse() {
    assertThat(Endpoint.parse("https://boxd.example")).isEqualTo(new Endpoint("boxd.example", 9443, false));
    assertThat(Endpoint.parse("https://localhost:61234/")).isEqualTo(new Endpoint("localhost", 61234, false));
    assertThat(Endpoint.parse("http://10.0.0.1:9003")).isEqualTo(new Endpoint("10.0.0.1", 9003, true));
    assertThat(Endpoint.parse("https://[::1]:9443").url()).isEqualTo("https://[::1]:9443");
    assertThatThrownBy(() -> Endpoint.parse("http://10.0.0.1")).hasMessageContaining("needs a port");
    assertThatThrownBy(() -> Endpoint.parse("boxd.example:9443")).hasMessageContaining("https://");
    assertThatThrownBy(() -> Endpoint.parse("https://h/api/v1")).hasMessageContaining("only scheme, host and port");
  }
}
