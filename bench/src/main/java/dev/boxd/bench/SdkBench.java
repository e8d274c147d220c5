package dev.boxd.bench;

import dev.boxd.sdk.Boxd;
import dev.boxd.sdk.CreateOptions;
import java.nio.file.Path;

/**
 * The Java SDK's time from create to the first exec's result, as code driving VMs sees it: a new
 * VM, {@code true} run in it, the result back; then the VM is deleted (outside the timing). Prints
 * one line per round (milliseconds); bench/sdk.sh puts it beside the TypeScript and Python SDKs.
 * Usage: SdkBench API_URL API_KEY CA_PEM ROUNDS
 */
public final class SdkBench {
  private SdkBench() {}

  public static void main(String[] args) {
    int rounds = Integer.parseInt(args[3]);
    try (Boxd boxd = Boxd.builder().apiUrl(args[0]).apiKey(args[1]).caCertificate(Path.of(args[2])).build()) {
      boxd.whoami(); // the token exchange and the connection, outside the timing
      for (int i = 0; i < rounds; i++) {
        long started = System.nanoTime();
        var vm = boxd.machines().create(CreateOptions.named("sdk-java-" + i));
        var result = boxd.machines().exec(vm.id(), "true");
        long millis = (System.nanoTime() - started) / 1_000_000;
        if (result.exitCode() != 0) {
          throw new IllegalStateException("true exited " + result.exitCode());
        }
        System.out.println(millis);
        boxd.machines().delete(vm.id());
      }
    }
  }
}
