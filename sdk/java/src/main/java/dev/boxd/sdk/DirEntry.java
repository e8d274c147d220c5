package dev.boxd.sdk;

/**
 * One entry of a directory in a VM.
 *
 * @param type {@code file}, {@code dir}, {@code link} or {@code other}
 * @param mode permission bits, such as 0644
 * @param modifiedAt RFC 3339, UTC
 */
public record DirEntry(String name, String type, long size, int mode, String modifiedAt) {
  public boolean isDirectory() {
    return type.equals("dir");
  }

  static DirEntry of(dev.boxd.api.v1.DirEntry e) {
    return new DirEntry(e.getName(), e.getType(), e.getSize(), e.getMode(), e.getModifiedAt());
  }
}
