package dev.boxd.verbs;

import dev.boxd.core.BoxdException;
import java.util.Optional;

/**
 * {@link RecordingOperations} as the machine verbs' tests need it: a VM is found by its id too
 * ({@code id-NAME}, as the real operations do), and fork, hibernate and auto-suspend work.
 */
class MachineOperations extends RecordingOperations {
  /** A NOT_FOUND that create throws when set, as a missing snapshot does. */
  volatile BoxdException createFails;

  @Override
  MachineOperations with(String name, String status) {
    super.with(name, status);
    return this;
  }

  @Override
  protected VmView existing(String vm) {
    return vms.values().stream().filter(v -> v.id().equals(vm)).findFirst().orElseGet(() -> super.existing(vm));
  }

  @Override
  public VmView create(NewRequest request) {
    if (createFails != null) {
      throw createFails;
    }
    return super.create(request);
  }

  @Override
  public ForkView fork(String source, Optional<String> name, Optional<Integer> autoSuspendSecs) {
    calls.add("fork " + source + " " + name.orElse("-"));
    VmView src = existing(source);
    VmView copy = view(name.orElse(src.name() + "-fork"), "running");
    vms.put(copy.name(), copy);
    return new ForkView(copy, src.name());
  }

  @Override
  public VmView hibernate(String vm) {
    calls.add("hibernate " + vm);
    return view(existing(vm).name(), "hibernated");
  }

  @Override
  public VmView setAutoSuspend(String vm, int seconds) {
    calls.add("setAutoSuspend " + vm + " " + seconds);
    VmView v = existing(vm);
    VmView changed = new VmView(v.id(), v.name(), v.status(), v.ip(), v.publicIp(), v.image(), v.url(), v.bootTimeMs(), v.vcpus(),
        v.memoryMib(), v.diskGb(), v.createdAt(), seconds, v.detail(), v.egress(), v.ssh(), v.isolated());
    vms.put(v.name(), changed);
    return changed;
  }
}
