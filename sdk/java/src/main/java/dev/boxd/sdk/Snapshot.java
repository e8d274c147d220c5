package dev.boxd.sdk;

/**
 * A named memory-and-disk snapshot, which outlives its VM.
 *
 * @param vm the VM it was taken of
 * @param createdAt RFC 3339
 * @param sizeBytes known right after saving; 0 in lists
 */
public record Snapshot(String id, String name, String vm, String createdAt, long sizeBytes) {
  static Snapshot of(dev.boxd.api.v1.Snapshot s) {
    return new Snapshot(s.getId(), s.getName(), s.getVm(), s.getCreatedAt(), s.getSizeBytes());
  }
}
