package dev.boxd.worker.runtime;

import dev.boxd.guest.ImageStore;
import dev.boxd.net.NetworkConfig;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * @param stateDir this worker's VMs ({@code vms/<id>/})
 * @param cacheDir built images and goldens, shareable between workers of one machine and tests
 * @param recipeDir the {@code guest} directory of the source tree (image recipe and agent)
 * @param platformKey a public key in authorized_keys form that every VM's user {@code boxd}
 *     accepts ({@code ~/.ssh/authorized_keys}): the key the SSH gateway logs into VMs with
 * @param imageRecipe the image recipe VMs boot from ({@code guest/image/recipes/NAME}); the
 *     default, {@link ImageStore#DEFAULT_RECIPE}, unless a test names another
 */
public record RuntimeConfig(Path stateDir, Path cacheDir, Path recipeDir, NetworkConfig network, Optional<String> platformKey,
    String imageRecipe) {

  public RuntimeConfig {
    Objects.requireNonNull(platformKey, "platformKey");
    Objects.requireNonNull(imageRecipe, "imageRecipe");
  }

  public RuntimeConfig(Path stateDir, Path cacheDir, Path recipeDir, NetworkConfig network, Optional<String> platformKey) {
    this(stateDir, cacheDir, recipeDir, network, platformKey, ImageStore.DEFAULT_RECIPE);
  }

  public RuntimeConfig(Path stateDir, Path cacheDir, Path recipeDir, NetworkConfig network) {
    this(stateDir, cacheDir, recipeDir, network, Optional.empty());
  }

  public RuntimeConfig withPlatformKey(String authorizedKey) {
    return new RuntimeConfig(stateDir, cacheDir, recipeDir, network, Optional.of(authorizedKey), imageRecipe);
  }

  public RuntimeConfig withImageRecipe(String recipe) {
    return new RuntimeConfig(stateDir, cacheDir, recipeDir, network, platformKey, recipe);
  }

  /** The built images of {@link #imageRecipe}, and its build. */
  public ImageStore imageStore() {
    return new ImageStore(imagesDir(), recipeDir, imageRecipe);
  }

  public Path vmsDir() {
    return stateDir.resolve("vms");
  }

  /** Named snapshots kept on this worker ({@code snapshots/<id>/}). */
  public Path snapshotsDir() {
    return stateDir.resolve("snapshots");
  }

  public Path imagesDir() {
    return cacheDir.resolve("images");
  }

  public Path goldenDir() {
    return cacheDir.resolve("golden");
  }

  /** Host-side helpers built on this machine (the QEMU preload library for fork write tracking). */
  public Path hostLibDir() {
    return cacheDir.resolve("host");
  }
}
