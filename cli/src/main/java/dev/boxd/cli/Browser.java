package dev.boxd.cli;

import java.io.IOException;

/** Opens a URL in the user's browser where there is a desktop to show it on; says nothing where there is not. */
final class Browser {
  private Browser() {}

  static void open(String url) {
    if (System.getenv("DISPLAY") == null && System.getenv("WAYLAND_DISPLAY") == null) {
      return;
    }
    try {
      new ProcessBuilder("xdg-open", url).redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    } catch (IOException e) {
      // no xdg-open: the URL is printed already
    }
  }
}
