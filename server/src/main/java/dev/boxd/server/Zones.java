package dev.boxd.server;

import dev.boxd.core.BoxdException;
import dev.boxd.core.Names;

/** The zone flag: DNS labels joined by dots, such as {@code localhost} or {@code boxd.example.com}. */
final class Zones {
  private Zones() {}

  static String require(String flag, String zone) {
    for (String label : zone.split("\\.", -1)) {
      if (!Names.isValid(label)) {
        throw BoxdException.invalid(flag + "=" + zone + ": expected DNS labels of a-z, 0-9 and '-' joined by dots, such as"
            + " boxd.example.com");
      }
    }
    return zone;
  }
}
