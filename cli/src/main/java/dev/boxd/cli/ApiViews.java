package dev.boxd.cli;

import dev.boxd.api.v1.ApiKey;
import dev.boxd.api.v1.ExposePortResponse;
import dev.boxd.api.v1.GetVmResponse;
import dev.boxd.api.v1.Proxy;
import dev.boxd.api.v1.Snapshot;
import dev.boxd.verbs.Operations;
import java.util.Optional;

/** API messages as the verbs' views: the inverse of the server's mapping (proto3's empty strings are the views' nulls). */
final class ApiViews {
  private ApiViews() {}

  static Operations.VmView vm(GetVmResponse vm) {
    return new Operations.VmView(vm.getVmId(), vm.getName(), vm.getStatus(), orNull(vm.getIp()), orNull(vm.getPublicIp()), orNull(vm.getImage()),
        orNull(vm.getUrl()), vm.getBootTimeMs(), vm.getVcpus(), vm.getMemoryMib(), vm.getDiskGb(), orNull(vm.getCreatedAt()),
        vm.getAutoSuspendSecs(), vm.getDetail(), Optional.empty(), vm.getSsh(), vm.getIsolated());
  }

  static Operations.ProxyView proxy(Proxy p) {
    return new Operations.ProxyView(p.getName(), p.getVmName(), orNull(p.getDomain()), p.getPort());
  }

  static Operations.ExposeView exposed(ExposePortResponse e) {
    return new Operations.ExposeView(e.getVmId(), e.getVmName(), orNull(e.getDns()), orNull(e.getHost()), e.getVmPort(), e.getProtocol(),
        e.getPublicPort());
  }

  static Operations.SnapshotView snapshot(Snapshot s) {
    return new Operations.SnapshotView(orNull(s.getId()), s.getName(), orNull(s.getVm()), orNull(s.getCreatedAt()), s.getSizeBytes());
  }

  static Operations.ApiKeyView apiKey(ApiKey k) {
    return new Operations.ApiKeyView(k.getId(), k.getName(), k.getCreatedAt(), optional(k.getExpiresAt()), optional(k.getRevokedAt()));
  }

  private static String orNull(String value) {
    return value.isEmpty() ? null : value;
  }

  private static Optional<String> optional(String value) {
    return value.isEmpty() ? Optional.empty() : Optional.of(value);
  }
}
