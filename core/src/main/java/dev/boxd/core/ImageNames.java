package dev.boxd.core;

import java.util.regex.Pattern;

/**
 * Names of images (SPEC: {@code new --image=NAME}): DNS-label-like, so they fit a file name, a
 * column and a command line. The empty name is the default image, which every worker has.
 */
public final class ImageNames {
  private static final Pattern NAME = Pattern.compile("^[a-z0-9][a-z0-9-]{0,39}$");

  private ImageNames() {}

  public static boolean isValid(String name) {
    return name != null && NAME.matcher(name).matches();
  }

  public static String requireValid(String name) {
    if (!isValid(name)) {
      throw BoxdException.invalid("invalid image name " + Names.quote(name) + ": expected 1-40 characters of a-z, 0-9 and '-', starting with a letter or digit");
    }
    return name;
  }
}
