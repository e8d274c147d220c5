package dev.boxd.vmm;

import dev.boxd.core.MachineShape;
import dev.boxd.core.BoxdException;
import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Properties;

/**
 * A VM saved to a directory: its memory delta over the RAM template ({@code memory.delta}), its
 * device state ({@code devices.state}) and the frozen disk layer its disk was at, named in
 * {@code snapshot.properties} (written last: a directory without it is not a snapshot). The same
 * three things a fork takes, kept in files for hibernation and {@code snapshot save}.
 *
 * @param downtime how long the VM was stopped to take it (zero if it was paused already)
 */
public record SavedSnapshot(Path dir, int format, Path frozenDisk, Path ramFile, MachineShape shape, long deltaBytes,
    Duration downtime) {
  public static final int FORMAT = 1;

  public static Path manifest(Path dir) {
    return dir.resolve("snapshot.properties");
  }

  public Path memoryDelta() {
    return dir.resolve("memory.delta");
  }

  public Path deviceState() {
    return dir.resolve("devices.state");
  }

  static Path memoryDelta(Path dir) {
    return dir.resolve("memory.delta");
  }

  static Path deviceState(Path dir) {
    return dir.resolve("devices.state");
  }

  void writeManifest() {
    Properties p = new Properties();
    p.setProperty("format", Integer.toString(format));
    p.setProperty("disk", frozenDisk.toString());
    p.setProperty("ram", ramFile.toString());
    p.setProperty("vcpus", Integer.toString(shape.vcpus()));
    p.setProperty("memoryMib", Integer.toString(shape.memoryMib()));
    p.setProperty("deltaBytes", Long.toString(deltaBytes));
    p.setProperty("downtimeMicros", Long.toString(downtime.toNanos() / 1000));
    try {
      Path tmp = dir.resolve("snapshot.properties.tmp");
      try (var out = Files.newBufferedWriter(tmp)) {
        p.store(out, "boxd saved VM");
      }
      Files.move(tmp, manifest(dir), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + manifest(dir) + ": " + e.getMessage(), e);
    }
  }

  /** Reads a snapshot directory, refusing one that is incomplete or of another format. */
  public static SavedSnapshot read(Path dir) {
    Properties p = new Properties();
    try {
      if (!Files.isRegularFile(manifest(dir))) {
        throw BoxdException.notFound("no saved snapshot in " + dir + ": " + manifest(dir).getFileName() + " is missing");
      }
      p.load(new StringReader(Files.readString(manifest(dir))));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + manifest(dir) + ": " + e.getMessage(), e);
    }
    int format = Integer.parseInt(p.getProperty("format", "0"));
    if (format != FORMAT) {
      throw BoxdException.invalid("saved snapshot " + dir + " has format " + format + ": expected " + FORMAT);
    }
    return new SavedSnapshot(dir, format, Path.of(p.getProperty("disk")), Path.of(p.getProperty("ram")),
        new MachineShape(Integer.parseInt(p.getProperty("vcpus")), Integer.parseInt(p.getProperty("memoryMib"))),
        Long.parseLong(p.getProperty("deltaBytes")), Duration.ofNanos(Long.parseLong(p.getProperty("downtimeMicros")) * 1000));
  }
}
