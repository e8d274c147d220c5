package dev.boxd.guest.archive;

/** Archives of {@link TarWriter} for tests outside this package. */
public final class TarWriterAccess {
  /** A root file system like the debian:12 container image's: a shell, no systemd, no sshd. */
  public byte[] debianWithoutSystemd() {
    return new TarWriter().dir("etc/").file("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n").dir("usr/").dir("usr/bin/")
        .file("usr/bin/bash", "#").symlink("bin", "usr/bin").bytes();
  }
}
