package dev.boxd.worker.runtime;

import dev.boxd.net.NetworkConfig;
import java.nio.file.Path;

/**
 * @param stateDir this worker's VMs ({@code vms/<id>/})
 * @param cacheDir built images and goldens, shareable between workers of one machine and tests
 * @param recipeDir the {@code guest} directory of the source tree (image recipe and agent)
 */
public record RuntimeConfig(Path stateDir, Path cacheDir, Path recipeDir, NetworkConfig network) {
  public Path vmsDir() {
    return stateDir.resolve("vms");
  }

  public Path imagesDir() {
    return cacheDir.resolve("images");
  }

  public Path goldenDir() {
    return cacheDir.resolve("golden");
  }
}
