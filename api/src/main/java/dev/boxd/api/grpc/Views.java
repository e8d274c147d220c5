package dev.boxd.api.grpc;

import dev.boxd.api.v1.CreateVmResponse;
import dev.boxd.api.v1.ExposePortResponse;
import dev.boxd.api.v1.GetVmResponse;
import dev.boxd.api.v1.Proxy;
import dev.boxd.api.v1.Snapshot;
import dev.boxd.verbs.Operations.ExposeView;
import dev.boxd.verbs.Operations.ProxyView;
import dev.boxd.verbs.Operations.SnapshotView;
import dev.boxd.api.v1.ApiKey;
import dev.boxd.verbs.Operations;
import dev.boxd.verbs.Operations.VmView;

/** The verbs' views as API messages: one mapper per resource; absent values are empty strings, as proto3 has it. */
final class Views {
  private Views() {}

  static GetVmResponse vm(VmView vm) {
    return GetVmResponse.newBuilder()
        .setVmId(vm.id())
        .setName(vm.name())
        .setPublicIp(text(vm.publicIp()))
        .setStatus(vm.status())
        .setIsolated(vm.isolated())
        .setUrl(text(vm.url()))
        .setIp(text(vm.ip()))
        .setImage(text(vm.image()))
        .setVcpus(vm.vcpus())
        .setMemoryMib(vm.memoryMib())
        .setDiskGb(vm.diskGb())
        .setCreatedAt(text(vm.createdAt()))
        .setAutoSuspendSecs(vm.autoSuspendSecs())
        .setDetail(vm.detail())
        .setSsh(vm.ssh())
        .setBootTimeMs(vm.bootTimeMs())
        .build();
  }

  static CreateVmResponse created(VmView vm) {
    return CreateVmResponse.newBuilder()
        .setVmId(vm.id())
        .setName(vm.name())
        .setPublicIp(text(vm.publicIp()))
        .setUrl(text(vm.url()))
        .setImage(text(vm.image()))
        .setStatus(vm.status())
        .setBootTimeMs(vm.bootTimeMs())
        .setVm(vm(vm))
        .build();
  }

  static ExposePortResponse exposed(ExposeView view) {
    return ExposePortResponse.newBuilder()
        .setVmName(view.vm())
        .setDns(text(view.dns()))
        .setPublicPort(view.publicPort())
        .setVmPort(view.vmPort())
        .setProtocol(view.protocol())
        .setVmId(view.vmId())
        .setHost(text(view.host()))
        .build();
  }

  static Proxy proxy(ProxyView view) {
    return Proxy.newBuilder().setName(view.name()).setVmName(view.vm()).setDomain(text(view.domain())).setPort(view.port()).build();
  }

  static Snapshot snapshot(SnapshotView view) {
    return Snapshot.newBuilder()
        .setId(text(view.id()))
        .setName(view.name())
        .setVm(text(view.vm()))
        .setCreatedAt(text(view.createdAt()))
        .setSizeBytes(view.sizeBytes())
        .build();
  }

  private static String text(String value) {
    return value == null ? "" : value;
  }

  static ApiKey apiKey(Operations.ApiKeyView key) {
    return ApiKey.newBuilder().setId(key.id()).setName(key.name()).setCreatedAt(key.createdAt())
        .setExpiresAt(key.expiresAt().orElse("")).setRevokedAt(key.revokedAt().orElse("")).build();
  }
}
