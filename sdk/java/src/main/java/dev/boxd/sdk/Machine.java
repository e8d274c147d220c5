package dev.boxd.sdk;

import dev.boxd.api.v1.CreateVmResponse;
import dev.boxd.api.v1.GetVmResponse;
import java.time.Instant;

/**
 * A VM as the server last reported it (GetVm's answer). Status words: {@code creating},
 * {@code booting}, {@code running}, {@code standby}, {@code hibernated}, {@code stopped},
 * {@code failed}, {@code destroying}.
 *
 * @param publicIp empty when the VM has none
 * @param ip its private address
 * @param url {@code https://NAME.<zone>}
 * @param autoSuspendSecs idle seconds before standby; 0: auto-suspend off
 * @param ssh the command that logs into the VM; empty without one
 * @param createdAt null when the server does not say
 * @param detail why a VM failed, or what it was restarted after; empty when there is nothing to say
 */
public record Machine(String id, String name, String status, String publicIp, String ip, String url, String image, int vcpus,
    int memoryMib, boolean isolated, int autoSuspendSecs, String ssh, Instant createdAt, long bootTimeMs, int diskGb, String detail) {

  /** Whether it answers now (running), as opposed to waking on demand (standby, hibernated) or being down. */
  public boolean isRunning() {
    return status.equals("running");
  }

  static Machine of(GetVmResponse vm) {
    Instant created = vm.getCreatedAt().isEmpty() ? null : Instant.parse(vm.getCreatedAt());
    return new Machine(vm.getVmId(), vm.getName(), vm.getStatus(), vm.getPublicIp(), vm.getIp(), vm.getUrl(), vm.getImage(), vm.getVcpus(),
        vm.getMemoryMib(), vm.getIsolated(), vm.getAutoSuspendSecs(), vm.getSsh(), created, vm.getBootTimeMs(), vm.getDiskGb(),
        vm.getDetail());
  }

  // A server that answers with SPEC §8's fields only (no vm = 100) still gives a usable Machine.
  static Machine created(CreateVmResponse created) {
    if (created.hasVm()) {
      return of(created.getVm());
    }
    return of(GetVmResponse.newBuilder().setVmId(created.getVmId()).setName(created.getName()).setPublicIp(created.getPublicIp())
        .setUrl(created.getUrl()).setImage(created.getImage()).setStatus(created.getStatus()).setBootTimeMs(created.getBootTimeMs()).build());
  }
}
