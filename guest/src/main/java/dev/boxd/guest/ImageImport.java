package dev.boxd.guest;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.core.ImageNames;
import dev.boxd.guest.archive.ArchiveException;
import dev.boxd.guest.archive.ImageArchive;
import dev.boxd.guest.archive.RootTree;
import dev.boxd.os.HostCommand;
import dev.boxd.os.Trees;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Consumer;

/**
 * {@code boxd image import FILE --name=NAME}: an image made of a root file system tarball or a
 * {@code docker save} archive. The archive is read and checked whole first ({@link ImageArchive}:
 * traversal, links, truncation, and that the root has systemd, sshd and sudo), then unpacked and
 * finished by {@code guest/image/import-image.sh} with the steps a recipe's build ends with. The
 * image is kept under its content hash (the archive's digest and everything that finishes it),
 * so importing one archive twice makes it once; the name is a file in {@code images/names}
 * pointing at that hash, replaced whole. A failure removes everything the import made.
 */
public final class ImageImport {
  private final ImageStore store;

  public ImageImport(ImageStore store) {
    this.store = store;
  }

  /** Imports {@code archive} as {@code name} and returns the image. */
  public GuestImage run(Path archive, String name, Consumer<String> progress) {
    ImageNames.requireValid(name);
    if (ImageStore.recipes(store.recipeDir()).contains(name)) {
      throw BoxdException.invalid("image name '" + name + "' is the name of a recipe (" + ImageStore.recipes(store.recipeDir())
          + "); choose another --name");
    }
    Path imagesDir = store.imagesDir();
    try {
      Files.createDirectories(imagesDir);
      progress.accept("reading " + archive);
      String sha = sha256(archive);
      String hash = store.importHash(sha);
      Path target = imagesDir.resolve(hash);
      try (FileChannel lock = FileChannel.open(imagesDir.resolve(".build.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
          var held = lock.lock()) {
        if (!Files.isRegularFile(target.resolve("manifest.json"))) {
          build(archive, name, sha, hash, target, progress);
        } else {
          progress.accept("image " + hash.substring(0, 12) + " of this archive is already imported: " + target);
        }
        nameImage(name, hash);
      }
      progress.accept("image " + name + " = " + hash.substring(0, 12) + ": " + target);
      return new GuestImage(hash, target).validate();
    } catch (IOException e) {
      throw new UncheckedIOException("image import failed: " + e.getMessage(), e);
    }
  }

  private void build(Path archive, String name, String sha, String hash, Path target, Consumer<String> progress) throws IOException {
    Path work = store.imagesDir().resolve(".import-" + hash.substring(0, 12));
    removeWork(work);
    Files.createDirectories(work);
    try {
      ImageArchive image = ImageArchive.open(archive, work.resolve("layers"));
      progress.accept(image.kind() == ImageArchive.Kind.DOCKER_SAVE
          ? "docker save archive, " + image.layers().size() + " layers" : "root file system tarball");
      requireBootable(image.tree());
      Path root = work.resolve("root");
      Files.createDirectories(root);
      progress.accept("unpacking into " + root);
      image.unpack(root);
      Path agent = work.resolve("boxd-agent");
      Path cli = work.resolve("boxd");
      Path out = work.resolve("out");
      Path guest = store.recipeDir();
      ImageStore.runStep(progress, List.of("bash", guest.resolve("agent/build.sh").toString(), agent.toString()));
      ImageStore.runStep(progress, List.of("bash", guest.resolve("cli/build.sh").toString(), cli.toString()));
      ImageStore.runStep(progress, List.of("env", "IMPORT_NAME=" + name, "IMPORT_KIND=" + image.kind().name().toLowerCase(),
          "IMPORT_SHA256=" + sha, "bash", guest.resolve("image/import-image.sh").toString(), out.toString(), root.toString(),
          agent.toString(), cli.toString()));
      Files.move(out, target, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      removeWork(work);
    }
  }

  // rm, not a walk from Java: an unpacked root has tens of thousands of files (a Debian root with
  // a toolchain took 51 s to walk and delete from Java on a loaded host). Nothing is ever mounted
  // below an import's work directory (no chroot mounts, unlike a recipe build): Trees checks.
  private static void removeWork(Path work) {
    if (Files.exists(work)) {
      Trees.requireNothingMountedBelow(work);
      HostCommand.run("rm", "-rf", "--one-file-system", "--", work.toString());
    }
  }

  /**
   * What a boxd VM needs of the image, checked before anything is unpacked: it boots systemd and
   * serves SSH as user boxd, who administers it through sudo.
   */
  static void requireBootable(RootTree tree) {
    if (!exists(tree, "usr/lib/systemd/systemd", "lib/systemd/systemd")) {
      throw new ArchiveException("the image has no systemd: boxd VMs boot systemd; base it on debian:12 or install systemd"
          + " (with systemd-sysv, openssh-server and sudo)");
    }
    if (!exists(tree, "sbin/init", "usr/sbin/init")) {
      throw new ArchiveException("the image has no /sbin/init: boxd VMs boot systemd as init; install systemd-sysv");
    }
    if (!exists(tree, "usr/sbin/sshd", "sbin/sshd")) {
      throw new ArchiveException("the image has no OpenSSH server (/usr/sbin/sshd): boxd VMs serve SSH; install openssh-server");
    }
    if (!exists(tree, "usr/bin/sudo")) {
      throw new ArchiveException("the image has no sudo: user boxd administers the VM through it; install sudo");
    }
  }

  // A path through the merged-/usr links of a Debian root (lib -> usr/lib) counts as well.
  private static boolean exists(RootTree tree, String... paths) {
    for (String p : paths) {
      if (tree.contains(p)) {
        return true;
      }
    }
    return false;
  }

  private void nameImage(String name, String hash) throws IOException {
    Path names = store.namesDir();
    Files.createDirectories(names);
    Path tmp = names.resolve("." + name + ".tmp");
    Files.writeString(tmp, hash + "\n");
    Files.move(tmp, names.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private static String sha256(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      byte[] buffer = new byte[1 << 16];
      for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
        digest.update(buffer, 0, n);
      }
      return HexFormat.of().formatHex(digest.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new BoxdException(ErrorCode.INVALID_ARGUMENT, "no such file: " + file);
    }
  }
}
